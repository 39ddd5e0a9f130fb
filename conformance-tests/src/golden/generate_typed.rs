//! The `typed` golden table: typed checkpoints (SPEC §10.2.2).

#[allow(unused_imports)]
use super::*;

/// `typed` (added 2026-12-07): a table with the `typedCheckpoints` feature, checkpoint
/// interval 3: checkpoints at 3 and 6 whose `add` rows are typed, holding statistics of every
/// bound kind (integers, a negative one, strings with escapes, floats, booleans), null and
/// non-null partition values, a file in another tier with a storage class, and a file whose
/// size does not fit the typed columns (kept as a JSON line); commits after the last one.
///
/// `checksummed` (added 2026-12-07) is the same table written since checkpoints carry their
/// checksum (SPEC §10.2.5); `typed` keeps the checkpoints written before, without one.
pub(super) async fn generate_typed(dir: &Path, name: &str) -> Result<(), BoxError> {
    use strata_format::StatValue;
    let schema = Schema::new(
        0,
        vec![
            StructField::required(1, "id", PrimitiveType::Int64),
            StructField::optional(2, "name", PrimitiveType::String),
            StructField::optional(3, "score", PrimitiveType::Float64),
            StructField::optional(4, "ok", PrimitiveType::Boolean),
            StructField::optional(5, "region", PrimitiveType::String),
        ],
    )?;
    let spec = PartitionSpec {
        spec_id: 0,
        fields: vec![PartitionField {
            field_id: 1000,
            source_id: 5,
            name: "region".into(),
            transform: Transform::Identity,
        }],
    };
    let mut create = CreateTable::new(schema)
        .with_partition_spec(spec)
        .with_property(PROP_CHECKPOINT_INTERVAL, "3")
        .with_deletion_vectors(false);
    create.name = Some(name.into());
    let path = dir.join(name);
    let location = TableLocation::parse(path_str(&path)?)?;
    let t = Table::create_with(location, create, options()).await?;
    let file = |name: &str, region: Option<&str>, first: i64, rows: u64| {
        let dir = match region {
            Some(r) => format!("region={r}"),
            None => "region=__HIVE_DEFAULT_PARTITION__".into(),
        };
        let mut f = data_file(
            &format!("data/{dir}/{name}.parquet"),
            rows,
            700 + rows * 9,
            START_MS - 20_000 + first,
        );
        f.partition_values
            .insert(1000, region.map_or(Value::Null, |r| json!(r)));
        f.stats
            .insert(1, stats(json!(first), json!(first + rows as i64 - 1), 0));
        f.stats
            .insert(2, stats(json!("a \"quoted\" é"), json!("z\\"), 2));
        let mut score = stats(json!(-0.5), json!(1e300), 1);
        score.nan_count = Some(3);
        f.stats.insert(3, score);
        f.stats.insert(4, stats(json!(false), json!(true), 0));
        f.stats.insert(
            5,
            ColumnStats {
                min: region.map(StatValue::from),
                max: region.map(StatValue::from),
                null_count: Some(if region.is_some() { 0 } else { rows }),
                nan_count: None,
            },
        );
        f
    };
    // v1, v2, v3 (checkpoint)
    for (i, (name, region)) in [("a", Some("eu")), ("b", None), ("c", Some("us"))]
        .into_iter()
        .enumerate()
    {
        let first = -10 + 100 * i as i64;
        t.transaction()
            .await?
            .operation("APPEND")
            .add_file(file(name, region, first, 10 + i as u64))
            .commit()
            .await?;
    }
    // v4: a file in the cold tier with a storage class, v5: one too large for the typed columns
    let mut cold = file("d", Some("eu"), 400, 7);
    cold.tier = "cold".into();
    cold.location = Some("s3://golden-typed-cold/typed/data/region=eu/d.parquet".into());
    cold.storage_class = Some("STANDARD_IA".into());
    cold.schema_id = None;
    let txn = t.transaction().await?;
    let mut metadata = txn.base().metadata().clone();
    metadata.tiers = vec![
        TierDef {
            name: "hot".into(),
            location: None,
            storage_class: None,
        },
        TierDef {
            name: "cold".into(),
            location: Some("s3://golden-typed-cold/typed".into()),
            storage_class: Some("STANDARD_IA".into()),
        },
    ];
    metadata.default_tier = Some("hot".into());
    txn.operation("SET TIERS")
        .action(Action::Metadata(Box::new(metadata)))
        .commit()
        .await?;
    t.transaction()
        .await?
        .operation("APPEND")
        .add_file(cold)
        .commit()
        .await?;
    // v6 (checkpoint): a huge file (its add stays a JSON line) and a remove
    let mut huge = file("e", Some("us"), 500, 1);
    huge.size = 1 << 63;
    let txn = t.transaction().await?;
    let base = txn.base().clone();
    txn.operation("WRITE")
        .read_file("data/region=eu/a.parquet")
        .action(remove_of(
            &base,
            "data/region=eu/a.parquet",
            true,
            START_MS + 50_000,
        )?)
        .add_file(huge)
        .commit()
        .await?;
    // v7
    t.transaction()
        .await?
        .operation("APPEND")
        .add_file(file("f", None, 600, 3))
        .commit()
        .await?;
    Ok(())
}
