//! Data-level fault sequences: real rows, deletes and updates (by deletion vector and by
//! copy-on-write), overwrites, tier moves and cleanups over a store that fails before and after
//! writes land; after every step the table opens and every version reads the rows its
//! acknowledged commits left.

use std::collections::BTreeMap;
use std::sync::Arc;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use strata_table::{
    CreateTable, Error, PROP_CHECKPOINT_INTERVAL, SnapshotSelector, Table, TableLocation,
};

use super::create;
use super::faults::{backend_name, chaos_for, fast_retries, open_retrying, tolerated};
use crate::backends::{CaseResult, TestBackend};
use crate::check;
use crate::faults::{FaultyStore, InjectedFault, is_injected};

mod verify;

use verify::{verify_moves_finish, verify_rows};

/// A row of the data sequences: `(id, name)` of the sample schema.
pub(super) type Row = (i64, Option<String>);

/// What an attempted row-changing operation does to the rows of the version it is based on.
#[derive(Debug, Clone)]
enum Effect {
    /// Adds the rows.
    Append(Vec<Row>),
    /// Replaces every row with these.
    Overwrite(Vec<Row>),
    /// Removes the rows with `lo <= id < hi`, then adds `rows` (none for a delete).
    Rewrite { lo: i64, hi: i64, rows: Vec<Row> },
    /// Sets the name of the rows with `lo <= id < hi`.
    Update { lo: i64, hi: i64, name: String },
    /// Merges `source` on `id` (distinct keys): matched rows take their source row (or are
    /// deleted when `delete`), the other source rows are inserted.
    Merge { source: Vec<Row>, delete: bool },
}

impl Effect {
    fn apply(&self, base: &[Row]) -> Vec<Row> {
        let mut out: Vec<Row> = match self {
            Effect::Append(rows) => base.iter().chain(rows).cloned().collect(),
            Effect::Overwrite(rows) => rows.clone(),
            Effect::Rewrite { lo, hi, rows } => base
                .iter()
                .filter(|(id, _)| !(*lo <= *id && *id < *hi))
                .chain(rows)
                .cloned()
                .collect(),
            Effect::Update { lo, hi, name } => base
                .iter()
                .map(|(id, n)| {
                    if *lo <= *id && *id < *hi {
                        (*id, Some(name.clone()))
                    } else {
                        (*id, n.clone())
                    }
                })
                .collect(),
            Effect::Merge { source, delete } => {
                let by_id: BTreeMap<i64, &Row> = source.iter().map(|r| (r.0, r)).collect();
                let mut hit = std::collections::BTreeSet::new();
                let mut out = Vec::new();
                for r in base {
                    match by_id.get(&r.0) {
                        Some(s) => {
                            hit.insert(r.0);
                            if !delete {
                                out.push((*s).clone());
                            }
                        }
                        None => out.push(r.clone()),
                    }
                }
                out.extend(source.iter().filter(|s| !hit.contains(&s.0)).cloned());
                out
            }
        };
        out.sort();
        out
    }
}

/// The oldest retained version of `s` (SPEC §11.5).
fn oldest(s: &strata_table::Snapshot) -> u64 {
    strata_format::retention::oldest_version(s.metadata())
}

/// Marker naming attempt `k` in a predicate (never matches a row: names are `a1`, `w3`, ...).
fn marker(k: u64) -> String {
    format!("mark{k}x")
}

/// What a data sequence did, for the checks: every attempted row change by attempt number,
/// the acknowledged commits, and the rows successful reads returned under faults.
#[derive(Debug, Default)]
struct DataLog {
    effects: BTreeMap<u64, Effect>,
    /// (version, txn id) of acknowledged commits.
    acked: Vec<(u64, String)>,
    /// (version, sorted rows) returned by reads that succeeded while faults were on.
    reads: Vec<(u64, Vec<Row>)>,
    /// Versions of acknowledged tier moves (a move reports its version, not its txn id).
    acked_moves: Vec<u64>,
    /// The files and target tier of the last move that failed.
    failed_move: Option<(Vec<String>, &'static str)>,
    /// Per operation: [succeeded, failed].
    outcomes: BTreeMap<&'static str, [u64; 2]>,
    /// Every history entry the checks saw, by version: after an expiry the log no longer has
    /// the versions before the oldest, and the model is replayed over these.
    history: std::sync::Mutex<BTreeMap<u64, strata_table::HistoryEntry>>,
}

/// Whether `e` is a storage fault this suite injected (directly or wrapped, e.g. by Parquet).
fn caused_by_injection(e: &Error) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if err.downcast_ref::<InjectedFault>().is_some() {
            return true;
        }
        if let Some(os) = err.downcast_ref::<object_store::Error>()
            && is_injected(os)
        {
            return true;
        }
        cur = err.source();
    }
    e.to_string().contains("injected fault")
}

/// Errors a data operation may end with under injected faults; anything else is a bug.
fn tolerated_data(e: &Error) -> bool {
    match e {
        Error::Storage { .. }
        | Error::CommitOutcomeUnknown { .. }
        | Error::DuplicateBatch { .. }
        | Error::RetriesExhausted { .. } => true,
        Error::Parquet { .. } => caused_by_injection(e),
        _ => false,
    }
}

pub(super) fn rows_batch(rows: &[Row]) -> Result<arrow::array::RecordBatch, Error> {
    use arrow::array::{Int64Array, StringArray};
    let schema =
        strata_table::arrow_schema::to_arrow_schema(&strata_format::testing::sample_schema())?;
    let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let names: Vec<Option<&str>> = rows.iter().map(|r| r.1.as_deref()).collect();
    arrow::array::RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from(ids)),
            Arc::new(StringArray::from(names)),
        ],
    )
    .map_err(|e| Error::InvalidOperation {
        table: String::new(),
        message: e.to_string(),
    })
}

/// Rows `k*1000 ..` named `{tag}{k}`.
fn new_rows(rng: &mut StdRng, k: u64, tag: &str) -> Vec<Row> {
    let n = rng.random_range(1..=4i64);
    let base = i64::try_from(k).unwrap_or(i64::MAX / 2_000) * 1000;
    (base..base + n)
        .map(|id| (id, Some(format!("{tag}{k}"))))
        .collect()
}

/// A random id range over the rows attempts `0..k` may have written.
fn id_range(rng: &mut StdRng, k: u64) -> (i64, i64) {
    let k = i64::try_from(k.max(1)).unwrap_or(1);
    let a = rng.random_range(0..k);
    let b = rng.random_range(a..k);
    if rng.random_bool(0.5) {
        // Part of one attempt's rows (a rewrite of a partly matching file).
        let lo = a * 1000 + rng.random_range(0..3);
        (lo, lo + rng.random_range(1..=2))
    } else {
        (a * 1000, b * 1000 + 1000)
    }
}

/// The predicate `(lo <= id < hi) OR name = marker(k)`: its text names the attempt.
fn range_predicate(lo: i64, hi: i64, k: u64) -> strata_format::expr::Expr {
    use strata_format::expr::Expr;
    Expr::column("id")
        .gt_eq(Expr::lit(lo))
        .and(Expr::column("id").lt(Expr::lit(hi)))
        .or(Expr::column("name").eq(Expr::lit(marker(k))))
}

/// An update setting `name` on the rows with `lo <= id < hi`, described by the attempt's
/// predicate (so the commit names the attempt).
fn update_rows(lo: i64, hi: i64, k: u64, name: String) -> strata_table::RowRewrite {
    use arrow::array::{AsArray, BooleanArray, StringArray};
    use arrow::datatypes::Int64Type;
    let column_error = |what: &str| Error::InvalidOperation {
        table: String::new(),
        message: format!("the update's batch has no {what} column"),
    };
    let matcher: strata_table::RowMatcher = Arc::new(move |b: &arrow::array::RecordBatch| {
        let ids = b
            .column_by_name("id")
            .ok_or_else(|| column_error("id"))?
            .as_primitive::<Int64Type>()
            .clone();
        Ok(ids
            .iter()
            .map(|id| id.map(|id| lo <= id && id < hi))
            .collect::<BooleanArray>())
    });
    let mapper: strata_table::RowMapper = Arc::new(move |b: &arrow::array::RecordBatch| {
        let at = b
            .schema()
            .index_of("name")
            .map_err(|_| column_error("name"))?;
        let mut columns = b.columns().to_vec();
        columns[at] = Arc::new(StringArray::from(vec![Some(name.as_str()); b.num_rows()]));
        arrow::array::RecordBatch::try_new(b.schema(), columns).map_err(|e| {
            Error::InvalidOperation {
                table: String::new(),
                message: e.to_string(),
            }
        })
    });
    let predicate = range_predicate(lo, hi, k);
    strata_table::RowRewrite::update(matcher, mapper)
        .describe(predicate.to_string())
        .prune(predicate)
}

/// Sorted `(id, name)` rows of `version` (or the latest).
pub(super) async fn rows_at(t: &Table, version: Option<u64>) -> Result<(u64, Vec<Row>), Error> {
    use arrow::array::{Array, Int64Array, StringArray};
    let mut scan = t.scan().columns(["id", "name"]).concurrency(1);
    if let Some(v) = version {
        scan = scan.snapshot(SnapshotSelector::Version(v));
    }
    let scan = scan.plan().await?;
    let v = scan.snapshot().version();
    let bad = |m: String| Error::InvalidOperation {
        table: t.uri().to_string(),
        message: m,
    };
    let mut out = Vec::new();
    for b in scan.collect().await? {
        let ids = b
            .column(0)
            .as_any()
            .downcast_ref::<Int64Array>()
            .ok_or_else(|| bad("id is not int64".into()))?;
        let names = arrow::compute::cast(b.column(1), &arrow::datatypes::DataType::Utf8)
            .map_err(|e| bad(e.to_string()))?;
        let names = names
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| bad("name is not a string".into()))?;
        for i in 0..b.num_rows() {
            let name = (!names.is_null(i)).then(|| names.value(i).to_string());
            out.push((ids.value(i), name));
        }
    }
    out.sort();
    Ok((v, out))
}

/// The tiers of a data-sequence table: `hot` (the root, default), `cold` (a prefix inside the
/// root, so reached through the fault-injecting store) and `warm` (a location beside the
/// table, reached through its own store: the copy source is faulty, the target is not).
pub(super) fn sequence_tiers(loc: &TableLocation, warm: &str) -> Vec<strata_format::TierDef> {
    let tier = |name: &str, location: Option<String>| strata_format::TierDef {
        name: name.into(),
        location,
        storage_class: None,
    };
    vec![
        tier("hot", None),
        tier("cold", Some(format!("{}/cold", loc.uri()))),
        tier("warm", Some(warm.to_string())),
    ]
}

const TIERS: [&str; 3] = ["hot", "cold", "warm"];

/// One writer doing `steps` random data operations over a chaos store. Alone (`concurrent`
/// false), the invariant is checked after each step with faults off (the check does not draw
/// from the fault RNG); beside a concurrent appender, only at the end, and conflicts are
/// tolerated.
async fn random_data_writer(
    loc: &TableLocation,
    floc: &TableLocation,
    faulty: &FaultyStore,
    seed: u64,
    steps: u32,
    concurrent: bool,
    log: &mut DataLog,
) -> CaseResult {
    let mut rng = StdRng::seed_from_u64(seed.wrapping_mul(0x9e37_79b9).wrapping_add(17));
    let t = match open_retrying(floc).await {
        Ok(t) => t,
        Err(e) if tolerated(&e) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let mut batch = 0u64;
    // STRATA_FAULT_TRACE=1 prints every step and its outcome (for replaying a seed).
    let trace = std::env::var_os("STRATA_FAULT_TRACE").is_some();
    for step in 0..steps {
        let k = u64::from(step) + 1;
        let roll: u32 = rng.random_range(0..100);
        let attempt = |k: u64| {
            let mut p = BTreeMap::new();
            p.insert("attempt".to_string(), serde_json::Value::from(k));
            p
        };
        let op: &'static str;
        let result: Result<Option<strata_table::CommitResult>, Error> = if roll < 24 {
            op = "append";
            let rows = new_rows(&mut rng, k, "a");
            log.effects.insert(k, Effect::Append(rows.clone()));
            let app = rng.random_bool(0.3).then(|| {
                batch += 1;
                ("app".to_string(), batch)
            });
            let options = strata_table::WriteOptions {
                parameters: attempt(k),
                app_transaction: app,
                ..Default::default()
            };
            match rows_batch(&rows) {
                Ok(b) => t
                    .write(futures::stream::iter([Ok(b)]), options)
                    .await
                    .map(Some),
                Err(e) => Err(e),
            }
        } else if roll < 32 {
            op = "overwrite";
            let rows = new_rows(&mut rng, k, "o");
            log.effects.insert(k, Effect::Overwrite(rows.clone()));
            let options = strata_table::WriteOptions {
                parameters: attempt(k),
                ..strata_table::WriteOptions::overwrite()
            };
            match rows_batch(&rows) {
                Ok(b) => t
                    .write(futures::stream::iter([Ok(b)]), options)
                    .await
                    .map(Some),
                Err(e) => Err(e),
            }
        } else if roll < 44 {
            op = "overwrite where";
            let (lo, hi) = id_range(&mut rng, k);
            let rows = new_rows(&mut rng, k, "w");
            log.effects.insert(
                k,
                Effect::Rewrite {
                    lo,
                    hi,
                    rows: rows.clone(),
                },
            );
            match rows_batch(&rows) {
                Ok(b) => t
                    .overwrite_where(range_predicate(lo, hi, k), futures::stream::iter([Ok(b)]))
                    .await
                    .map(Some),
                Err(e) => Err(e),
            }
        } else if roll < 53 {
            // Deletion vectors where the table uses them (every sequence table does), else
            // copy-on-write; one in three forces copy-on-write.
            let cow = rng.random_bool(1.0 / 3.0);
            op = if cow { "delete cow" } else { "delete" };
            let (lo, hi) = id_range(&mut rng, k);
            log.effects.insert(
                k,
                Effect::Rewrite {
                    lo,
                    hi,
                    rows: Vec::new(),
                },
            );
            let mode = if cow {
                strata_table::DeleteMode::CopyOnWrite
            } else {
                strata_table::DeleteMode::Auto
            };
            t.delete_with(range_predicate(lo, hi, k), mode)
                .await
                .map(Some)
        } else if roll < 55 {
            op = "update";
            let (lo, hi) = id_range(&mut rng, k);
            let name = format!("u{k}");
            log.effects.insert(
                k,
                Effect::Update {
                    lo,
                    hi,
                    name: name.clone(),
                },
            );
            t.rewrite_rows(update_rows(lo, hi, k, name))
                .await
                .map(|r| r.commit)
        } else if roll < 57 {
            op = "merge";
            let (lo, hi) = id_range(&mut rng, k);
            let mut source: Vec<Row> = (lo..hi.min(lo + 3))
                .map(|id| (id, Some(format!("m{k}"))))
                .collect();
            source.extend(new_rows(&mut rng, k, "m"));
            source.sort();
            source.dedup_by_key(|r| r.0);
            let delete = rng.random_bool(0.25);
            log.effects.insert(
                k,
                Effect::Merge {
                    source: source.clone(),
                    delete,
                },
            );
            let mut merge = strata_table::Merge::on(["id"]).parameter("attempt", k);
            if delete {
                merge = merge.when_matched(strata_table::WhenMatched::Delete);
            }
            match rows_batch(&source) {
                Ok(b) => t
                    .merge(futures::stream::iter([Ok(b)]), merge)
                    .await
                    .map(|r| r.commit),
                Err(e) => Err(e),
            }
        } else if roll < 59 {
            op = "optimize";
            let options = strata_table::OptimizeOptions::default()
                .target_size(rng.random_range(1_000..20_000));
            t.optimize(options).await.map(|r| r.commit)
        } else if roll < 60 {
            op = "schema change";
            t.update_schema(vec![strata_table::SchemaChange::AddColumn {
                parent: None,
                name: format!("c{k}"),
                data_type: strata_format::PrimitiveType::Int64.into(),
                required: false,
                default: None,
                doc: None,
            }])
            .await
            .map(Some)
        } else if roll < 65 {
            op = "restore";
            match t.latest().await {
                // Not to version 0: version 1 defined the tiers the moves use. Nor to an
                // expired version.
                Ok(s) if s.version() > oldest(&s).max(1) => t
                    .restore(rng.random_range(oldest(&s).max(1)..s.version()))
                    .await
                    .map(Some),
                Ok(_) => Ok(None),
                Err(e) => Err(e),
            }
        } else if roll < 80 {
            op = "tier move";
            let tier = TIERS[rng.random_range(0..TIERS.len())];
            let options = strata_table::MoveOptions {
                concurrency: 1,
                stream_copies: rng.random_bool(0.3),
                ..if rng.random_bool(0.5) {
                    strata_table::MoveOptions::immediate()
                } else {
                    strata_table::MoveOptions::default()
                }
            };
            match t.latest().await {
                Ok(s) => {
                    let paths: Vec<String> = s
                        .files()
                        .keys()
                        .filter(|_| rng.random_bool(0.6))
                        .cloned()
                        .collect();
                    let moved = t.move_files(&paths, tier, &options).await;
                    if moved.is_err() {
                        log.failed_move = Some((paths, tier));
                    }
                    moved.map(|r| {
                        log.acked_moves.extend(r.version);
                        None
                    })
                }
                Err(e) => Err(e),
            }
        } else if roll < 84 {
            op = "tier cleanup";
            t.tier_cleanup(&strata_table::MoveOptions::immediate())
                .await
                .map(|_| None)
        } else if roll < 90 {
            op = "checkpoint";
            t.checkpoint().await.map(|_| None)
        } else if roll < 93 && !concurrent {
            // Alone only: the checks rebuild expired versions from what they saw before, and
            // a concurrent appender's commits are only checked at the end.
            op = "expire";
            let options =
                strata_table::ExpireOptions::older_than_ms(0).keep_last(rng.random_range(1..=6));
            t.expire(options).await.map(|r| r.commit)
        } else if roll < 96 && !concurrent {
            // Retention 0, as if a second had passed: alone, no transaction is in flight, so
            // every object no retained version needs goes (files of failed attempts too).
            op = "vacuum";
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .unwrap_or(0);
            let options = strata_table::VacuumOptions::retain_ms(0).now_ms(now + 1000);
            t.vacuum(options).await.map(|_| None)
        } else {
            op = "read";
            let version = match t.latest().await {
                Ok(s) => Some(rng.random_range(oldest(&s)..=s.version())),
                Err(_) => None,
            };
            match rows_at(&t, version).await {
                Ok(r) => {
                    log.reads.push(r);
                    Ok(None)
                }
                Err(e) => Err(e),
            }
        };
        if trace {
            use std::io::Write;
            let outcome = match &result {
                Ok(Some(c)) => format!("acknowledged at version {}", c.version),
                Ok(None) => "ok".to_string(),
                Err(e) => format!("error: {e}"),
            };
            let _ = writeln!(std::io::stderr(), "seed {seed} step {step} {op}: {outcome}");
        }
        log.outcomes.entry(op).or_default()[usize::from(result.is_err())] += 1;
        match result {
            Ok(Some(c)) => log.acked.push((c.version, c.txn_id)),
            Ok(None) => {}
            Err(e) if tolerated_data(&e) => {}
            Err(Error::Conflict { .. }) if concurrent => {}
            Err(e) => return Err(format!("step {step} ({op}): {e}").into()),
        }
        if concurrent {
            continue;
        }
        // The invariant after every step, with faults off.
        faulty.set_enabled(false);
        let checked = verify_rows(loc, log, false)
            .await
            .map(|_| ())
            .map_err(|e| format!("after step {step} ({op}): {e}"));
        faulty.set_enabled(true);
        checked?;
    }
    Ok(())
}

/// A second writer doing `appends` blind appends (attempts `APPENDER_ATTEMPTS + j`, ids from
/// `APPENDER_IDS`: never in the id ranges the first writer deletes or overwrites, so the first
/// writer's rewrites commute with them); returns its acknowledged commits and its attempts.
async fn random_appender(
    floc: &TableLocation,
    seed: u64,
    appends: u32,
) -> Result<(Vec<(u64, String)>, BTreeMap<u64, Effect>), String> {
    let mut acked = Vec::new();
    let mut effects = BTreeMap::new();
    if appends == 0 {
        return Ok((acked, effects));
    }
    let mut rng = StdRng::seed_from_u64(seed.wrapping_mul(0x85eb_ca6b).wrapping_add(29));
    let t = match open_retrying(floc).await {
        Ok(t) => t,
        Err(e) if tolerated(&e) => return Ok((acked, effects)),
        Err(e) => return Err(format!("appender: {e}")),
    };
    for j in 0..u64::from(appends) {
        let k = APPENDER_ATTEMPTS + j;
        let n = rng.random_range(1..=3i64);
        let base = APPENDER_IDS + i64::try_from(j).unwrap_or(0) * 10;
        let rows: Vec<Row> = (base..base + n)
            .map(|id| (id, Some(format!("b{j}"))))
            .collect();
        effects.insert(k, Effect::Append(rows.clone()));
        let mut parameters = BTreeMap::new();
        parameters.insert("attempt".to_string(), serde_json::Value::from(k));
        let options = strata_table::WriteOptions {
            parameters,
            app_transaction: rng
                .random_bool(0.5)
                .then(|| ("appender".to_string(), j + 1)),
            ..Default::default()
        };
        let result = match rows_batch(&rows) {
            Ok(b) => t.write(futures::stream::iter([Ok(b)]), options).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(c) => acked.push((c.version, c.txn_id)),
            Err(e) if tolerated_data(&e) || e.is_conflict() => {}
            Err(e) => return Err(format!("appender append {j}: {e}")),
        }
    }
    Ok((acked, effects))
}

/// Attempt numbers of the concurrent appender.
const APPENDER_ATTEMPTS: u64 = 1_000_000;
/// First id of the concurrent appender's rows.
const APPENDER_IDS: i64 = 1_000_000_000;

/// One sequence in three runs on a partitioned table (`truncate(2000, id)`: the rows of two
/// attempts share a partition), so appends split batches by partition and deletes and
/// overwrites prune and rewrite per partition. Chosen by the seed, not its random stream, so
/// the other sequences stay as they were.
fn partitioned(seed: u64) -> bool {
    seed % 3 == 2
}

async fn create_sequence_table(
    b: &TestBackend,
    name: &str,
    partitioned: bool,
) -> Result<Table, Box<dyn std::error::Error + Send + Sync>> {
    if !partitioned {
        return Ok(create(b, name, &[(PROP_CHECKPOINT_INTERVAL, "4")], fast_retries()).await?);
    }
    let schema = strata_format::testing::sample_schema();
    let spec =
        strata_format::compact::parse_partition_spec("truncate(2000, id)", &schema, 0, 1000)?;
    Ok(Table::create_with(
        b.location(name)?,
        CreateTable::new(schema)
            .with_partition_spec(spec)
            .with_property(PROP_CHECKPOINT_INTERVAL, "4"),
        fast_retries(),
    )
    .await?)
}

/// Runs `sequences` randomized data sequences (seeds `first_seed..`), each on a fresh table
/// with tiers over a chaos store, one writer doing appends (plain and exactly-once), whole
/// and predicate overwrites, predicate deletes, updates, merges, optimize, expire, vacuum,
/// schema changes, restores, tier moves, tier cleanups, checkpoints and reads; the invariant is checked after every step, and at the
/// end over every version, after a cleanup that must finish every interrupted move.
pub async fn randomized_data_fault_sequences(
    b: &TestBackend,
    first_seed: u64,
    sequences: u64,
) -> CaseResult {
    let mut injected = 0;
    let mut landed_unacked = 0;
    let mut totals: BTreeMap<&'static str, [u64; 2]> = BTreeMap::new();
    for seed in first_seed..first_seed + sequences {
        let run = async {
            let name = format!("d{seed}");
            let t = create_sequence_table(b, &name, partitioned(seed)).await?;
            let loc = b.location(&name)?;
            let warm_name = format!("d{seed}-warm");
            let warm = b.location(&warm_name)?;
            t.set_tiers(sequence_tiers(&loc, warm.uri()), Some("hot".into()))
                .await?;
            let faulty = Arc::new(FaultyStore::new(loc.store().clone(), seed, chaos_for(seed)));
            let floc = loc.with_store(faulty.clone());
            let mut rng = StdRng::seed_from_u64(seed);
            let steps = rng.random_range(4..=10);
            // Three sequences in ten: a second writer appends concurrently.
            let appends = if rng.random_bool(0.3) {
                rng.random_range(2..=5)
            } else {
                0
            };
            let log = DataLog::default();
            // The versions before the first step, for the checks after an expiry.
            let first = t.history(None).await?;
            log.history
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend(first.into_iter().map(|h| (h.version, h)));
            let mut log = log;
            // Boxed: the nested state machines are otherwise too deep for the compiler's
            // layout queries (clippy hits the query depth limit).
            let writer = Box::pin(random_data_writer(
                &loc,
                &floc,
                &faulty,
                seed,
                steps,
                appends > 0,
                &mut log,
            ));
            let appender = Box::pin(random_appender(&floc, seed, appends));
            let (result, appended) = futures::future::join(writer, appender).await;
            faulty.set_enabled(false);
            let n = faulty.injected();
            result?;
            let (acked, effects) = appended?;
            if !effects.is_empty() {
                let ok = acked.len() as u64;
                log.outcomes
                    .insert("concurrent append", [ok, effects.len() as u64 - ok]);
            }
            log.acked.extend(acked);
            log.effects.extend(effects);
            let unacked = Box::pin(verify_moves_finish(&loc, &warm, &log)).await?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>((n, unacked, log.outcomes))
        };
        match Box::pin(run).await {
            Ok((n, unacked, outcomes)) => {
                injected += n;
                landed_unacked += unacked;
                for (op, [ok, failed]) in outcomes {
                    let e = totals.entry(op).or_insert([0, 0]);
                    e[0] += ok;
                    e[1] += failed;
                }
            }
            Err(e) => {
                return Err(format!(
                    "data sequence {seed}: {e}\n  replay it: STRATA_FAULT_FIRST_SEED={seed} \
                     STRATA_FAULT_SEQUENCES=1 cargo test -p strata-conformance --test \
                     conformance {}_randomized_data_fault_sequences",
                    backend_name(b)
                )
                .into());
            }
        }
    }
    check!(
        injected > sequences,
        "only {injected} faults injected over {sequences} sequences: the test is not testing"
    );
    {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "{sequences} data fault sequences (seeds {first_seed}..{}, {} on partitioned \
             tables): {injected} faults injected; {landed_unacked} commits landed though their \
             writer saw an error; per operation [succeeded, failed]: {totals:?}",
            first_seed + sequences,
            (first_seed..first_seed + sequences)
                .filter(|s| partitioned(*s))
                .count()
        );
    }
    Ok(())
}
