//! Property test of row-level changes: random sequences of appends, deletes (by vector and by
//! rewrite), updates, merges, compactions, conditional and full overwrites and switches of deletion vectors
//! on and off, on a partitioned table with nullable keys, each checked against an in-memory
//! model at every version the sequence made (time travel included).

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{Array, BooleanArray, Int32Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::SchemaRef;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use strata_format::expr::Expr;
use strata_table::{
    CreateTable, DeleteMode, Error, Merge, OptimizeOptions, RowRewrite, SnapshotSelector, Table,
    TableOptions, WhenMatched, WhenNotMatched, WhenNotMatchedBySource, WriteOptions,
};

use crate::backends::{BackendKind, CaseResult, TestBackend};

/// `(id, grp, v)`; `grp` is the partition column.
type Row = (Option<i64>, i32, Option<String>);

struct Sequence {
    rng: StdRng,
    next_id: i64,
    rows: Vec<Row>,
    target: SchemaRef,
    /// The model's rows at each version the sequence reached.
    versions: BTreeMap<u64, Vec<Row>>,
    ops: Vec<String>,
}

fn to_batch(target: &SchemaRef, rows: &[Row]) -> Result<RecordBatch, Error> {
    let ids: Int64Array = rows.iter().map(|r| r.0).collect();
    let grps: Int32Array = rows.iter().map(|r| Some(r.1)).collect();
    let vs: StringArray = rows.iter().map(|r| r.2.as_deref()).collect();
    RecordBatch::try_new(
        target.clone(),
        vec![Arc::new(ids), Arc::new(grps), Arc::new(vs)],
    )
    .map_err(|e| Error::InvalidOperation {
        table: String::new(),
        message: e.to_string(),
    })
}

async fn read(t: &Table, version: u64) -> Result<Vec<Row>, Error> {
    let batches = t
        .scan()
        .snapshot(SnapshotSelector::Version(version))
        .plan()
        .await?
        .collect()
        .await?;
    let bad = |m: &str| Error::InvalidOperation {
        table: t.uri().to_string(),
        message: m.to_string(),
    };
    let mut out = Vec::new();
    for b in &batches {
        let ids = b.column(0).as_any().downcast_ref::<Int64Array>();
        let grps = b.column(1).as_any().downcast_ref::<Int32Array>();
        let v = arrow::compute::cast(b.column(2), &arrow::datatypes::DataType::Utf8)
            .map_err(|e| bad(&e.to_string()))?;
        let vs = v.as_any().downcast_ref::<StringArray>();
        let (Some(ids), Some(grps), Some(vs)) = (ids, grps, vs) else {
            return Err(bad("unexpected column types"));
        };
        for i in 0..b.num_rows() {
            out.push((
                (!ids.is_null(i)).then(|| ids.value(i)),
                grps.value(i),
                (!vs.is_null(i)).then(|| vs.value(i).to_string()),
            ));
        }
    }
    out.sort();
    Ok(out)
}

fn in_range(id: Option<i64>, lo: i64, hi: i64) -> bool {
    id.is_some_and(|i| lo <= i && i < hi)
}

impl Sequence {
    fn new_rows(&mut self, n: usize, tag: &str) -> Vec<Row> {
        (0..n)
            .map(|_| {
                let id = if self.rng.random_bool(0.1) {
                    None
                } else {
                    self.next_id += 1;
                    Some(self.next_id)
                };
                (id, self.rng.random_range(0..3), Some(tag.to_string()))
            })
            .collect()
    }

    fn id_range(&mut self) -> (i64, i64) {
        let lo = self.rng.random_range(0..=self.next_id.max(1));
        (lo, lo + self.rng.random_range(1..=4))
    }

    /// One random operation; the model follows what it must do.
    async fn step(&mut self, t: &Table, k: usize) -> Result<(), Error> {
        let roll = self.rng.random_range(0..100);
        let tag = format!("s{k}");
        if roll < 20 {
            let n = self.rng.random_range(1..=6);
            let mut rows = self.new_rows(n, &tag);
            // Sometimes a key that already exists: targets may hold duplicates.
            if let Some(r) = self.rows.iter().find(|r| r.0.is_some()).cloned()
                && self.rng.random_bool(0.3)
            {
                rows.push((r.0, r.1, Some(tag.clone())));
            }
            self.ops.push(format!("append {rows:?}"));
            t.append([to_batch(&self.target, &rows)?]).await?;
            self.rows.extend(rows);
        } else if roll < 40 {
            let (lo, hi) = self.id_range();
            let mode = if self.rng.random_bool(0.3) {
                DeleteMode::CopyOnWrite
            } else {
                DeleteMode::Auto
            };
            self.ops.push(format!("delete {lo}..{hi} {mode:?}"));
            t.delete_with(Expr::parse(&format!("id >= {lo} AND id < {hi}"))?, mode)
                .await?;
            self.rows.retain(|r| !in_range(r.0, lo, hi));
        } else if roll < 55 {
            let m = self.rng.random_range(2..5i64);
            let rem = self.rng.random_range(0..m);
            self.ops.push(format!("update id % {m} = {rem} -> {tag}"));
            t.rewrite_rows(update(m, rem, tag.clone())).await?;
            for r in &mut self.rows {
                if r.0.is_some_and(|i| i % m == rem) {
                    r.2 = Some(tag.clone());
                }
            }
        } else if roll < 85 {
            self.merge(t, tag).await?;
        } else if roll < 90 {
            let target = self.rng.random_range(500..5_000);
            let sort = self.rng.random_bool(0.5);
            self.ops
                .push(format!("optimize to {target} bytes, sorted {sort}"));
            let mut options = OptimizeOptions::default().target_size(target);
            if sort {
                options = options.sort_by(["id"]);
            }
            t.optimize(options).await?;
        } else if roll < 93 {
            let (lo, hi) = self.id_range();
            let n = self.rng.random_range(0..3);
            let rows = self.new_rows(n, &tag);
            self.ops.push(format!("overwrite {lo}..{hi} with {rows:?}"));
            t.overwrite_where(
                Expr::parse(&format!("id >= {lo} AND id < {hi}"))?,
                futures::stream::iter([to_batch(&self.target, &rows)]),
            )
            .await?;
            self.rows.retain(|r| !in_range(r.0, lo, hi));
            self.rows.extend(rows);
        } else if roll < 96 {
            let n = self.rng.random_range(1..5);
            let rows = self.new_rows(n, &tag);
            self.ops.push(format!("overwrite all with {rows:?}"));
            t.write(
                futures::stream::iter([to_batch(&self.target, &rows)]),
                WriteOptions::overwrite(),
            )
            .await?;
            self.rows = rows;
        } else {
            let on = self.rng.random_bool(0.5);
            self.ops.push(format!("deletion vectors {on}"));
            t.set_properties(
                &[("strata.deletionVectors".to_string(), on.to_string())].into(),
                &[],
            )
            .await?;
        }
        Ok(())
    }

    async fn merge(&mut self, t: &Table, tag: String) -> Result<(), Error> {
        let matched = match self.rng.random_range(0..4) {
            0 => WhenMatched::Delete,
            1 => WhenMatched::Ignore,
            _ => WhenMatched::Update,
        };
        let insert = self.rng.random_bool(0.8);
        let by_source = self.rng.random_bool(0.1);
        // Distinct existing keys, new keys and sometimes a NULL key.
        let mut keys: Vec<i64> = self.rows.iter().filter_map(|r| r.0).collect();
        keys.sort_unstable();
        keys.dedup();
        let mut source: Vec<Row> = Vec::new();
        for id in keys {
            if self.rng.random_bool(0.3) {
                source.push((Some(id), self.rng.random_range(0..3), Some(tag.clone())));
            }
        }
        let n = self.rng.random_range(0..3);
        source.extend(self.new_rows(n, &tag));
        self.ops.push(format!(
            "merge {source:?} matched {matched:?} insert {insert} by-source-delete {by_source}"
        ));
        let mut merge = Merge::on(["id"]).when_matched(matched);
        if !insert {
            merge = merge.when_not_matched(WhenNotMatched::Ignore);
        }
        if by_source {
            merge = merge.when_not_matched_by_source(WhenNotMatchedBySource::Delete);
        }
        t.merge(
            futures::stream::iter([to_batch(&self.target, &source)]),
            merge,
        )
        .await?;
        let by_key: BTreeMap<i64, &Row> = source
            .iter()
            .filter_map(|r| r.0.map(|id| (id, r)))
            .collect();
        let mut next = Vec::new();
        let mut hit = std::collections::BTreeSet::new();
        for r in &self.rows {
            match r.0.and_then(|id| by_key.get(&id)) {
                Some(s) => {
                    hit.insert(s.0);
                    match matched {
                        WhenMatched::Update => next.push((*s).clone()),
                        WhenMatched::Delete => {}
                        _ => next.push(r.clone()),
                    }
                }
                None if by_source => {}
                None => next.push(r.clone()),
            }
        }
        if insert {
            next.extend(
                source
                    .iter()
                    .filter(|s| s.0.is_none() || !hit.contains(&s.0))
                    .cloned(),
            );
        }
        self.rows = next;
        Ok(())
    }
}

/// An update setting `v` to `tag` where `id % m == rem`.
fn update(m: i64, rem: i64, tag: String) -> RowRewrite {
    let matcher: strata_table::RowMatcher = Arc::new(move |b: &RecordBatch| {
        let ids = b
            .column(0)
            .as_any()
            .downcast_ref::<Int64Array>()
            .ok_or_else(|| Error::InvalidOperation {
                table: String::new(),
                message: "id is not int64".into(),
            })?;
        Ok(ids
            .iter()
            .map(|i| i.map(|i| i % m == rem))
            .collect::<BooleanArray>())
    });
    let mapper: strata_table::RowMapper = Arc::new(move |b: &RecordBatch| {
        let mut columns = b.columns().to_vec();
        columns[2] = Arc::new(StringArray::from(vec![Some(tag.as_str()); b.num_rows()]));
        RecordBatch::try_new(b.schema(), columns).map_err(|e| Error::InvalidOperation {
            table: String::new(),
            message: e.to_string(),
        })
    });
    RowRewrite::update(matcher, mapper)
}

async fn run_sequence(b: &TestBackend, seed: u64, steps: usize) -> CaseResult {
    let schema = strata_format::compact::parse_schema("id:int64?,grp:int32,v:string?")?;
    let spec = strata_format::compact::parse_partition_spec("grp", &schema, 0, 1000)?;
    let t = Table::create_with(
        b.location(&format!("model-{seed}"))?,
        CreateTable::new(schema.clone()).with_partition_spec(spec),
        TableOptions::default(),
    )
    .await?;
    let mut s = Sequence {
        rng: StdRng::seed_from_u64(seed),
        next_id: 0,
        rows: Vec::new(),
        target: strata_table::arrow_schema::to_arrow_schema(&schema)?,
        versions: BTreeMap::new(),
        ops: Vec::new(),
    };
    s.versions.insert(t.latest().await?.version(), Vec::new());
    for k in 0..steps {
        if let Err(e) = s.step(&t, k).await {
            return Err(format!("seed {seed}, step {k} ({:?}): {e}", s.ops.last()).into());
        }
        let latest = t.latest().await?;
        let mut model = s.rows.clone();
        model.sort();
        if latest.record_count() != model.len() as u64 {
            return Err(format!(
                "seed {seed}, step {k}: the log counts {} live rows, the model {}; ops {:#?}",
                latest.record_count(),
                model.len(),
                s.ops
            )
            .into());
        }
        s.versions.insert(latest.version(), model);
    }
    for (version, model) in &s.versions {
        let got = read(&t, *version).await?;
        if &got != model {
            return Err(format!(
                "seed {seed}, version {version}: read {got:?}, model {model:?}; ops {:#?}",
                s.ops
            )
            .into());
        }
    }
    Ok(())
}

/// Random sequences (`STRATA_MODEL_SEQUENCES` of them, default 24 in memory, 8 on local disk
/// and 3 on S3; 14 steps each) agree with the model at every version.
pub async fn random_row_changes_match_a_model(b: &TestBackend) -> CaseResult {
    let default = match b.kind() {
        BackendKind::Memory => 24,
        BackendKind::Local => 8,
        _ => 3,
    };
    let n = std::env::var("STRATA_MODEL_SEQUENCES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    for seed in 0..n {
        run_sequence(b, seed, 14).await?;
    }
    Ok(())
}
