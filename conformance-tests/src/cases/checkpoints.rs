//! Typed checkpoints (SPEC §10.2.2): new tables write them, an independent reader written from
//! the spec decodes them, and tables created before them stay readable and can upgrade.

use std::collections::BTreeMap;

use serde_json::Value;
use strata_format::expr::Expr;
use strata_format::typed_checkpoint::{FEATURE, PROP_TYPED_CHECKPOINTS, enabled_in};
use strata_table::{CreateTable, SnapshotSelector, Table, TableOptions};

use super::data::ids_at;
use crate::backends::{BackendKind, CaseResult, TestBackend};
use crate::{check, check_eq};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A reader of `_last_checkpoint`, its checkpoint and the commits after it, written from SPEC
/// §10.2 and §3.10 alone (Python and pyarrow): prints the checkpoint's columns, how many rows
/// were typed adds, and every active file's size, row count, statistics and vector.
const READER: &str = r#"
import json, os, sys
import pyarrow.parquet as pq
root, version = sys.argv[1], int(sys.argv[2])
log = os.path.join(root, "_strata_log")
with open(os.path.join(log, "_last_checkpoint")) as f:
    c = json.load(f)["version"]
table = pq.read_table(os.path.join(log, "%020d.checkpoint.parquet" % c))
files, typed = {}, 0
for row in table.to_pylist():
    if row.get("action") is not None:
        action = json.loads(row["action"])
        if "add" in action:
            files[action["add"]["path"]] = action["add"]
        continue
    add = row["add"]
    assert row["kind"] == "add" and add is not None, row
    typed += 1
    stats = {}
    for e in add["stats"]:
        s = {}
        for key in ("min", "max"):
            if e[key] is not None:
                s[key] = json.loads(e[key])
        for key in ("nullCount", "nanCount"):
            if e[key] is not None:
                s[key] = e[key]
        stats[str(e["fieldId"])] = s
    a = {"path": row["path"], "size": add["size"], "recordCount": add["recordCount"],
         "stats": stats, "partitionValues": json.loads(add["partitionValues"]),
         "tier": add["tier"]}
    if add["deletionVector"] is not None:
        a["deletionVector"] = json.loads(add["deletionVector"])
    files[row["path"]] = a
for v in range(c + 1, version + 1):
    with open(os.path.join(log, "%020d.json" % v)) as f:
        for line in f.read().splitlines()[1:]:
            action = json.loads(line)
            if "remove" in action:
                files.pop(action["remove"]["path"], None)
            elif "add" in action:
                files[action["add"]["path"]] = action["add"]
out = {p: {"size": a["size"], "recordCount": a["recordCount"], "stats": a.get("stats", {}),
           "deletionVector": a.get("deletionVector")} for p, a in files.items()}
print(json.dumps({"columns": table.column_names, "typed": typed, "files": out}))
"#;

/// What [`READER`] reads of the local table `t` at `version`, or `None` without a Python
/// (`STRATA_TEST_PYTHON`, which `scripts/test` always sets) or on another backend.
fn independent_read(b: &TestBackend, t: &Table, version: u64) -> Result<Option<Value>, BoxError> {
    use std::io::Write;
    let Ok(python) = std::env::var("STRATA_TEST_PYTHON") else {
        let _ = writeln!(
            std::io::stderr(),
            "NOTICE: independent checkpoint reader skipped: STRATA_TEST_PYTHON is not set"
        );
        return Ok(None);
    };
    if b.kind() != BackendKind::Local {
        return Ok(None);
    }
    let root = url::Url::parse(t.uri())?
        .to_file_path()
        .map_err(|()| format!("not a file URI: {}", t.uri()))?;
    let out = std::process::Command::new(python)
        .arg("-c")
        .arg(READER)
        .arg(&root)
        .arg(version.to_string())
        .output()?;
    if !out.status.success() {
        return Err(format!(
            "the independent reader failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(Some(serde_json::from_slice(&out.stdout)?))
}

/// Strata's view of what [`READER`] prints under `files`.
async fn files_of(t: &Table) -> Result<Value, BoxError> {
    let mut out = BTreeMap::new();
    for f in t.latest().await?.files().values() {
        out.insert(
            f.path.clone(),
            serde_json::json!({
                "size": f.size,
                "recordCount": f.record_count,
                "stats": serde_json::to_value(&f.stats)?,
                "deletionVector": serde_json::to_value(&f.deletion_vector)?,
            }),
        );
    }
    Ok(serde_json::to_value(out)?)
}

async fn append_ids(t: &Table, ids: std::ops::Range<i64>) -> Result<(), BoxError> {
    use arrow::array::{Int64Array, RecordBatch, StringArray};
    let schema = strata_table::arrow_schema::to_arrow_schema(t.latest().await?.schema())?;
    let v: Vec<Option<String>> = ids.clone().map(|i| Some(format!("v{i}"))).collect();
    let batch = RecordBatch::try_new(
        schema,
        vec![
            std::sync::Arc::new(Int64Array::from(ids.collect::<Vec<_>>())),
            std::sync::Arc::new(StringArray::from(v)),
        ],
    )?;
    t.append([batch]).await?;
    Ok(())
}

/// A new table's checkpoint is typed: its files, statistics and vectors read the same through
/// Strata and through an independent reader of SPEC §10.2.2, with a commit after it replayed.
pub async fn typed_checkpoints_read_by_an_independent_reader(b: &TestBackend) -> CaseResult {
    let schema = strata_format::compact::parse_schema("id:int64,v:string?")?;
    let t = Table::create_with(
        b.location("t")?,
        CreateTable::new(schema),
        TableOptions::default(),
    )
    .await?;
    check!(
        enabled_in(t.latest().await?.protocol()),
        "new tables list {FEATURE}"
    );
    for f in 0..3 {
        append_ids(&t, f * 10..f * 10 + 10).await?;
    }
    t.delete(Expr::parse("id IN (3, 14)")?).await?;
    let at = t.checkpoint().await?;
    append_ids(&t, 30..35).await?;
    let latest = t.latest().await?;
    let reopened = Table::open_with(b.location("t")?, TableOptions::default()).await?;
    check_eq!(reopened.latest().await?.state(), latest.state());
    for v in 0..=latest.version() {
        check_eq!(
            ids_at(&reopened, SnapshotSelector::Version(v)).await?,
            ids_at(&t, SnapshotSelector::Version(v)).await?
        );
    }
    if let Some(read) = independent_read(b, &t, latest.version())? {
        check_eq!(
            read["columns"],
            serde_json::json!(["kind", "path", "action", "add"])
        );
        let typed = t.committed_state(at).await?.files().len();
        check_eq!(read["typed"], serde_json::json!(typed));
        check_eq!(read["files"], files_of(&t).await?);
    }
    Ok(())
}

/// A table created without typed checkpoints keeps three-column ones, reads them, upgrades by
/// property (the protocol gains the feature) and reads every version the same afterwards; the
/// feature cannot be turned off.
pub async fn untyped_tables_stay_readable_and_upgrade(b: &TestBackend) -> CaseResult {
    let schema = strata_format::compact::parse_schema("id:int64,v:string?")?;
    let t = Table::create_with(
        b.location("t")?,
        CreateTable::new(schema).with_typed_checkpoints(false),
        TableOptions::default(),
    )
    .await?;
    check!(
        !enabled_in(t.latest().await?.protocol()),
        "created without {FEATURE}"
    );
    append_ids(&t, 0..10).await?;
    append_ids(&t, 10..20).await?;
    t.checkpoint().await?;
    if let Some(read) = independent_read(b, &t, t.latest().await?.version())? {
        check_eq!(
            read["columns"],
            serde_json::json!(["kind", "path", "action"])
        );
        check_eq!(read["typed"], serde_json::json!(0));
    }
    let before: Vec<Vec<i64>> = {
        let mut all = Vec::new();
        for v in 0..=t.latest().await?.version() {
            all.push(ids_at(&t, SnapshotSelector::Version(v)).await?);
        }
        all
    };
    let set = BTreeMap::from([(PROP_TYPED_CHECKPOINTS.to_string(), "true".to_string())]);
    let upgraded = t.set_properties(&set, &[]).await?;
    check!(
        enabled_in(upgraded.snapshot.protocol()),
        "the upgrade lists {FEATURE}"
    );
    append_ids(&t, 20..30).await?;
    t.checkpoint().await?;
    let reopened = Table::open_with(b.location("t")?, TableOptions::default()).await?;
    for (v, ids) in before.iter().enumerate() {
        check_eq!(
            &ids_at(&reopened, SnapshotSelector::Version(v as u64)).await?,
            ids
        );
    }
    check_eq!(
        ids_at(&reopened, SnapshotSelector::Latest).await?,
        (0..30).collect::<Vec<_>>()
    );
    if let Some(read) = independent_read(b, &t, t.latest().await?.version())? {
        check_eq!(
            read["columns"],
            serde_json::json!(["kind", "path", "action", "add"])
        );
        check_eq!(read["typed"], serde_json::json!(3));
        check_eq!(read["files"], files_of(&t).await?);
    }
    let off = BTreeMap::from([(PROP_TYPED_CHECKPOINTS.to_string(), "false".to_string())]);
    let err = t.set_properties(&off, &[]).await;
    check!(
        err.as_ref()
            .is_err_and(|e| e.to_string().contains("cannot be removed")),
        "turning the feature off is refused: {err:?}"
    );
    Ok(())
}
