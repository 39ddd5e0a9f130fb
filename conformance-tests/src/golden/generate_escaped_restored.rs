//! The golden tables added on 2026-12-03 (issue 14): a restore across schema changes, and
//! partition values whose paths need escaping. Written by the same deterministic generator.

#[allow(unused_imports)]
use super::generate::*;
#[allow(unused_imports)]
use super::*;

/// `restored`: a restore across schema changes (SPEC §8.5). Version 2 widens `id`, drops
/// `score`, adds `extra` and renames `name`; version 4 restores version 1: `id` stays `int64`,
/// `score` comes back with its id (§4.4 rule 8), `extra` goes, `name` is `name` again, under a
/// new schema id; version 5 appends after it.
pub(super) async fn generate_restored(dir: &Path) -> Result<(), BoxError> {
    use PrimitiveType as P;
    use strata_table::SchemaChange;
    let schema0 = Schema::new(
        0,
        vec![
            StructField::required(1, "id", P::Int32),
            StructField::optional(2, "name", P::String),
            StructField::optional(3, "score", P::Float32),
        ],
    )?;
    let t = create_table(dir, "restored", CreateTable::new(schema0)).await?;
    // v1
    let mut a = data_file("data/a.parquet", 10, 700, START_MS - 5000);
    a.stats.insert(1, stats(json!(1), json!(10), 0));
    a.stats.insert(3, stats(json!(0.5), json!(9.5), 2));
    t.transaction()
        .await?
        .operation("APPEND")
        .add_file(a)
        .commit()
        .await?;
    // v2
    t.update_schema(vec![
        SchemaChange::WidenColumn {
            path: "id".into(),
            to: P::Int64,
        },
        SchemaChange::DropColumn {
            path: "score".into(),
        },
        SchemaChange::AddColumn {
            parent: None,
            name: "extra".into(),
            data_type: P::Boolean.into(),
            required: false,
            default: None,
            doc: None,
        },
        SchemaChange::RenameColumn {
            path: "name".into(),
            new_name: "label".into(),
        },
    ])
    .await?;
    // v3
    let mut b = data_file("data/b.parquet", 20, 900, START_MS);
    b.schema_id = Some(t.latest().await?.schema().schema_id());
    b.stats.insert(1, stats(json!(11), json!(30), 0));
    t.transaction()
        .await?
        .operation("APPEND")
        .add_file(b)
        .commit()
        .await?;
    // v4
    t.restore(1).await?;
    // v5
    let mut c = data_file("data/c.parquet", 5, 300, START_MS + 1000);
    c.schema_id = Some(t.latest().await?.schema().schema_id());
    t.transaction()
        .await?
        .operation("APPEND")
        .add_file(c)
        .commit()
        .await?;
    Ok(())
}

/// `escaped`: partition values whose directory names need escaping (space, `/`, `%`, `=`, `#`,
/// `?`, non-ASCII, the empty string, null): their logical paths hold `%XX`, which object keys
/// keep verbatim (SPEC §2.3); two files move to a tier, where their locations are URI text (the
/// `%` of the path written `%25`).
pub(super) async fn generate_escaped(dir: &Path) -> Result<(), BoxError> {
    use PrimitiveType as P;
    let schema = Schema::new(
        0,
        vec![
            StructField::required(1, "id", P::Int64),
            StructField::optional(2, "region", P::String),
        ],
    )?;
    let spec = PartitionSpec {
        spec_id: 0,
        fields: vec![PartitionField {
            field_id: 1000,
            source_id: 2,
            name: "region".into(),
            transform: Transform::Identity,
        }],
    };
    let t = create_table(
        dir,
        "escaped",
        CreateTable::new(schema).with_partition_spec(spec),
    )
    .await?;
    let values = [
        json!("eu west"),
        json!("us/east"),
        json!("100%"),
        json!("a=b"),
        json!("x#y?"),
        json!("zürich"),
        json!(""),
        Value::Null,
    ];
    let mut txn = t.transaction().await?.operation("APPEND");
    let mut paths = Vec::new();
    for (i, v) in values.iter().enumerate() {
        let dir_name = strata_format::transform::partition_path_segment("region", v);
        let path = format!("data/{dir_name}/f{i}.parquet");
        let n = i as u64 + 1;
        let mut f = data_file(&path, n, 100 * n, START_MS + i as i64);
        f.partition_values.insert(1000, v.clone());
        f.stats.insert(
            2,
            if v.is_null() {
                ColumnStats {
                    null_count: Some(n),
                    ..ColumnStats::default()
                }
            } else {
                stats(v.clone(), v.clone(), 0)
            },
        );
        txn = txn.add_file(f);
        paths.push(path);
    }
    // v1
    txn.commit().await?;
    // v2
    let txn = t.transaction().await?;
    let mut metadata: Metadata = txn.base().metadata().clone();
    metadata.tiers = vec![
        TierDef {
            name: "hot".into(),
            location: None,
            storage_class: None,
        },
        TierDef {
            name: "cold".into(),
            location: Some(ESCAPED_COLD_TIER.into()),
            storage_class: Some("STANDARD_IA".into()),
        },
    ];
    metadata.default_tier = Some("hot".into());
    metadata.validate()?;
    txn.operation("SET TIERS")
        .read_whole_table()
        .action(Action::Metadata(Box::new(metadata)))
        .commit()
        .await?;
    // v3: `eu west` and `100%` move to the cold tier
    t.transaction()
        .await?
        .operation("TIER MOVE")
        .parameter("target", "cold")
        .action(relocate(
            &paths[0],
            "cold",
            Some(ESCAPED_COLD_TIER),
            Some("STANDARD_IA"),
        ))
        .action(relocate(
            &paths[2],
            "cold",
            Some(ESCAPED_COLD_TIER),
            Some("STANDARD_IA"),
        ))
        .commit()
        .await?;
    Ok(())
}

/// `vectors` (added 2026-12-06, issue 15): a table with the `deletionVectors` feature (SPEC §7).
/// Version 1 appends `a` (10 rows) and `b` (5 rows); version 2 deletes rows 1 and 3 of `a` and
/// row 0 of `b` by replacements (remove + add with a vector; both bitmaps in one object);
/// version 3 deletes row 7 of `a` too (the union, in a second object) and the other rows of `b`
/// (a plain remove, whose tombstone keeps its vector); version 4 is a checkpoint-carrying append; version 5 restores version 1:
/// `a` gets no vector again and `b` comes back.
pub(super) async fn generate_vectors(dir: &Path) -> Result<(), BoxError> {
    use strata_format::dv::{DeletionVector, DvObjectBuilder};
    let schema = Schema::new(
        0,
        vec![
            StructField::required(1, "id", PrimitiveType::Int64),
            StructField::optional(2, "name", PrimitiveType::String),
        ],
    )?;
    let path = dir.join("vectors");
    let location = TableLocation::parse(path_str(&path)?)?;
    let t = Table::create_with(
        location,
        // Written before typed checkpoints: its checkpoint stays untyped.
        CreateTable::new(schema)
            .with_property(PROP_CHECKPOINT_INTERVAL, "4")
            .with_typed_checkpoints(false),
        options(),
    )
    .await?;
    let write_object = |name: &str, vectors: &[DeletionVector]| -> Result<Vec<_>, BoxError> {
        let mut object = DvObjectBuilder::new(format!("_strata_dv/{name}.bin"));
        let descriptors = vectors.iter().map(|v| object.push(v)).collect();
        let (p, bytes) = object.finish();
        let file = path.join(&p);
        std::fs::create_dir_all(file.parent().ok_or("no parent")?)?;
        std::fs::write(file, bytes)?;
        Ok(descriptors)
    };
    // v1
    let mut a = data_file("data/a.parquet", 10, 800, START_MS - 5000);
    a.stats.insert(1, stats(json!(0), json!(9), 0));
    let mut b = data_file("data/b.parquet", 5, 400, START_MS - 4000);
    b.stats.insert(1, stats(json!(10), json!(14), 0));
    t.transaction()
        .await?
        .operation("APPEND")
        .add_file(a)
        .add_file(b)
        .commit()
        .await?;
    // v2
    let d = write_object(
        "00000000-0000-4000-8000-0000000000d1",
        &[
            DeletionVector::from_positions([1, 3]),
            DeletionVector::from_positions([0]),
        ],
    )?;
    t.transaction()
        .await?
        .operation("DELETE")
        .parameter("predicate", "id IN (1, 3, 10)")
        .metric("numDeletedRows", 3)
        .replace_deletion_vector("data/a.parquet", d[0].clone())?
        .replace_deletion_vector("data/b.parquet", d[1].clone())?
        .commit()
        .await?;
    // v3
    let d = write_object(
        "00000000-0000-4000-8000-0000000000d2",
        &[DeletionVector::from_positions([1, 3, 7])],
    )?;
    t.transaction()
        .await?
        .operation("DELETE")
        .parameter("predicate", "id = 7 OR id >= 10")
        .metric("numDeletedRows", 5)
        .replace_deletion_vector("data/a.parquet", d[0].clone())?
        .remove_file("data/b.parquet")?
        .commit()
        .await?;
    // v4 (a checkpoint at 4)
    let c = data_file("data/c.parquet", 3, 300, START_MS);
    t.transaction()
        .await?
        .operation("APPEND")
        .add_file(c)
        .commit()
        .await?;
    t.checkpoint().await?;
    // v5
    t.restore(1).await?;
    Ok(())
}
