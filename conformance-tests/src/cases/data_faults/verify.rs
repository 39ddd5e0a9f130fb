//! The checks of the data fault sequences: the rows of every version against the model
//! replayed from the log, and the end state of tier moves.

use std::collections::BTreeMap;

use strata_table::{Table, TableLocation, TableOptions};

use super::{DataLog, Effect, Row, marker, rows_at};
use crate::{check, check_eq};

/// The data invariant: the table opens; versions are contiguous and transaction ids unique
/// (versions before the oldest kept as earlier checks saw them, and refused when read);
/// every acknowledged commit is at its version; every attempted row change is in the log at
/// most once; and the rows of each version (every version when `all`, else the latest) are
/// exactly those of the model replayed from the log: an acknowledged overwrite or delete
/// changed them, an unacknowledged one either fully (its commit landed) or not at all. Reads
/// that succeeded under faults returned the model's rows of their version.
pub(super) async fn verify_rows(
    loc: &TableLocation,
    log: &DataLog,
    all: bool,
) -> Result<u64, Box<dyn std::error::Error + Send + Sync>> {
    let t = Table::open_with(loc.clone(), TableOptions::default()).await?;
    let latest = t.latest().await?.version();
    let fetched = t.history(None).await?;
    let oldest = fetched.iter().map(|h| h.version).min().unwrap_or(0);
    // Versions an expiry removed from the log are taken from what earlier checks saw; a
    // version that is still there must not have changed.
    let mut history = {
        let mut seen = log.history.lock().unwrap_or_else(|e| e.into_inner());
        for h in &fetched {
            if let Some(before) = seen.get(&h.version) {
                check!(
                    before.info.txn_id == h.info.txn_id,
                    "version {} changed: transaction {} became {}",
                    h.version,
                    before.info.txn_id,
                    h.info.txn_id
                );
            }
            seen.insert(h.version, h.clone());
        }
        (0..oldest)
            .map(|v| {
                seen.get(&v)
                    .cloned()
                    .ok_or_else(|| format!("version {v} expired before a check saw it"))
            })
            .collect::<Result<Vec<_>, _>>()?
    };
    history.extend(fetched);
    history.sort_by_key(|h| h.version);
    check_eq!(history.len() as u64, latest + 1);
    let mut by_txn = BTreeMap::new();
    for (i, h) in history.iter().enumerate() {
        check_eq!(h.version, i as u64);
        if by_txn.insert(h.info.txn_id.clone(), h.version).is_some() {
            return Err(format!("transaction {} committed twice", h.info.txn_id).into());
        }
    }
    for (v, txn) in &log.acked {
        check_eq!(by_txn.get(txn), Some(v));
    }
    for v in &log.acked_moves {
        let op = history
            .get(usize::try_from(*v)?)
            .map(|h| h.info.operation.as_str());
        check_eq!(op, Some("TIER MOVE"));
    }
    // Replay the model over the log.
    let mut model: Vec<Vec<Row>> = vec![Vec::new()];
    let mut seen = BTreeMap::new();
    // Rows added by each blind append, by version.
    let mut blind_added: BTreeMap<u64, Vec<Row>> = BTreeMap::new();
    for h in history.iter().skip(1) {
        let params = &h.info.operation_parameters;
        let prev = model.last().cloned().unwrap_or_default();
        let attempt = match h.info.operation.as_str() {
            "APPEND" | "OVERWRITE" | "MERGE" if params.contains_key("attempt") => {
                params.get("attempt").and_then(serde_json::Value::as_u64)
            }
            "DELETE" | "OVERWRITE" | "UPDATE" => {
                let predicate = params
                    .get("predicate")
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or_default();
                let found = log
                    .effects
                    .keys()
                    .copied()
                    .find(|k| predicate.contains(&marker(*k)));
                if found.is_none() {
                    return Err(format!(
                        "version {}: {} of no attempt ({predicate})",
                        h.version, h.info.operation
                    )
                    .into());
                }
                found
            }
            _ => None,
        };
        // An operation that read the whole table (whole overwrite, restore) and committed over
        // concurrent commits (after its read version) may only have passed blind appends
        // (WriteSerializable: they serialize after it, so their rows survive it); a commit that
        // added files otherwise would have had to conflict.
        let whole = matches!(
            (
                h.info.operation.as_str(),
                attempt.and_then(|k| log.effects.get(&k))
            ),
            ("RESTORE", _) | (_, Some(Effect::Overwrite(_)))
        );
        let mut survivors: Vec<Row> = Vec::new();
        if whole && let Some(read) = h.info.read_version {
            for between in history
                .iter()
                .filter(|x| x.version > read && x.version < h.version)
            {
                check!(
                    between.files_added == 0 || between.info.is_blind_append,
                    "version {} ({}) read version {read} and committed over version {} ({}), \
                     which added files and is not a blind append",
                    h.version,
                    h.info.operation,
                    between.version,
                    between.info.operation
                );
                survivors.extend(
                    blind_added
                        .get(&between.version)
                        .cloned()
                        .unwrap_or_default(),
                );
            }
        }
        let mut rows = if let Some(k) = attempt {
            if let Some(first) = seen.insert(k, h.version) {
                return Err(format!(
                    "attempt {k} committed twice: versions {first} and {}",
                    h.version
                )
                .into());
            }
            let effect = log
                .effects
                .get(&k)
                .ok_or_else(|| format!("version {}: unknown attempt {k}", h.version))?;
            if h.info.is_blind_append
                && let Effect::Append(added) = effect
            {
                blind_added.insert(h.version, added.clone());
            }
            effect.apply(&prev)
        } else {
            match h.info.operation.as_str() {
                "RESTORE" => {
                    let target = params
                        .get("version")
                        .and_then(serde_json::Value::as_u64)
                        .ok_or("a restore without its version")?;
                    model
                        .get(usize::try_from(target)?)
                        .cloned()
                        .ok_or_else(|| format!("restore of a future version {target}"))?
                }
                "CHANGE SCHEMA" | "SET TIERS" | "TIER MOVE" | "TAG" | "UNTAG" | "OPTIMIZE"
                | "EXPIRE" => prev,
                other => {
                    return Err(
                        format!("version {}: unexpected operation {other}", h.version).into(),
                    );
                }
            }
        };
        rows.extend(survivors);
        rows.sort();
        model.push(rows);
    }
    let versions: Vec<u64> = if all {
        (0..=latest).collect()
    } else {
        vec![latest]
    };
    for v in versions {
        if v < oldest {
            let err = rows_at(&t, Some(v)).await.err();
            check!(
                matches!(err, Some(strata_table::Error::VersionExpired { .. })),
                "version {v} is before the oldest kept ({oldest}) and must fail: {err:?}"
            );
            continue;
        }
        let (_, got) = rows_at(&t, Some(v)).await?;
        let want = &model[usize::try_from(v)?];
        check!(
            got == *want,
            "rows at version {v} (of {latest}): got {got:?}, the model says {want:?}"
        );
    }
    for (v, got) in &log.reads {
        let want = model
            .get(usize::try_from(*v)?)
            .ok_or_else(|| format!("a read saw version {v}, beyond the log"))?;
        check!(
            got == want,
            "a read under faults at version {v}: got {got:?}, the model says {want:?}"
        );
    }
    // Commits that landed although their writer saw a failure (the ambiguous case).
    let acked: std::collections::BTreeSet<u64> = log
        .acked
        .iter()
        .map(|(v, _)| *v)
        .chain(log.acked_moves.iter().copied())
        .collect();
    Ok(history
        .iter()
        .skip(2)
        .filter(|h| !acked.contains(&h.version))
        .count() as u64)
}

/// After the sequence, with faults off: a cleanup finishes every interrupted move (no journal
/// record left), no version loses a row to it, and every object left in the `cold` and `warm`
/// tiers is the current location of a file of the table (no copy leaked, including copies
/// whose deletion by an abandoned move failed: their journal record keeps them for the
/// cleanup). Returns the number of commits that landed although their writer saw an error.
pub(super) async fn verify_moves_finish(
    loc: &TableLocation,
    warm: &TableLocation,
    log: &DataLog,
) -> Result<u64, Box<dyn std::error::Error + Send + Sync>> {
    use futures::TryStreamExt;
    let t = Table::open_with(loc.clone(), TableOptions::default()).await?;
    t.tier_cleanup(&strata_table::MoveOptions::immediate())
        .await?;
    check_eq!(t.pending_moves().await?, 0);
    let unacked = verify_rows(loc, log, true).await?;
    // Re-running the last failed move finishes it: its files still in the table end up in its
    // tier, and no version's rows change.
    if let Some((paths, tier)) = &log.failed_move {
        let active: Vec<String> = {
            let s = t.latest().await?;
            paths
                .iter()
                .filter(|p| s.files().contains_key(p))
                .cloned()
                .collect()
        };
        t.move_files(&active, tier, &strata_table::MoveOptions::immediate())
            .await?;
        let s = t.latest().await?;
        for p in &active {
            check_eq!(s.files().get(p).map(|f| f.tier.as_str()), Some(*tier));
        }
        check_eq!(t.pending_moves().await?, 0);
        verify_rows(loc, log, true).await?;
    }
    let latest = t.latest().await?;
    let state = latest.state();
    let root = loc.uri().to_string();
    let current = |path: &str| -> Option<String> {
        state
            .file_location(path)
            .map(|l| l.location.unwrap_or_else(|| format!("{root}/{path}")))
    };
    let cold_root = loc.child("cold");
    let cold_prefix = format!("{}/", cold_root.as_ref());
    let listed: Vec<object_store::ObjectMeta> =
        loc.store().list(Some(&cold_root)).try_collect().await?;
    for m in listed {
        let path = m
            .location
            .as_ref()
            .strip_prefix(&cold_prefix)
            .unwrap_or_default()
            .to_string();
        let uri = format!("{root}/cold/{path}");
        if current(&path).as_deref() == Some(uri.as_str()) {
            continue;
        }
        return Err(format!(
            "leaked copy in the cold tier: {uri} (the file is at {:?})",
            current(&path)
        )
        .into());
    }
    let warm_prefix = format!("{}/", warm.root().as_ref());
    let listed: Vec<object_store::ObjectMeta> =
        warm.store().list(Some(warm.root())).try_collect().await?;
    for m in listed {
        let path = m
            .location
            .as_ref()
            .strip_prefix(&warm_prefix)
            .unwrap_or_default()
            .to_string();
        let uri = format!("{}/{path}", warm.uri());
        check!(
            current(&path).as_deref() == Some(uri.as_str()),
            "leaked copy in the warm tier: {uri} (the file is at {:?})",
            current(&path)
        );
    }
    Ok(unacked)
}
