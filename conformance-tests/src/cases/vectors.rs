//! Deletion vectors (SPEC §7): deletes that mark rows instead of rewriting files, how readers
//! apply them, and how concurrent deletes of one file commute (§8.2).

use bytes::Bytes;
use object_store::ObjectStoreExt;
use strata_format::expr::Expr;
use strata_format::{Action, AddFile};
use strata_table::{CreateTable, DeleteMode, SnapshotSelector, Table, TableOptions};

use super::data::{ids_at, three_file_table};
use crate::backends::{CaseResult, TestBackend};
use crate::{check, check_eq};

/// The file of `t`'s latest snapshot holding id `id` (files hold ids `10 f .. 10 f + 10`).
async fn file_of(t: &Table, id: i64) -> Result<AddFile, Box<dyn std::error::Error + Send + Sync>> {
    let s = t.latest().await?;
    s.files()
        .values()
        .find(|f| {
            let st = &f.stats[&1];
            let bound = |v: &Option<strata_format::StatValue>| v.as_ref().and_then(|v| v.as_i64());
            bound(&st.min).is_some_and(|m| m <= id) && bound(&st.max).is_some_and(|m| m >= id)
        })
        .cloned()
        .ok_or_else(|| format!("no file holds id {id}").into())
}

/// A delete by vector marks rows of partly matching files, removes wholly matching ones, keeps
/// every data file's bytes; counts, filters, time travel and a second delete (a union) agree.
pub async fn delete_by_vectors_marks_rows_and_keeps_files(b: &TestBackend) -> CaseResult {
    let (t, _) = three_file_table(b).await?;
    let before = t.latest().await?;
    check!(
        before
            .protocol()
            .reader_features
            .iter()
            .any(|f| f == "deletionVectors"),
        "new tables list deletionVectors: {:?}",
        before.protocol()
    );
    let middle = file_of(&t, 12).await?;
    let c = t.delete(Expr::parse("id < 10 OR id IN (12, 13)")?).await?;
    let after = c.snapshot.clone();
    check_eq!(after.files().len(), 2);
    let marked = &after.files()[&middle.path];
    let d = marked
        .deletion_vector
        .clone()
        .ok_or("the middle file has a vector")?;
    check_eq!(d.cardinality, 2);
    check!(d.path.starts_with("_strata_dv/"), "{}", d.path);
    check_eq!(marked.size, middle.size);
    check_eq!(after.record_count(), 18);
    let expected: Vec<i64> = (10..30).filter(|i| *i != 12 && *i != 13).collect();
    check_eq!(ids_at(&t, SnapshotSelector::Latest).await?, expected);
    check_eq!(
        ids_at(&t, SnapshotSelector::Version(before.version())).await?,
        (0..30).collect::<Vec<_>>()
    );
    // A filtered scan of the marked file, and one of no column (a count), skip the rows too.
    let filtered = t
        .scan()
        .filter(Expr::parse("id >= 11 AND id < 16")?)
        .plan()
        .await?
        .collect()
        .await?;
    check_eq!(super::data::ids_of(&filtered)?, vec![11, 14, 15]);
    let counted: usize = t
        .scan()
        .columns(Vec::<String>::new())
        .plan()
        .await?
        .collect()
        .await?
        .iter()
        .map(|b| b.num_rows())
        .sum();
    check_eq!(counted, 18);
    // The commit: one replacement (remove + add of the same path), one remove.
    let h = &t.history(Some(1)).await?[0];
    let m = &h.info.operation_metrics;
    check_eq!(m.get("numDeletedRows"), Some(&12));
    check_eq!(m.get("numDeletionVectors"), Some(&1));
    check_eq!(m.get("numRemovedFiles"), Some(&1));
    check!(
        m.get("numDeletionVectorBytes").is_some_and(|n| *n > 4),
        "{m:?}"
    );

    // A second delete on the same file unions; deleting deleted rows again changes nothing.
    let c2 = t.delete(Expr::parse("id = 15 OR id = 12")?).await?;
    let d2 = c2.snapshot.files()[&middle.path]
        .deletion_vector
        .clone()
        .ok_or("still a vector")?;
    check_eq!(d2.cardinality, 3);
    check!(d2.path != d.path, "each delete writes its own object");
    let h = &t.history(Some(1)).await?[0];
    check_eq!(h.info.operation_metrics.get("numDeletedRows"), Some(&1));
    let again = t.delete(Expr::parse("id = 12")?).await?;
    check_eq!(again.snapshot.files(), c2.snapshot.files());
    check_eq!(
        ids_at(&t, SnapshotSelector::Version(c.version)).await?,
        expected
    );
    // Deleting the rest of the file removes it.
    let rest = t.delete(Expr::parse("id >= 10 AND id < 20")?).await?;
    check!(
        !rest.snapshot.files().contains_key(&middle.path),
        "removed once empty"
    );
    check_eq!(
        ids_at(&t, SnapshotSelector::Latest).await?,
        (20..30).collect::<Vec<_>>()
    );
    // Restores bring back the vector of their version (here one without vector, then one with).
    t.restore(c2.version).await?;
    check_eq!(
        ids_at(&t, SnapshotSelector::Latest).await?,
        (10..30)
            .filter(|i| ![12, 13, 15].contains(i))
            .collect::<Vec<_>>()
    );
    let r = t.restore(before.version()).await?;
    check_eq!(r.snapshot.record_count(), 30);
    check_eq!(
        ids_at(&t, SnapshotSelector::Latest).await?,
        (0..30).collect::<Vec<_>>()
    );
    Ok(())
}

/// Two deletes of different rows of the same file, from the same snapshot, both land (the
/// loser re-plans on the winner, SPEC §8.2); the rows of both are gone.
pub async fn concurrent_deletes_of_one_file_both_land(b: &TestBackend) -> CaseResult {
    let (t, _) = three_file_table(b).await?;
    let other = Table::open(&b.table_uri("t")).await?;
    let (ra, rb) = futures::future::join(
        t.delete(Expr::parse("id IN (11, 21)")?),
        other.delete(Expr::parse("id IN (12, 22)")?),
    )
    .await;
    let (ra, rb) = (ra?, rb?);
    check!(ra.version != rb.version, "two versions");
    let expected: Vec<i64> = (0..30).filter(|i| ![11, 21, 12, 22].contains(i)).collect();
    check_eq!(ids_at(&t, SnapshotSelector::Latest).await?, expected);
    let latest = t.latest().await?;
    check_eq!(latest.record_count(), 26);
    Ok(())
}

/// A rewrite of a file planned before a delete by vector of that file lands as a typed
/// conflict, never bringing the deleted rows back; a move of the file commutes with it.
pub async fn rewrite_racing_a_vector_delete_conflicts(b: &TestBackend) -> CaseResult {
    let (t, _) = three_file_table(b).await?;
    let middle = file_of(&t, 12).await?;
    let stale = t.transaction().await?;
    t.delete(Expr::parse("id = 12")?).await?;
    let err = stale
        .operation("OPTIMIZE")
        .remove_file(&middle.path)?
        .commit()
        .await
        .err()
        .ok_or("the stale rewrite must not commit")?;
    check!(
        err.to_string().contains("were deleted concurrently"),
        "{err}"
    );
    check!(
        !ids_at(&t, SnapshotSelector::Latest).await?.contains(&12),
        "row 12 stays deleted"
    );
    Ok(())
}

/// Tables created with `strata.deletionVectors=false` do not list the feature and delete by
/// rewriting; a vector that does not decode is an error naming the data file and the object.
pub async fn vectors_off_and_corrupt_vectors(b: &TestBackend) -> CaseResult {
    let schema = strata_format::compact::parse_schema("id:int64")?;
    let off = Table::create_with(
        b.location("off")?,
        CreateTable::new(schema.clone()).with_property("strata.deletionVectors", "false"),
        TableOptions::default(),
    )
    .await?;
    check!(
        !strata_format::dv::enabled_in(off.latest().await?.protocol()),
        "no deletionVectors feature: {:?}",
        off.latest().await?.protocol()
    );
    let batch = arrow::array::RecordBatch::try_new(
        strata_table::arrow_schema::to_arrow_schema(&schema)?,
        vec![std::sync::Arc::new(
            arrow::array::Int64Array::from_iter_values(0..10),
        )],
    )?;
    off.append([batch]).await?;
    let c = off.delete(Expr::parse("id = 3")?).await?;
    check!(
        c.snapshot
            .files()
            .values()
            .all(|f| f.deletion_vector.is_none()),
        "rewritten, not marked"
    );

    let (t, _) = three_file_table(b).await?;
    let c = t
        .delete_with(Expr::parse("id = 12")?, DeleteMode::Auto)
        .await?;
    let marked = c
        .snapshot
        .files()
        .values()
        .find_map(|f| f.deletion_vector.clone())
        .ok_or("a vector")?;
    let (store, root) = b.raw("t")?;
    let key = object_store::path::Path::from(format!("{root}/{}", marked.path));
    let mut bytes = store.get(&key).await?.bytes().await?.to_vec();
    // Claim more buckets than the bitmap holds.
    let at = usize::try_from(marked.offset)?;
    bytes[at] = 0x7f;
    store.put(&key, Bytes::from(bytes).into()).await?;
    let reopened = Table::open(&b.table_uri("t")).await?;
    let err = reopened
        .scan()
        .plan()
        .await?
        .collect()
        .await
        .err()
        .ok_or("a corrupt vector must fail the scan")?;
    let text = err.to_string();
    check!(text.contains(&marked.path), "names the object: {text}");
    check!(
        text.contains("deletion vector of `data/"),
        "names the data file: {text}"
    );
    // The commit file that wrote it holds the replacement (remove then add of one path).
    let commits = reopened
        .commit_log()
        .read_range(c.version, c.version)
        .await?;
    let commit = commits.first().ok_or("the commit")?;
    let paths: Vec<(bool, &str)> = commit
        .actions
        .iter()
        .filter_map(|a| match a {
            Action::Remove(r) => Some((false, r.path.as_str())),
            Action::Add(a) => Some((true, a.path.as_str())),
            _ => None,
        })
        .collect();
    check_eq!(paths.len(), 2);
    check!(
        !paths[0].0 && paths[1].0 && paths[0].1 == paths[1].1,
        "{paths:?}"
    );
    Ok(())
}

/// An independent reader written from SPEC §3.10 and §7 alone (Python: the commit files, pyarrow
/// for the data files, `scripts/roaring_decode.py` for the vectors) reads the same rows as
/// Strata at every version of a table with deletion vectors. Needs `STRATA_TEST_PYTHON` (a
/// Python with pyarrow; `scripts/test` provides it) and a local table.
pub async fn independent_reader_applies_vectors(b: &TestBackend) -> CaseResult {
    use std::io::Write;
    let Ok(python) = std::env::var("STRATA_TEST_PYTHON") else {
        let _ = writeln!(
            std::io::stderr(),
            "NOTICE: independent vector reader skipped: STRATA_TEST_PYTHON is not set"
        );
        return Ok(());
    };
    if b.kind() != crate::backends::BackendKind::Local {
        return Ok(());
    }
    let (t, _) = three_file_table(b).await?;
    t.delete(Expr::parse("id IN (1, 12, 13, 25)")?).await?;
    t.delete(Expr::parse("id = 14 OR id >= 28")?).await?;
    t.delete(Expr::parse("id < 10")?).await?;
    let latest = t.latest().await?.version();
    let root = url::Url::parse(t.uri())?
        .to_file_path()
        .map_err(|()| format!("not a file URI: {}", t.uri()))?;
    let decoder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts");
    let script = r#"
import json, os, sys
import pyarrow.parquet as pq
sys.path.insert(0, sys.argv[2])
from roaring_decode import decode
root, version = sys.argv[1], int(sys.argv[3])
files = {}
for v in range(version + 1):
    with open(os.path.join(root, "_strata_log", "%020d.json" % v)) as f:
        for line in f.read().splitlines()[1:]:
            action = json.loads(line)
            if "remove" in action:
                del files[action["remove"]["path"]]
            elif "add" in action:
                files[action["add"]["path"]] = action["add"]
ids = []
for path, add in files.items():
    table = pq.read_table(os.path.join(root, path))
    deleted = set()
    dv = add.get("deletionVector")
    if dv:
        with open(os.path.join(root, dv["path"]), "rb") as f:
            f.seek(dv["offset"])
            deleted = set(decode(f.read(dv["sizeInBytes"])))
        assert len(deleted) == dv["cardinality"], (path, len(deleted), dv)
    column = table.column("id").to_pylist()
    ids += [x for i, x in enumerate(column) if i not in deleted]
print(json.dumps(sorted(ids)))
"#;
    for v in 3..=latest {
        let out = std::process::Command::new(&python)
            .arg("-c")
            .arg(script)
            .arg(&root)
            .arg(&decoder)
            .arg(v.to_string())
            .output()?;
        check!(
            out.status.success(),
            "the independent reader failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let seen: Vec<i64> = serde_json::from_slice(&out.stdout)?;
        check_eq!(seen, ids_at(&t, SnapshotSelector::Version(v)).await?);
    }
    Ok(())
}
