//! Golden tables: small tables written by this version, checked in under
//! `conformance-tests/golden/` with their checksums and the description of how they read, which
//! every later version must keep reading identically (SPEC §12.4).
//!
//! * [`generate`] writes the tables deterministically (stepping clock, sequential ids), so a run
//!   of the same version writes the same bytes.
//! * [`describe`] is the canonical JSON description of how a table reads: every version, its
//!   schema, specs, properties, tags, application transactions, files with their resolved
//!   physical locations and statistics, the history, and time travel by timestamp and tag.
//! * [`write_golden`] generates the tables and writes each one's `expected.json` (its
//!   description) and `CHECKSUMS` (sha256 of every file).
//! * [`verify`] checks the checked-in files against `CHECKSUMS` and the reads against
//!   `expected.json`.
//!
//! The tables are log-only: `add` actions name data files (e.g. `data/part-00000.parquet`) that
//! are not written, because this version of the engine writes no data files yet.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use strata_format::partition::{PartitionField, PartitionSpec, Transform};
use strata_format::schema::{
    DataType, ListType, MapType, PrimitiveType, Schema, StructField, StructType,
};
use strata_format::{
    Action, AddFile, ColumnStats, CommitInfo, Metadata, Relocate, RemoveFile, TierDef,
};
use strata_table::{
    CreateTable, HistoryEntry, PROP_CHECKPOINT_INTERVAL, SequentialIds, Snapshot, SnapshotSelector,
    SteppingClock, Table, TableLocation, TableOptions,
};

/// Error type of the generator and of [`describe`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Names of the golden tables, each a directory under the golden directory.
pub const GOLDEN_TABLES: &[&str] = &["basic", "checkpointed", "evolved", "relocated"];
/// Name of the checksum file in each golden table directory.
pub const CHECKSUMS_FILE: &str = "CHECKSUMS";
/// Name of the expected description in each golden table directory.
pub const EXPECTED_FILE: &str = "expected.json";
/// What the table URI is replaced with in resolved physical locations.
pub const ROOT_PLACEHOLDER: &str = "<root>";

/// First reading of the generator's clock (2023-11-14T22:13:20Z).
const START_MS: i64 = 1_700_000_000_000;
/// Step of the generator's clock per reading.
const STEP_MS: i64 = 1000;
/// Microseconds per day (timestamps in statistics are microseconds).
const DAY_US: i64 = 86_400_000_000;
/// 2023-11-14 as days since the epoch.
const DAY0: i64 = 19_675;
/// Absolute base URI of the `cold` tier of the `relocated` table.
const COLD_TIER: &str = "memory://cold-tier/relocated";
/// Absolute base URI of the `warm` tier of the `relocated` table.
const WARM_TIER: &str = "s3://golden-warm-tier/relocated";

// ---------------------------------------------------------------------------------------------
// Generation
// ---------------------------------------------------------------------------------------------

/// Options every golden table is written with: a stepping clock, sequential ids and a fixed
/// engine string, so the bytes are identical on every run, whatever the crate version.
fn options() -> TableOptions {
    let mut options = TableOptions::default()
        .with_clock(Arc::new(SteppingClock::new(START_MS, STEP_MS)))
        .with_ids(Arc::new(SequentialIds::default()));
    options.engine = "strata-golden/format-1".into();
    options
}

fn path_str(path: &Path) -> Result<&str, BoxError> {
    path.to_str()
        .ok_or_else(|| format!("`{}` is not valid UTF-8", path.display()).into())
}

async fn create_table(dir: &Path, name: &str, create: CreateTable) -> Result<Table, BoxError> {
    let path = dir.join(name);
    let location = TableLocation::parse(path_str(&path)?)?;
    Ok(Table::create_with(location, create, options()).await?)
}

/// Writes every golden table into `dir/<name>/` (the directories must not hold tables yet).
pub async fn generate(dir: &Path) -> Result<(), BoxError> {
    std::fs::create_dir_all(dir)?;
    generate_basic(dir).await?;
    generate_checkpointed(dir).await?;
    generate_evolved(dir).await?;
    generate_relocated(dir).await?;
    Ok(())
}

/// Generates the tables into `dir` and writes each table's `expected.json` and `CHECKSUMS`.
pub async fn write_golden(dir: &Path) -> Result<(), BoxError> {
    generate(dir).await?;
    for name in GOLDEN_TABLES {
        let table_dir = dir.join(name);
        let description = describe(path_str(&table_dir)?).await?;
        let mut text = serde_json::to_string_pretty(&description)?;
        text.push('\n');
        std::fs::write(table_dir.join(EXPECTED_FILE), text)?;
        let sums = checksums(&table_dir)?;
        std::fs::write(table_dir.join(CHECKSUMS_FILE), sums)?;
    }
    Ok(())
}

fn stats(min: Value, max: Value, null_count: u64) -> ColumnStats {
    ColumnStats {
        min: Some(min),
        max: Some(max),
        null_count: Some(null_count),
        nan_count: None,
    }
}

/// A data file entry in the default (`hot`) tier, spec 0, schema 0, without partition values
/// or statistics.
fn data_file(path: &str, record_count: u64, size: u64, modification_time: i64) -> AddFile {
    AddFile {
        path: path.to_string(),
        size,
        record_count,
        modification_time,
        data_change: true,
        spec_id: 0,
        schema_id: Some(0),
        partition_values: BTreeMap::new(),
        stats: BTreeMap::new(),
        tier: "hot".to_string(),
        location: None,
        storage_class: None,
        deletion_vector: None,
    }
}

/// A remove of an active file of `base` with explicit `dataChange` (the transaction's
/// `remove_file` always records a data change).
fn remove_of(base: &Snapshot, path: &str, data_change: bool, at: i64) -> Result<Action, BoxError> {
    let add = base
        .files()
        .get(path)
        .ok_or_else(|| format!("`{path}` is not in version {}", base.version()))?;
    Ok(Action::Remove(RemoveFile {
        path: path.to_string(),
        deletion_timestamp: at,
        data_change,
        size: Some(add.size),
        record_count: Some(add.record_count),
        tier: Some(add.tier.clone()),
        location: add.location.clone(),
        storage_class: add.storage_class.clone(),
    }))
}

/// The schema of `basic`: every primitive type, nested struct, list and map, and defaults.
fn basic_schema() -> Result<Schema, BoxError> {
    use PrimitiveType as P;
    let mut amount = StructField::optional(
        3,
        "amount",
        P::Decimal {
            precision: 18,
            scale: 2,
        },
    );
    amount.write_default = Some(json!("0.00"));
    let mut category = StructField::optional(4, "category", P::String);
    category.doc = Some("Product category".into());
    category.initial_default = Some(json!("unknown"));
    category.write_default = Some(json!("unknown"));
    let address = StructField::optional(
        7,
        "address",
        DataType::Struct(StructType {
            fields: vec![
                StructField::optional(8, "city", P::String),
                StructField::optional(9, "zip", P::String),
            ],
        }),
    );
    let customer = StructField::optional(
        5,
        "customer",
        DataType::Struct(StructType {
            fields: vec![StructField::required(6, "name", P::String), address],
        }),
    );
    let mut qty = StructField::required(13, "qty", P::Int32);
    qty.write_default = Some(json!(1));
    let items = StructField::optional(
        10,
        "items",
        DataType::List(ListType {
            element_id: 11,
            element_required: true,
            element: Box::new(DataType::Struct(StructType {
                fields: vec![StructField::required(12, "sku", P::String), qty],
            })),
        }),
    );
    let attrs = StructField::optional(
        14,
        "attrs",
        DataType::Map(MapType {
            key_id: 15,
            key: Box::new(P::String.into()),
            value_id: 16,
            value_required: false,
            value: Box::new(P::Float64.into()),
        }),
    );
    let mut flag = StructField::optional(17, "flag", P::Boolean);
    flag.initial_default = Some(json!(false));
    let mut payload = StructField::optional(19, "payload", P::Binary);
    payload.initial_default = Some(json!("cafe"));
    let mut level = StructField::optional(21, "level", P::Int8);
    level.write_default = Some(json!(-1));
    let mut ratio = StructField::optional(23, "ratio", P::Float32);
    ratio.initial_default = Some(json!(0.5));
    Ok(Schema::new(
        0,
        vec![
            StructField::required(1, "id", P::Int64),
            StructField::required(2, "ts", P::Timestamptz),
            amount,
            category,
            customer,
            items,
            attrs,
            flag,
            StructField::optional(18, "score", P::Float64),
            payload,
            StructField::optional(20, "event_date", P::Date),
            level,
            StructField::optional(22, "rank", P::Int16),
            ratio,
            StructField::optional(24, "local_time", P::Time),
            StructField::optional(25, "local_ts", P::Timestamp),
        ],
    )?)
}

/// A file of `basic`: partitioned by `day(ts)`, with statistics on top-level and nested fields.
fn basic_file(n: u32, day: i64, first_id: i64, rows: u64) -> AddFile {
    let date = match day - DAY0 {
        0 => "2023-11-14",
        1 => "2023-11-15",
        _ => "2023-11-16",
    };
    let path = format!("data/ts_day={date}/part-{n:05}.parquet");
    let mut f = data_file(
        &path,
        rows,
        1024 * (u64::from(n) + 3) + rows,
        START_MS - 60_000 + i64::from(n) * 1000,
    );
    f.partition_values.insert(1000, json!(day));
    let last_id = first_id + rows as i64 - 1;
    let day_start = day * DAY_US;
    f.stats.insert(1, stats(json!(first_id), json!(last_id), 0));
    f.stats.insert(
        2,
        stats(
            json!(day_start + 3_600_000_000),
            json!(day_start + DAY_US - 1),
            0,
        ),
    );
    f.stats.insert(
        3,
        stats(json!(format!("{n}.05")), json!(format!("9{n}9.99")), 1),
    );
    f.stats
        .insert(4, stats(json!("books"), json!("toys"), u64::from(n)));
    f.stats.insert(6, stats(json!("Ada"), json!("Zoe"), 0));
    f.stats
        .insert(8, stats(json!("Berlin"), json!("Zurich"), 2));
    f.stats
        .insert(12, stats(json!("SKU-001"), json!("SKU-999"), 0));
    f.stats.insert(17, stats(json!(false), json!(true), 0));
    f.stats.insert(
        18,
        ColumnStats {
            min: Some(json!(-1.5)),
            max: Some(json!(42.25)),
            null_count: Some(3),
            nan_count: Some(u64::from(n % 2)),
        },
    );
    f.stats.insert(19, stats(json!("00"), json!("ff10"), 0));
    f.stats.insert(20, stats(json!(day), json!(day), 0));
    f.stats.insert(
        23,
        ColumnStats {
            null_count: Some(rows),
            ..ColumnStats::default()
        },
    );
    f
}

/// `basic`: nested schema, `day(ts)` partitioning, appends with statistics, a remove, tags and
/// application transactions.
async fn generate_basic(dir: &Path) -> Result<(), BoxError> {
    let spec = PartitionSpec {
        spec_id: 0,
        fields: vec![PartitionField {
            field_id: 1000,
            source_id: 2,
            name: "ts_day".into(),
            transform: Transform::Day,
        }],
    };
    let mut create = CreateTable::new(basic_schema()?)
        .with_partition_spec(spec)
        .with_property("owner", "conformance")
        .with_property("comment", "golden table: basic");
    create.name = Some("basic".into());
    create.description = Some("Every type, day(ts) partitions, tags and batches".into());
    let t = create_table(dir, "basic", create).await?;
    // v1
    t.transaction()
        .await?
        .operation("APPEND")
        .parameter("mode", "append")
        .metric("numAddedFiles", 1)
        .metric("numAddedRows", 100)
        .add_file(basic_file(0, DAY0, 1, 100))
        .commit()
        .await?;
    // v2
    t.transaction()
        .await?
        .operation("APPEND")
        .parameter("mode", "append")
        .metric("numAddedFiles", 2)
        .metric("numAddedRows", 130)
        .add_file(basic_file(1, DAY0 + 1, 101, 50))
        .add_file(basic_file(2, DAY0 + 1, 151, 80))
        .commit()
        .await?;
    // v3
    t.transaction()
        .await?
        .operation("APPEND")
        .user_metadata("nightly load")
        .add_file(basic_file(3, DAY0 + 2, 231, 20))
        .commit()
        .await?;
    // v4
    t.transaction()
        .await?
        .operation("DELETE")
        .parameter("predicate", "ts_day = '2023-11-15' AND id <= 150")
        .metric("numRemovedFiles", 1)
        .remove_file("data/ts_day=2023-11-15/part-00001.parquet")?
        .commit()
        .await?;
    // v5, v6, v7
    t.create_tag("audit", 3).await?;
    t.delete_tag("audit").await?;
    t.create_tag("release", 4).await?;
    // v8
    t.transaction()
        .await?
        .operation("STREAMING UPDATE")
        .parameter("outputMode", "append")
        .app_transaction("ingest-app", 42)
        .add_file(basic_file(4, DAY0 + 2, 251, 10))
        .commit()
        .await?;
    // v9
    t.transaction()
        .await?
        .operation("STREAMING UPDATE")
        .app_transaction("ingest-app", 43)
        .app_transaction("backfill", 1)
        .add_file(basic_file(5, DAY0, 261, 5))
        .commit()
        .await?;
    Ok(())
}

fn simple_schema() -> Result<Schema, BoxError> {
    Ok(Schema::new(
        0,
        vec![
            StructField::required(1, "id", PrimitiveType::Int64),
            StructField::optional(2, "name", PrimitiveType::String),
            StructField::optional(3, "ts", PrimitiveType::Timestamptz),
        ],
    )?)
}

fn simple_file(name: &str, first_id: i64, rows: u64) -> AddFile {
    let mut f = data_file(
        &format!("data/{name}.parquet"),
        rows,
        512 + rows * 8,
        START_MS - 30_000 + first_id,
    );
    f.stats.insert(
        1,
        stats(json!(first_id), json!(first_id + rows as i64 - 1), 0),
    );
    f.stats.insert(2, stats(json!("a"), json!("z"), 1));
    f
}

/// `checkpointed`: checkpoint interval 3, versions 0 to 7, so checkpoints at 3 and 6 and a
/// `_last_checkpoint` pointing at 6; tombstones, a tag and batches cross the checkpoints.
async fn generate_checkpointed(dir: &Path) -> Result<(), BoxError> {
    let mut create =
        CreateTable::new(simple_schema()?).with_property(PROP_CHECKPOINT_INTERVAL, "3");
    create.name = Some("checkpointed".into());
    let t = create_table(dir, "checkpointed", create).await?;
    // v1, v2, v3 (checkpoint)
    t.transaction()
        .await?
        .operation("APPEND")
        .add_file(simple_file("a", 1, 10))
        .commit()
        .await?;
    t.transaction()
        .await?
        .operation("APPEND")
        .app_transaction("stream", 1)
        .add_file(simple_file("b", 11, 20))
        .commit()
        .await?;
    t.transaction()
        .await?
        .operation("APPEND")
        .add_file(simple_file("c", 31, 30))
        .commit()
        .await?;
    // v4
    t.transaction()
        .await?
        .operation("DELETE")
        .remove_file("data/a.parquet")?
        .commit()
        .await?;
    // v5
    t.create_tag("before-compaction", 4).await?;
    // v6 (checkpoint): compaction, no data change
    let txn = t.transaction().await?;
    let base = txn.base().clone();
    let mut compacted = simple_file("bc-compacted", 11, 50);
    compacted.data_change = false;
    txn.operation("OPTIMIZE")
        .read_file("data/b.parquet")
        .read_file("data/c.parquet")
        .action(remove_of(
            &base,
            "data/b.parquet",
            false,
            START_MS + 100_000,
        )?)
        .action(remove_of(
            &base,
            "data/c.parquet",
            false,
            START_MS + 100_000,
        )?)
        .add_file(compacted)
        .commit()
        .await?;
    // v7
    t.transaction()
        .await?
        .operation("APPEND")
        .app_transaction("stream", 2)
        .add_file(simple_file("d", 61, 5))
        .commit()
        .await?;
    Ok(())
}

/// `evolved`: a schema change and a second partition spec, appends under both specs, then a
/// restore to version 1 and an append after it.
async fn generate_evolved(dir: &Path) -> Result<(), BoxError> {
    use PrimitiveType as P;
    let schema0 = Schema::new(
        0,
        vec![
            StructField::required(1, "id", P::Int64),
            StructField::required(2, "ts", P::Timestamptz),
            StructField::optional(3, "region", P::String),
        ],
    )?;
    let spec0 = PartitionSpec {
        spec_id: 0,
        fields: vec![PartitionField {
            field_id: 1000,
            source_id: 2,
            name: "ts_day".into(),
            transform: Transform::Day,
        }],
    };
    let create = CreateTable::new(schema0.clone()).with_partition_spec(spec0);
    let t = create_table(dir, "evolved", create).await?;
    // v1: under spec 0, schema 0
    let mut a = data_file("data/ts_day=2023-11-14/a.parquet", 10, 700, START_MS - 5000);
    a.partition_values.insert(1000, json!(DAY0));
    a.stats.insert(3, stats(json!("EU"), json!("US"), 0));
    t.transaction()
        .await?
        .operation("APPEND")
        .add_file(a)
        .commit()
        .await?;
    // v2: add column `country` (id 4) and spec 1 = identity(country), month(ts)
    let txn = t.transaction().await?;
    let mut metadata: Metadata = txn.base().metadata().clone();
    let mut fields = schema0.fields().to_vec();
    let mut country = StructField::optional(4, "country", P::String);
    country.initial_default = Some(json!("ZZ"));
    country.write_default = Some(json!("ZZ"));
    fields.push(country);
    metadata.schema = Schema::new(1, fields)?;
    metadata.last_column_id = 4;
    metadata.partition_specs.push(PartitionSpec {
        spec_id: 1,
        fields: vec![
            PartitionField {
                field_id: 1001,
                source_id: 4,
                name: "country".into(),
                transform: Transform::Identity,
            },
            PartitionField {
                field_id: 1002,
                source_id: 2,
                name: "ts_month".into(),
                transform: Transform::Month,
            },
        ],
    });
    metadata.default_spec_id = 1;
    metadata.last_partition_id = 1002;
    metadata
        .properties
        .insert("comment".into(), "evolved once".into());
    metadata.validate()?;
    txn.operation("ALTER TABLE")
        .parameter(
            "change",
            "add column country; partition by country, month(ts)",
        )
        .read_whole_table()
        .action(Action::Metadata(Box::new(metadata)))
        .commit()
        .await?;
    // v3: under spec 1, schema 1 (November 2023 is month 646)
    let mut b = data_file(
        "data/country=DE/ts_month=2023-11/b.parquet",
        20,
        900,
        START_MS,
    );
    b.spec_id = 1;
    b.schema_id = Some(1);
    b.partition_values.insert(1001, json!("DE"));
    b.partition_values.insert(1002, json!(646));
    b.stats.insert(4, stats(json!("DE"), json!("DE"), 0));
    // v4: under spec 0 again, schema 1; and a null partition value under spec 1
    let mut c = data_file(
        "data/ts_day=2023-11-16/c.parquet",
        30,
        1100,
        START_MS + 1000,
    );
    c.schema_id = Some(1);
    c.partition_values.insert(1000, json!(DAY0 + 2));
    let mut n = data_file(
        "data/country=null/ts_month=2023-11/n.parquet",
        3,
        300,
        START_MS,
    );
    n.spec_id = 1;
    n.schema_id = Some(1);
    n.partition_values.insert(1001, Value::Null);
    n.partition_values.insert(1002, json!(646));
    n.stats.insert(
        4,
        ColumnStats {
            null_count: Some(3),
            ..ColumnStats::default()
        },
    );
    t.transaction()
        .await?
        .operation("APPEND")
        .add_file(b)
        .commit()
        .await?;
    t.transaction()
        .await?
        .operation("APPEND")
        .add_file(c)
        .add_file(n)
        .commit()
        .await?;
    // v5: back to version 1 (schema 0, default spec 0; spec 1 stays known)
    t.restore(1).await?;
    // v6
    let mut d = data_file(
        "data/ts_day=2023-11-17/d.parquet",
        40,
        1300,
        START_MS + 2000,
    );
    d.partition_values.insert(1000, json!(DAY0 + 3));
    t.transaction()
        .await?
        .operation("APPEND")
        .add_file(d)
        .commit()
        .await?;
    Ok(())
}

fn relocate(path: &str, tier: &str, base: Option<&str>, class: Option<&str>) -> Action {
    Action::Relocate(Relocate {
        path: path.to_string(),
        tier: tier.to_string(),
        location: base.map(|b| format!("{b}/{path}")),
        storage_class: class.map(str::to_string),
    })
}

/// `relocated`: three tiers (hot at the root, warm and cold elsewhere); active and removed
/// files move, one moves back to the root, and a removed cold file stays findable.
async fn generate_relocated(dir: &Path) -> Result<(), BoxError> {
    let t = create_table(dir, "relocated", CreateTable::new(simple_schema()?)).await?;
    // v1: define the tiers
    let txn = t.transaction().await?;
    let mut metadata: Metadata = txn.base().metadata().clone();
    metadata.tiers = vec![
        TierDef {
            name: "hot".into(),
            location: None,
            storage_class: None,
        },
        TierDef {
            name: "warm".into(),
            location: Some(WARM_TIER.into()),
            storage_class: Some("STANDARD_IA".into()),
        },
        TierDef {
            name: "cold".into(),
            location: Some(COLD_TIER.into()),
            storage_class: Some("GLACIER".into()),
        },
    ];
    metadata.default_tier = Some("hot".into());
    metadata.validate()?;
    txn.operation("SET TIERS")
        .read_whole_table()
        .action(Action::Metadata(Box::new(metadata)))
        .commit()
        .await?;
    // v2
    t.transaction()
        .await?
        .operation("APPEND")
        .add_file(simple_file("a", 1, 10))
        .add_file(simple_file("b", 11, 10))
        .add_file(simple_file("c", 21, 10))
        .commit()
        .await?;
    // v3
    t.transaction()
        .await?
        .operation("DELETE")
        .remove_file("data/b.parquet")?
        .commit()
        .await?;
    // v4: an active and a removed file move to the cold tier
    t.transaction()
        .await?
        .operation("TIER MOVE")
        .parameter("target", "cold")
        .action(relocate(
            "data/a.parquet",
            "cold",
            Some(COLD_TIER),
            Some("GLACIER"),
        ))
        .action(relocate(
            "data/b.parquet",
            "cold",
            Some(COLD_TIER),
            Some("GLACIER"),
        ))
        .commit()
        .await?;
    // v5
    t.transaction()
        .await?
        .operation("APPEND")
        .add_file(simple_file("d", 31, 10))
        .commit()
        .await?;
    // v6
    t.transaction()
        .await?
        .operation("TIER MOVE")
        .action(relocate(
            "data/c.parquet",
            "warm",
            Some(WARM_TIER),
            Some("STANDARD_IA"),
        ))
        .action(relocate(
            "data/d.parquet",
            "cold",
            Some(COLD_TIER),
            Some("GLACIER"),
        ))
        .commit()
        .await?;
    // v7: `d` comes back to the table root
    t.transaction()
        .await?
        .operation("TIER MOVE")
        .parameter("target", "hot")
        .action(relocate("data/d.parquet", "hot", None, None))
        .commit()
        .await?;
    // v8: a cold file is removed (its tombstone keeps the cold location)
    t.transaction()
        .await?
        .operation("DELETE")
        .remove_file("data/a.parquet")?
        .commit()
        .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Description
// ---------------------------------------------------------------------------------------------

/// `location` with the table URI `root` replaced by [`ROOT_PLACEHOLDER`].
fn machine_independent(location: &str, root: &str) -> String {
    if location == root {
        return ROOT_PLACEHOLDER.to_string();
    }
    match location.strip_prefix(root) {
        Some(rest) if rest.starts_with('/') => format!("{ROOT_PLACEHOLDER}{rest}"),
        _ => location.to_string(),
    }
}

fn describe_stats(stats: &BTreeMap<i32, ColumnStats>) -> Value {
    let mut out = serde_json::Map::new();
    for (id, s) in stats {
        out.insert(
            id.to_string(),
            json!({
                "min": s.min,
                "max": s.max,
                "nullCount": s.null_count,
                "nanCount": s.nan_count,
            }),
        );
    }
    Value::Object(out)
}

fn describe_file(s: &Snapshot, f: &AddFile, root: &str) -> Value {
    let partition: serde_json::Map<String, Value> = f
        .partition_values
        .iter()
        .map(|(id, v)| (id.to_string(), v.clone()))
        .collect();
    json!({
        "path": f.path,
        "physicalLocation": machine_independent(&s.physical_location(f), root),
        "tier": f.tier,
        "storageClass": f.storage_class,
        "recordCount": f.record_count,
        "size": f.size,
        "modificationTime": f.modification_time,
        "dataChange": f.data_change,
        "specId": f.spec_id,
        "schemaId": f.schema_id,
        "partitionValues": partition,
        "stats": describe_stats(&f.stats),
    })
}

fn describe_commit_info(info: &CommitInfo) -> Value {
    json!({
        "timestamp": info.timestamp,
        "txnId": info.txn_id,
        "operation": info.operation,
        "operationParameters": info.operation_parameters,
        "engine": info.engine,
        "readVersion": info.read_version,
        "isolationLevel": info.isolation_level.map(|l| l.to_string()),
        "isBlindAppend": info.is_blind_append,
        "actionCount": info.action_count,
        "userMetadata": info.user_metadata,
        "operationMetrics": info.operation_metrics,
    })
}

fn describe_snapshot(s: &Snapshot, root: &str) -> Result<Value, BoxError> {
    let m = s.metadata();
    let p = s.protocol();
    let tiers: Vec<Value> = m
        .tiers
        .iter()
        .map(|t| {
            json!({
                "name": t.name,
                "location": t.location.as_deref().map(|l| machine_independent(l, root)),
                "storageClass": t.storage_class,
            })
        })
        .collect();
    let apps: Vec<Value> = s
        .app_transactions()
        .values()
        .map(|a| json!({"appId": a.app_id, "version": a.version, "lastUpdated": a.last_updated}))
        .collect();
    let files: Vec<Value> = s
        .files()
        .values()
        .map(|f| describe_file(s, f, root))
        .collect();
    let tombstones: Vec<Value> = s
        .state()
        .tombstones()
        .values()
        .map(|r| {
            json!({
                "path": r.path,
                "deletionTimestamp": r.deletion_timestamp,
                "dataChange": r.data_change,
                "recordCount": r.record_count,
                "size": r.size,
            })
        })
        .collect();
    Ok(json!({
        "version": s.version(),
        "timestamp": s.timestamp(),
        "operation": s.commit_info().operation,
        "commitInfo": describe_commit_info(s.commit_info()),
        "protocol": {
            "minReaderVersion": p.min_reader_version,
            "minWriterVersion": p.min_writer_version,
            "readerFeatures": p.reader_features,
            "writerFeatures": p.writer_features,
        },
        "tableId": m.table_id,
        "name": m.name,
        "description": m.description,
        "createdTime": m.created_time,
        "schema": serde_json::to_value(s.schema())?,
        "partitionSpecs": serde_json::to_value(&m.partition_specs)?,
        "defaultSpecId": m.default_spec_id,
        "lastColumnId": m.last_column_id,
        "lastPartitionId": m.last_partition_id,
        "properties": m.properties,
        "tiers": tiers,
        "defaultTier": m.default_tier_name(),
        "tags": s.tags(),
        "appTransactions": apps,
        "recordCount": s.record_count(),
        "sizeInBytes": s.size_in_bytes(),
        "files": files,
        "tombstones": tombstones,
    }))
}

fn describe_history(e: &HistoryEntry) -> Value {
    json!({
        "version": e.version,
        "timestamp": e.info.timestamp,
        "operation": e.info.operation,
        "filesAdded": e.files_added,
        "filesRemoved": e.files_removed,
        "rowsAdded": e.rows_added,
        "rowsRemoved": e.rows_removed,
        "bytesAdded": e.bytes_added,
        "bytesRemoved": e.bytes_removed,
        "filesRelocated": e.files_relocated,
    })
}

/// The canonical description of the table at `uri` (see the module documentation).
pub async fn describe(uri: &str) -> Result<Value, BoxError> {
    let table = Table::open(uri).await?;
    describe_table(&table).await
}

/// The canonical description of an open table: every version, the history, and time travel by
/// timestamp (before the table, at and between versions, after the latest) and by tag (every
/// tag any version had, plus an unknown one). Table URIs are replaced by [`ROOT_PLACEHOLDER`].
pub async fn describe_table(table: &Table) -> Result<Value, BoxError> {
    let latest = table.snapshot(&SnapshotSelector::Latest).await?;
    let root = latest.table_uri().to_string();
    let mut versions = Vec::new();
    let mut stamps = Vec::new();
    let mut tag_names = BTreeSet::new();
    for v in 0..=latest.version() {
        let s = table.snapshot(&SnapshotSelector::Version(v)).await?;
        if s.version() != v {
            return Err(format!("asked for version {v}, got {}", s.version()).into());
        }
        stamps.push(s.timestamp());
        tag_names.extend(s.tags().keys().cloned());
        versions.push(describe_snapshot(&s, &root)?);
    }
    let history: Vec<Value> = table
        .history(None)
        .await?
        .iter()
        .map(describe_history)
        .collect();

    let mut times = BTreeSet::new();
    if let (Some(first), Some(last)) = (stamps.first(), stamps.last()) {
        times.insert(first - 1);
        times.insert(last + 86_400_000);
    }
    for (i, t) in stamps.iter().enumerate() {
        times.insert(*t);
        if let Some(next) = stamps.get(i + 1) {
            times.insert(t + (next - t) / 2);
        }
    }
    let mut by_timestamp = Vec::new();
    for t in times {
        let resolved = match table.snapshot(&SnapshotSelector::Timestamp(t)).await {
            Ok(s) => json!({"timestamp": t, "version": s.version()}),
            Err(strata_table::Error::TimestampBeforeTable { .. }) => {
                json!({"timestamp": t, "error": "timestampBeforeTable"})
            }
            Err(e) => return Err(e.into()),
        };
        by_timestamp.push(resolved);
    }
    tag_names.insert("no-such-tag".to_string());
    let mut by_tag = Vec::new();
    for name in tag_names {
        let resolved = match table.snapshot(&SnapshotSelector::Tag(name.clone())).await {
            Ok(s) => json!({"tag": name, "version": s.version(), "recordCount": s.record_count()}),
            Err(strata_table::Error::TagNotFound { .. }) => {
                json!({"tag": name, "error": "tagNotFound"})
            }
            Err(e) => return Err(e.into()),
        };
        by_tag.push(resolved);
    }
    Ok(json!({
        "latestVersion": latest.version(),
        "versions": versions,
        "history": history,
        "timeTravel": {
            "byTimestamp": by_timestamp,
            "byTag": by_tag,
        },
    }))
}

/// The descriptions of the golden tables under `dir`, by name.
pub async fn describe_all(dir: &Path) -> Result<BTreeMap<String, Value>, BoxError> {
    let mut out = BTreeMap::new();
    for name in GOLDEN_TABLES {
        let table_dir = dir.join(name);
        out.insert(name.to_string(), describe(path_str(&table_dir)?).await?);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Checksums and verification
// ---------------------------------------------------------------------------------------------

/// Relative `/`-separated paths of every file under `root`, sorted, except `CHECKSUMS`.
fn list_files(root: &Path) -> std::io::Result<Vec<String>> {
    fn walk(dir: &Path, prefix: &str, out: &mut Vec<String>) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let rel = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            if entry.file_type()?.is_dir() {
                walk(&entry.path(), &rel, out)?;
            } else {
                out.push(rel);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(root, "", &mut out)?;
    out.retain(|p| p != CHECKSUMS_FILE);
    out.sort();
    Ok(out)
}

fn sha256_hex(path: &Path) -> std::io::Result<String> {
    Ok(hex::encode(Sha256::digest(std::fs::read(path)?)))
}

/// The `CHECKSUMS` text of a table directory as it is now: one `<sha256 hex>  <relative path>`
/// line per file (every file but `CHECKSUMS`), sorted by path.
pub fn checksums(table_dir: &Path) -> std::io::Result<String> {
    let mut out = String::new();
    for rel in list_files(table_dir)? {
        let hash = sha256_hex(&table_dir.join(&rel))?;
        out.push_str(&format!("{hash}  {rel}\n"));
    }
    Ok(out)
}

fn parse_checksums(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let (hash, path) = line
            .split_once("  ")
            .ok_or_else(|| format!("line {} is not `<sha256>  <path>`", i + 1))?;
        if out.insert(path.to_string(), hash.to_string()).is_some() {
            return Err(format!("line {}: `{path}` is listed twice", i + 1));
        }
    }
    Ok(out)
}

/// Checks the files of one table directory against its `CHECKSUMS`.
fn verify_checksums(table_dir: &Path) -> Result<(), String> {
    let sums_path = table_dir.join(CHECKSUMS_FILE);
    let text = std::fs::read_to_string(&sums_path)
        .map_err(|e| format!("cannot read {CHECKSUMS_FILE}: {e}"))?;
    let listed = parse_checksums(&text).map_err(|e| format!("{CHECKSUMS_FILE}: {e}"))?;
    let present = list_files(table_dir).map_err(|e| format!("cannot list the files: {e}"))?;
    let mut problems = Vec::new();
    for rel in &present {
        match listed.get(rel) {
            None => problems.push(format!("`{rel}` is not in {CHECKSUMS_FILE} (extra file)")),
            Some(expected) => {
                let actual = sha256_hex(&table_dir.join(rel))
                    .map_err(|e| format!("cannot read `{rel}`: {e}"))?;
                if &actual != expected {
                    problems.push(format!(
                        "`{rel}` changed: sha256 {actual}, {CHECKSUMS_FILE} says {expected}"
                    ));
                }
            }
        }
    }
    let present: BTreeSet<&String> = present.iter().collect();
    for rel in listed.keys() {
        if !present.contains(rel) {
            problems.push(format!("`{rel}` is missing"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

fn render(v: Option<&Value>) -> String {
    const MAX: usize = 200;
    let Some(v) = v else {
        return "nothing".into();
    };
    let s = v.to_string();
    if s.chars().count() > MAX {
        let cut: String = s.chars().take(MAX).collect();
        format!("{cut}…")
    } else {
        s
    }
}

fn child_path(path: &str, key: &str) -> String {
    let plain = key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        format!("{path}.{key}")
    } else {
        format!("{path}[{}]", Value::from(key))
    }
}

/// The first place (JSON path from `$`) where `actual` differs from `expected`, with both
/// values; `None` when they are equal.
pub fn first_difference(expected: &Value, actual: &Value) -> Option<String> {
    fn diff(path: &str, e: &Value, a: &Value) -> Option<String> {
        match (e, a) {
            (Value::Object(eo), Value::Object(ao)) => {
                for (k, ev) in eo {
                    let p = child_path(path, k);
                    match ao.get(k) {
                        Some(av) => {
                            if let Some(d) = diff(&p, ev, av) {
                                return Some(d);
                            }
                        }
                        None => {
                            return Some(format!(
                                "{p}: expected {}, read nothing",
                                render(Some(ev))
                            ));
                        }
                    }
                }
                ao.iter()
                    .find(|(k, _)| !eo.contains_key(*k))
                    .map(|(k, av)| {
                        format!(
                            "{}: expected nothing, read {}",
                            child_path(path, k),
                            render(Some(av))
                        )
                    })
            }
            (Value::Array(ea), Value::Array(aa)) => {
                for (i, (ev, av)) in ea.iter().zip(aa).enumerate() {
                    if let Some(d) = diff(&format!("{path}[{i}]"), ev, av) {
                        return Some(d);
                    }
                }
                if ea.len() != aa.len() {
                    let i = ea.len().min(aa.len());
                    return Some(format!(
                        "{path}[{i}]: expected {}, read {} (expected {} elements, read {})",
                        render(ea.get(i)),
                        render(aa.get(i)),
                        ea.len(),
                        aa.len()
                    ));
                }
                None
            }
            _ if e == a => None,
            _ => Some(format!(
                "{path}: expected {}, read {}",
                render(Some(e)),
                render(Some(a))
            )),
        }
    }
    diff("$", expected, actual)
}

/// Verifies one golden table directory: its files against `CHECKSUMS`, then its reads against
/// `expected.json`.
pub async fn verify_table(table_dir: &Path) -> Result<(), String> {
    if !table_dir.is_dir() {
        return Err("the table directory is missing".into());
    }
    verify_checksums(table_dir)?;
    let text = std::fs::read_to_string(table_dir.join(EXPECTED_FILE))
        .map_err(|e| format!("cannot read {EXPECTED_FILE}: {e}"))?;
    let expected: Value =
        serde_json::from_str(&text).map_err(|e| format!("{EXPECTED_FILE} is not JSON: {e}"))?;
    let uri = table_dir
        .to_str()
        .ok_or_else(|| format!("`{}` is not valid UTF-8", table_dir.display()))?;
    let actual = describe(uri)
        .await
        .map_err(|e| format!("the table cannot be read: {e}"))?;
    match first_difference(&expected, &actual) {
        None => Ok(()),
        Some(d) => Err(format!("reads differently from {EXPECTED_FILE} at {d}")),
    }
}

/// Verifies every golden table under `dir` (each of [`GOLDEN_TABLES`] must be there, and any
/// other table directory is verified too). A failure means a compatibility break.
pub async fn verify(dir: &Path) -> Result<(), String> {
    let mut names: BTreeSet<String> = GOLDEN_TABLES.iter().map(|n| n.to_string()).collect();
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot list `{}`: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot list `{}`: {e}", dir.display()))?;
        if entry.path().is_dir() {
            names.insert(entry.file_name().to_string_lossy().into_owned());
        }
    }
    let mut failures = Vec::new();
    for name in &names {
        if let Err(e) = verify_table(&dir.join(name)).await {
            failures.push(format!("golden table `{name}`: {e}"));
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n"))
    }
}

/// Copies the directory tree `from` to `to` (created if needed).
pub fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target: PathBuf = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_difference_names_the_json_path() {
        let e = json!({"a": [1, {"b.c": 2}], "d": 1});
        assert_eq!(first_difference(&e, &e), None);
        let a = json!({"a": [1, {"b.c": 3}], "d": 1});
        assert_eq!(
            first_difference(&e, &a).unwrap(),
            "$.a[1][\"b.c\"]: expected 2, read 3"
        );
        let a = json!({"a": [1], "d": 1});
        assert!(
            first_difference(&e, &a)
                .unwrap()
                .starts_with("$.a[1]: expected")
        );
        let a = json!({"a": [1, {"b.c": 2}], "d": 1, "x": true});
        assert_eq!(
            first_difference(&e, &a).unwrap(),
            "$.x: expected nothing, read true"
        );
    }

    #[test]
    fn locations_lose_the_machine_specific_root() {
        let root = "file:///srv/golden/basic";
        assert_eq!(
            machine_independent("file:///srv/golden/basic/data/a.parquet", root),
            "<root>/data/a.parquet"
        );
        assert_eq!(machine_independent(root, root), "<root>");
        assert_eq!(
            machine_independent("file:///srv/golden/basic2/x", root),
            "file:///srv/golden/basic2/x"
        );
        assert_eq!(machine_independent("memory://c/x", root), "memory://c/x");
    }
}
