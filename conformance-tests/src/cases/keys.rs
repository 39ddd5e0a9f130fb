//! Object keys of logical paths (SPEC §2.3, §6.2): a partition value that needs escaping gives
//! one key on every store, the logical path verbatim, in the table root and in every tier,
//! across tier moves in both directions; locations are URI text that decodes to that key; and
//! files stored under the keys of earlier versions still read and move.

use std::collections::BTreeSet;
use std::sync::Arc;

use arrow::array::{Int64Array, RecordBatch, StringArray};
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use strata_format::TierDef;
use strata_format::compact::{parse_partition_spec, parse_schema};
use strata_format::location::location_uri;
use strata_table::arrow_schema::to_arrow_schema;
use strata_table::{CreateTable, MoveOptions, Table, TableLocation, TableOptions};

use crate::backends::{CaseResult, TestBackend};
use crate::{check, check_eq};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Partition values whose directory names need escaping: space, `/`, `%`, `=`, `#`, `?`,
/// non-ASCII, the empty string (and a plain one).
const VALUES: [&str; 9] = [
    "eu west", "us/east", "100%", "a=b", "x#y", "what?", "zürich", "", "plain",
];

/// An absolute URI for `name` beside the backend's tables.
fn uri_beside(b: &TestBackend, name: &str) -> String {
    let uri = b.table_uri(name);
    if uri.starts_with('/') {
        format!("file://{uri}")
    } else {
        uri
    }
}

/// A table partitioned by `region` with tiers hot (the root), cold (beside it) and archive
/// (another bucket, store or file system), and one append of a row per value of `VALUES`.
async fn table(b: &TestBackend, name: &str) -> Result<(Table, String, String), BoxError> {
    let schema = parse_schema("id:int64,region:string")?;
    let spec = parse_partition_spec("region", &schema, 0, 1000)?;
    let t = Table::create_with(
        b.location(name)?,
        CreateTable::new(schema.clone()).with_partition_spec(spec),
        TableOptions::default(),
    )
    .await?;
    let cold = uri_beside(b, &format!("{name}-cold"));
    let archive = b.other_namespace_uri(&format!("{name}-archive"));
    t.set_tiers(
        vec![
            TierDef {
                name: "hot".into(),
                location: None,
                storage_class: None,
            },
            TierDef {
                name: "cold".into(),
                location: Some(cold.clone()),
                storage_class: None,
            },
            TierDef {
                name: "archive".into(),
                location: Some(archive.clone()),
                storage_class: None,
            },
        ],
        Some("hot".into()),
    )
    .await?;
    let batch = RecordBatch::try_new(
        to_arrow_schema(&schema)?,
        vec![
            Arc::new(Int64Array::from_iter_values(0..VALUES.len() as i64)),
            Arc::new(StringArray::from(VALUES.to_vec())),
        ],
    )?;
    t.append([batch]).await?;
    Ok((t, cold, archive))
}

/// Every row of `version`, sorted.
async fn rows(t: &Table, version: u64) -> Result<String, BoxError> {
    Ok(super::sorted_rows(t, version).await?.join("\n"))
}

/// The keys under `<prefix>/data` in `store`, relative to `prefix`.
async fn data_keys(
    store: &Arc<dyn ObjectStore>,
    prefix: &Path,
) -> Result<BTreeSet<String>, BoxError> {
    let data = Path::parse(format!("{prefix}/data"))?;
    let listed: Vec<_> = store.list(Some(&data)).try_collect().await?;
    let strip = format!("{prefix}/");
    Ok(listed
        .into_iter()
        .filter_map(|m| m.location.as_ref().strip_prefix(&strip).map(str::to_string))
        .collect())
}

/// The store and key prefix of a tier location.
fn tier_root(uri: &str) -> Result<(Arc<dyn ObjectStore>, Path), BoxError> {
    let loc = TableLocation::parse(uri)?;
    Ok((loc.store().clone(), loc.root().clone()))
}

/// Files land under their logical path verbatim (a `%` in a path is a `%` in the key) in the
/// root and in two tiers; their locations are URI text for those keys; every move, there and
/// back, keeps every version's rows.
pub async fn partition_values_that_need_escaping_keep_one_key(b: &TestBackend) -> CaseResult {
    let (t, cold, archive) = table(b, "keys").await?;
    let first = t.latest().await?;
    let expected = rows(&t, first.version()).await?;
    check_eq!(expected.lines().count(), VALUES.len() + 1); // and the header
    let paths: BTreeSet<String> = first.files().keys().cloned().collect();
    check_eq!(paths.len(), VALUES.len());
    check!(
        paths.iter().any(|p| p.contains("%2F")) && paths.iter().any(|p| p.contains("%25")),
        "escaped partition directories expected: {paths:?}"
    );
    let (store, root) = b.raw("keys")?;
    check_eq!(data_keys(&store, &root).await?, paths);

    let list: Vec<String> = paths.iter().cloned().collect();
    for (tier, uri) in [("cold", &cold), ("archive", &archive), ("hot", &cold)] {
        t.move_files(&list, tier, &MoveOptions::immediate()).await?;
        let now = t.latest().await?;
        for p in &paths {
            let file = &now.files()[p];
            check_eq!(file.tier.as_str(), tier);
            let want = (tier != "hot").then(|| location_uri(uri, p));
            check_eq!(file.location, want);
        }
        if tier == "hot" {
            check_eq!(data_keys(&store, &root).await?, paths);
        } else {
            let (tier_store, tier_prefix) = tier_root(uri)?;
            check_eq!(data_keys(&tier_store, &tier_prefix).await?, paths);
            check!(
                data_keys(&store, &root).await?.is_empty(),
                "{tier}: the old copies in the root are deleted after the move"
            );
        }
        check_eq!(rows(&t, now.version()).await?, expected);
        check_eq!(rows(&t, first.version()).await?, expected);
    }
    Ok(())
}

/// The key earlier versions of Strata gave a logical path: every segment percent-encoded by
/// `object_store` (a `%` became `%25`).
fn legacy_key(root: &Path, path: &str) -> Path {
    let mut p = root.clone();
    for part in path.split('/') {
        p = p.join(part);
    }
    p
}

/// A table whose files sit under the keys earlier versions wrote (`%25` for every `%`) reads
/// every row, and a tier move copies them from there and deletes them afterwards.
pub async fn files_under_keys_of_earlier_versions_still_read(b: &TestBackend) -> CaseResult {
    let (t, cold, _) = table(b, "legacy").await?;
    let first = t.latest().await?;
    let expected = rows(&t, first.version()).await?;
    let (store, root) = b.raw("legacy")?;
    let mut moved = 0;
    for p in first.files().keys() {
        let old = legacy_key(&root, p);
        let new = t.location().child(p);
        if old == new {
            continue;
        }
        store.copy(&new, &old).await?;
        store.delete(&new).await?;
        moved += 1;
    }
    check!(moved >= 3, "only {moved} paths differ under the old keys");
    let reopened = Table::open_with(b.location("legacy")?, TableOptions::default()).await?;
    check_eq!(rows(&reopened, first.version()).await?, expected);
    // A vacuum knows those keys: they are the files' own, not orphans.
    let later = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as i64
        + 1000;
    let vacuumed = reopened
        .vacuum(strata_table::VacuumOptions::retain_ms(0).now_ms(later))
        .await?;
    check!(vacuumed.deleted.is_empty(), "{vacuumed:?}");
    check_eq!(rows(&reopened, first.version()).await?, expected);
    let list: Vec<String> = first.files().keys().cloned().collect();
    reopened
        .move_files(&list, "cold", &MoveOptions::immediate())
        .await?;
    let now = reopened.latest().await?;
    check_eq!(rows(&reopened, now.version()).await?, expected);
    let (tier_store, tier_prefix) = tier_root(&cold)?;
    check_eq!(
        data_keys(&tier_store, &tier_prefix).await?,
        first.files().keys().cloned().collect::<BTreeSet<_>>()
    );
    check!(
        data_keys(&store, &root).await?.is_empty(),
        "the old keys are deleted after the move"
    );
    Ok(())
}
