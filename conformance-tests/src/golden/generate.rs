//! Deterministic generation of the golden tables.

#[allow(unused_imports)]
use super::*;

// ---------------------------------------------------------------------------------------------
// Generation
// ---------------------------------------------------------------------------------------------

/// Options every golden table is written with: a stepping clock, sequential ids and a fixed
/// engine string, so the bytes are identical on every run, whatever the crate version.
pub(super) fn options() -> TableOptions {
    let mut options = TableOptions::default()
        .with_clock(Arc::new(SteppingClock::new(START_MS, STEP_MS)))
        .with_ids(Arc::new(SequentialIds::default()));
    options.engine = "strata-golden/format-1".into();
    options
}

pub(super) fn path_str(path: &Path) -> Result<&str, BoxError> {
    path.to_str()
        .ok_or_else(|| format!("`{}` is not valid UTF-8", path.display()).into())
}

pub(super) async fn create_table(
    dir: &Path,
    name: &str,
    create: CreateTable,
) -> Result<Table, BoxError> {
    let path = dir.join(name);
    let location = TableLocation::parse(path_str(&path)?)?;
    // The golden tables predate deletion vectors and typed checkpoints: they stay tables
    // without either feature (`vectors` and `typed` are written with theirs).
    let create = create
        .with_deletion_vectors(false)
        .with_typed_checkpoints(false);
    Ok(Table::create_with(location, create, options()).await?)
}

/// Writes every golden table into `dir/<name>/` (the directories must not hold tables yet).
pub async fn generate(dir: &Path) -> Result<(), BoxError> {
    std::fs::create_dir_all(dir)?;
    generate_basic(dir).await?;
    generate_checkpointed(dir).await?;
    generate_evolved(dir).await?;
    generate_relocated(dir).await?;
    generate_restored(dir).await?;
    generate_escaped(dir).await?;
    generate_vectors(dir).await?;
    generate_typed(dir, "typed").await?;
    generate_typed(dir, "checksummed").await?;
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

pub(super) fn stats(min: Value, max: Value, null_count: u64) -> ColumnStats {
    ColumnStats {
        min: Some(min.into()),
        max: Some(max.into()),
        null_count: Some(null_count),
        nan_count: None,
    }
}

/// A data file entry in the default (`hot`) tier, spec 0, schema 0, without partition values
/// or statistics.
pub(super) fn data_file(
    path: &str,
    record_count: u64,
    size: u64,
    modification_time: i64,
) -> AddFile {
    AddFile {
        path: path.to_string(),
        size,
        record_count,
        modification_time,
        data_change: true,
        spec_id: 0,
        schema_id: Some(0),
        partition_values: BTreeMap::new(),
        stats: strata_format::FileStats::new(),
        tier: "hot".to_string(),
        location: None,
        storage_class: None,
        restore: None,
        deletion_vector: None,
    }
}

/// A remove of an active file of `base` with explicit `dataChange` (the transaction's
/// `remove_file` always records a data change).
pub(super) fn remove_of(
    base: &Snapshot,
    path: &str,
    data_change: bool,
    at: i64,
) -> Result<Action, BoxError> {
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
        restore: add.restore,
        deletion_vector: add.deletion_vector.clone(),
    }))
}

/// The schema of `basic`: every primitive type, nested struct, list and map, and defaults.
pub(super) fn basic_schema() -> Result<Schema, BoxError> {
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
pub(super) fn basic_file(n: u32, day: i64, first_id: i64, rows: u64) -> AddFile {
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
            min: Some(json!(-1.5).into()),
            max: Some(json!(42.25).into()),
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
pub(super) async fn generate_basic(dir: &Path) -> Result<(), BoxError> {
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

pub(super) fn simple_schema() -> Result<Schema, BoxError> {
    Ok(Schema::new(
        0,
        vec![
            StructField::required(1, "id", PrimitiveType::Int64),
            StructField::optional(2, "name", PrimitiveType::String),
            StructField::optional(3, "ts", PrimitiveType::Timestamptz),
        ],
    )?)
}

pub(super) fn simple_file(name: &str, first_id: i64, rows: u64) -> AddFile {
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
pub(super) async fn generate_checkpointed(dir: &Path) -> Result<(), BoxError> {
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
pub(super) async fn generate_evolved(dir: &Path) -> Result<(), BoxError> {
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

pub(super) fn relocate(path: &str, tier: &str, base: Option<&str>, class: Option<&str>) -> Action {
    Action::Relocate(Relocate {
        path: path.to_string(),
        tier: tier.to_string(),
        location: base.map(|b| strata_format::location::location_uri(b, path)),
        storage_class: class.map(str::to_string),
        restore: None,
    })
}

/// `relocated`: three tiers (hot at the root, warm and cold elsewhere); active and removed
/// files move, one moves back to the root, and a removed cold file stays findable.
pub(super) async fn generate_relocated(dir: &Path) -> Result<(), BoxError> {
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
