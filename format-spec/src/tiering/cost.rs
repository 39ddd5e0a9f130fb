//! What storage costs per tier (informative: list prices, not part of the format), including
//! what object stores bill small objects, and what packing small files before a move saves.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{PlannedMove, tier_names};
use crate::actions::Metadata;
use crate::state::TableState;

/// S3 Standard-IA, One Zone-IA and Glacier Instant Retrieval bill every object as at least
/// 128 KiB.
pub const MIN_BILLED_OBJECT_BYTES: u64 = 128 * 1024;

/// S3 Glacier Flexible Retrieval and Deep Archive bill 40 KiB of index and metadata per object
/// on top of its bytes (32 KiB at the class's price, 8 KiB at Standard's).
pub const ARCHIVE_OBJECT_OVERHEAD: (u64, u64) = (32 * 1024, 8 * 1024);

/// Monthly storage prices in USD per GB (10^9 bytes), by storage class. The default is AWS S3's
/// us-east-1 list prices; a tier without a storage class is priced as `STANDARD`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriceTable(pub BTreeMap<String, f64>);

impl Default for PriceTable {
    fn default() -> Self {
        let prices = [
            ("STANDARD", 0.023),
            ("INTELLIGENT_TIERING", 0.023),
            ("STANDARD_IA", 0.0125),
            ("ONEZONE_IA", 0.01),
            ("GLACIER_IR", 0.004),
            ("GLACIER", 0.0036),
            ("DEEP_ARCHIVE", 0.00099),
        ];
        Self(prices.iter().map(|(k, v)| (k.to_string(), *v)).collect())
    }
}

impl PriceTable {
    /// USD per GB-month of a storage class (`None`: `STANDARD`); unknown classes cost as
    /// `STANDARD`.
    pub fn per_gb_month(&self, class: Option<&str>) -> f64 {
        let standard = self.0.get("STANDARD").copied().unwrap_or(0.023);
        class
            .and_then(|c| self.0.get(c).copied())
            .unwrap_or(standard)
    }

    /// USD per month of one object of `size` bytes in `class`, as the store bills it.
    pub fn object_cost(&self, class: Option<&str>, size: u64) -> f64 {
        let gb = |b: u64| b as f64 / 1e9;
        let (at_class, at_standard) = billed_bytes(class, size);
        gb(at_class) * self.per_gb_month(class) + gb(at_standard) * self.per_gb_month(None)
    }
}

/// The bytes an object of `size` bytes in `class` is billed for: at the class's price, and at
/// Standard's (the archive classes' per-object metadata).
pub fn billed_bytes(class: Option<&str>, size: u64) -> (u64, u64) {
    match class {
        Some("STANDARD_IA" | "ONEZONE_IA" | "GLACIER_IR") => (size.max(MIN_BILLED_OBJECT_BYTES), 0),
        Some("GLACIER" | "DEEP_ARCHIVE") => (
            size.saturating_add(ARCHIVE_OBJECT_OVERHEAD.0),
            ARCHIVE_OBJECT_OVERHEAD.1,
        ),
        _ => (size, 0),
    }
}

/// Objects, bytes and monthly cost of one tier.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct TierUsage {
    /// Tier name.
    pub tier: String,
    /// Storage class of the tier, if any.
    pub storage_class: Option<String>,
    /// Active files (objects).
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
    /// The bytes the store bills: small objects count as 128 KiB in the infrequent-access
    /// classes, archive classes add 40 KiB per object.
    pub billed_bytes: u64,
    /// USD per month.
    pub monthly_cost: f64,
}

fn tier_class<'a>(metadata: &'a Metadata, tier: &str) -> Option<&'a str> {
    metadata
        .tiers
        .iter()
        .find(|t| t.name == tier)
        .and_then(|t| t.storage_class.as_deref())
}

/// The objects a set of moved files becomes in their target tier: files of one policy with a
/// `packTargetBytes` T and one partition that are below ¾ T are packed, when there are at
/// least two, into ⌈bytes / T⌉ objects of equal size (an estimate of what the compaction
/// writes); every other file stays one object.
fn objects_after(moves: &[&PlannedMove]) -> Vec<u64> {
    let mut out = Vec::new();
    let mut groups: BTreeMap<(&str, &str), (u64, Vec<u64>)> = BTreeMap::new();
    for m in moves {
        match m.pack_target {
            Some(t) if m.size.saturating_mul(4) < t.saturating_mul(3) => {
                let g = groups
                    .entry((m.policy.as_str(), m.partition.as_str()))
                    .or_insert((t, Vec::new()));
                g.1.push(m.size);
            }
            _ => out.push(m.size),
        }
    }
    for (_, (target, sizes)) in groups {
        if sizes.len() < 2 {
            out.extend(sizes);
            continue;
        }
        let bytes: u64 = sizes.iter().sum();
        let n = bytes.div_ceil(target.max(1)).max(1);
        for i in 0..n {
            // Spread the bytes over the n objects.
            out.push(bytes / n + u64::from(i < bytes % n));
        }
    }
    out
}

/// Usage per tier of the active files of `state`, in tier order (tiers without files
/// included), after applying `moves` (empty: as it is now; moved files a policy packs count
/// as the packed objects, see `packTargetBytes`).
pub fn usage(state: &TableState, moves: &[PlannedMove], prices: &PriceTable) -> Vec<TierUsage> {
    let metadata = state.metadata();
    let moved: BTreeMap<&str, &PlannedMove> = moves.iter().map(|m| (m.path.as_str(), m)).collect();
    let mut objects: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut arriving: BTreeMap<&str, Vec<&PlannedMove>> = BTreeMap::new();
    let mut order: Vec<String> = tier_names(metadata).iter().map(|s| s.to_string()).collect();
    for (path, f) in state.files() {
        match moved.get(path.as_str()) {
            Some(m) => arriving.entry(m.to_tier.as_str()).or_default().push(m),
            None => objects.entry(f.tier.clone()).or_default().push(f.size),
        }
    }
    for (tier, ms) in arriving {
        objects
            .entry(tier.to_string())
            .or_default()
            .extend(objects_after(&ms));
    }
    for tier in objects.keys() {
        if !order.contains(tier) {
            order.push(tier.clone());
        }
    }
    order
        .into_iter()
        .map(|tier| {
            let sizes = objects.remove(&tier).unwrap_or_default();
            let class = tier_class(metadata, &tier).map(str::to_string);
            let c = class.as_deref();
            TierUsage {
                files: sizes.len() as u64,
                bytes: sizes.iter().sum(),
                billed_bytes: sizes
                    .iter()
                    .map(|s| {
                        let (a, b) = billed_bytes(c, *s);
                        a + b
                    })
                    .sum(),
                monthly_cost: sizes
                    .iter()
                    .fold(0.0, |sum, s| sum + prices.object_cost(c, *s)),
                storage_class: class,
                tier,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn planned(path: &str, size: u64, pack: Option<u64>, partition: &str) -> PlannedMove {
        PlannedMove {
            path: path.into(),
            size,
            from_tier: "hot".into(),
            to_tier: "cold".into(),
            policy: "p".into(),
            pack_target: pack,
            partition: partition.into(),
        }
    }

    #[test]
    fn small_objects_are_billed_as_the_store_bills_them() {
        assert_eq!(billed_bytes(Some("STANDARD_IA"), 1000), (131_072, 0));
        assert_eq!(billed_bytes(Some("GLACIER_IR"), 200_000), (200_000, 0));
        assert_eq!(billed_bytes(Some("GLACIER"), 1000), (1000 + 32_768, 8192));
        assert_eq!(billed_bytes(None, 1000), (1000, 0));
        let prices = PriceTable::default();
        let ia = prices.object_cost(Some("STANDARD_IA"), 1000);
        assert!((ia - 131_072.0 / 1e9 * 0.0125).abs() < 1e-15, "{ia}");
    }

    #[test]
    fn packed_moves_become_fewer_objects_per_policy_and_partition() {
        let moves = [
            planned("a", 10_000, Some(100_000), "0:{}"),
            planned("b", 20_000, Some(100_000), "0:{}"),
            planned("c", 90_000, Some(100_000), "0:{}"), // not small: moved as it is
            planned("d", 5_000, Some(100_000), "1:{}"),  // alone in its partition
            planned("e", 5_000, None, "0:{}"),           // its policy does not pack
        ];
        let refs: Vec<&PlannedMove> = moves.iter().collect();
        let mut objects = objects_after(&refs);
        objects.sort_unstable();
        assert_eq!(objects, vec![5_000, 5_000, 30_000, 90_000]);
        let many: Vec<PlannedMove> = (0..30)
            .map(|i| planned(&format!("f{i}"), 10_000, Some(100_000), "0:{}"))
            .collect();
        let refs: Vec<&PlannedMove> = many.iter().collect();
        assert_eq!(objects_after(&refs), vec![100_000, 100_000, 100_000]);
    }
}
