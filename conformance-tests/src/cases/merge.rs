//! MERGE (upsert on key columns) by deletion vector and by rewrite, its clauses and errors, and
//! exactly-once row changes (application id and batch).

use std::sync::Arc;

use arrow::array::{Int64Array, RecordBatch, StringArray};
use strata_format::expr::Expr;
use strata_table::{
    CreateTable, DeleteOptions, Error, Merge, RowRewrite, SnapshotSelector, Table, TableOptions,
    WhenMatched, WhenNotMatched, WhenNotMatchedBySource, WriteOptions,
};

use super::data::three_file_table;
use crate::backends::{CaseResult, TestBackend};
use crate::{check, check_eq};

type Rows = Vec<(Option<i64>, Option<String>)>;

fn batch(target: &arrow::datatypes::SchemaRef, rows: &[(Option<i64>, &str)]) -> RecordBatch {
    let ids: Int64Array = rows.iter().map(|r| r.0).collect();
    let v: StringArray = rows.iter().map(|r| Some(r.1)).collect();
    RecordBatch::try_new(target.clone(), vec![Arc::new(ids), Arc::new(v)])
        .unwrap_or_else(|_| RecordBatch::new_empty(target.clone()))
}

/// Sorted `(id, v)` rows of a version.
async fn rows_at(
    t: &Table,
    sel: SnapshotSelector,
) -> Result<Rows, Box<dyn std::error::Error + Send + Sync>> {
    let batches = t.scan().snapshot(sel).plan().await?.collect().await?;
    let mut out = Vec::new();
    for b in &batches {
        let ids = b
            .column(0)
            .as_any()
            .downcast_ref::<Int64Array>()
            .ok_or("id is not int64")?;
        let v = arrow::compute::cast(b.column(1), &arrow::datatypes::DataType::Utf8)?;
        let v = v
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or("v is not a string")?;
        for i in 0..b.num_rows() {
            out.push((
                (!arrow::array::Array::is_null(ids, i)).then(|| ids.value(i)),
                (!arrow::array::Array::is_null(v, i)).then(|| v.value(i).to_string()),
            ));
        }
    }
    out.sort();
    Ok(out)
}

fn named(ids: impl IntoIterator<Item = i64>, f: impl Fn(i64) -> String) -> Rows {
    let mut out: Rows = ids.into_iter().map(|i| (Some(i), Some(f(i)))).collect();
    out.sort();
    out
}

/// An upsert updates matched rows and inserts the others, with vectors (files marked, none
/// rewritten) and, on a table without them, by rewriting the files: the same rows either way;
/// the version before still has the old rows.
pub async fn merge_upserts_by_vector_and_by_rewrite(b: &TestBackend) -> CaseResult {
    let (t, target) = three_file_table(b).await?;
    let cow = Table::create_with(
        b.location("cow")?,
        CreateTable::new(t.latest().await?.schema().clone()).with_deletion_vectors(false),
        TableOptions::default(),
    )
    .await?;
    for f in 0..3i64 {
        let rows: Vec<(Option<i64>, String)> = (f * 10..f * 10 + 10)
            .map(|i| (Some(i), format!("v{i}")))
            .collect();
        let refs: Vec<(Option<i64>, &str)> = rows.iter().map(|(i, s)| (*i, s.as_str())).collect();
        cow.append([batch(&target, &refs)]).await?;
    }
    let source = batch(
        &target,
        &[
            (Some(5), "new5"),
            (Some(15), "new15"),
            (Some(25), "new25"),
            (Some(40), "new40"),
            (Some(41), "new41"),
        ],
    );
    let mut expected = named(0..30, |i| format!("v{i}"));
    for (id, v) in [(5, "new5"), (15, "new15"), (25, "new25")] {
        expected.retain(|r| r.0 != Some(id));
        expected.push((Some(id), Some(v.into())));
    }
    expected.push((Some(40), Some("new40".into())));
    expected.push((Some(41), Some("new41".into())));
    expected.sort();
    for (table, vectors) in [(&t, true), (&cow, false)] {
        let before = table.latest().await?.version();
        let r = table
            .merge(
                futures::stream::iter([Ok(source.clone())]),
                Merge::on(["id"]),
            )
            .await?;
        check_eq!(
            (
                r.source_rows,
                r.updated_rows,
                r.inserted_rows,
                r.deleted_rows
            ),
            (5, 3, 2, 0)
        );
        let c = r.commit.ok_or("the merge commits")?;
        let info = c.snapshot.commit_info();
        check_eq!(info.operation, "MERGE");
        check_eq!(info.operation_metrics.get("numTargetRowsUpdated"), Some(&3));
        check_eq!(
            info.operation_metrics.get("numTargetRowsInserted"),
            Some(&2)
        );
        let marked = c
            .snapshot
            .files()
            .values()
            .filter(|f| f.deletion_vector.is_some())
            .count();
        if vectors {
            check_eq!(marked, 3);
            check_eq!(info.operation_metrics.get("numRemovedFiles"), Some(&0));
        } else {
            check_eq!(marked, 0);
            check_eq!(info.operation_metrics.get("numRemovedFiles"), Some(&3));
            check_eq!(info.operation_metrics.get("numTargetRowsCopied"), Some(&27));
        }
        check_eq!(c.snapshot.record_count(), 32);
        check_eq!(rows_at(table, SnapshotSelector::Latest).await?, expected);
        check_eq!(
            rows_at(table, SnapshotSelector::Version(before)).await?,
            named(0..30, |i| format!("v{i}"))
        );
    }
    Ok(())
}

/// Each clause does what it says; a merge that changes nothing commits nothing; NULL keys
/// never match; two source rows with one key, or an unknown key column, fail before anything
/// is written.
pub async fn merge_clauses_nulls_and_errors(b: &TestBackend) -> CaseResult {
    let schema = strata_format::compact::parse_schema("id:int64?,v:string?")?;
    let t = Table::create_with(
        b.location("m")?,
        CreateTable::new(schema.clone()),
        TableOptions::default(),
    )
    .await?;
    let target = strata_table::arrow_schema::to_arrow_schema(&schema)?;
    t.append([batch(
        &target,
        &[(Some(1), "a"), (Some(2), "b"), (Some(3), "c"), (None, "n")],
    )])
    .await?;
    let src = |rows: &[(Option<i64>, &str)]| futures::stream::iter([Ok(batch(&target, rows))]);
    let v0 = t.latest().await?.version();

    // Matched rows deleted, unmatched source rows ignored.
    let r = t
        .merge(
            src(&[(Some(2), "x"), (Some(9), "y")]),
            Merge::on(["id"])
                .when_matched(WhenMatched::Delete)
                .when_not_matched(WhenNotMatched::Ignore),
        )
        .await?;
    check_eq!((r.deleted_rows, r.inserted_rows), (1, 0));
    check_eq!(
        rows_at(&t, SnapshotSelector::Latest).await?,
        vec![
            (None, Some("n".into())),
            (Some(1), Some("a".into())),
            (Some(3), Some("c".into()))
        ]
    );
    // Nothing to change: no commit.
    let before = t.latest().await?.version();
    let r = t
        .merge(
            src(&[(Some(1), "z")]),
            Merge::on(["id"])
                .when_matched(WhenMatched::Ignore)
                .when_not_matched(WhenNotMatched::Ignore),
        )
        .await?;
    check!(r.commit.is_none(), "nothing changed: {r:?}");
    check_eq!(t.latest().await?.version(), before);
    // A NULL source key matches nothing (inserted); the NULL target row is not updated.
    let r = t
        .merge(src(&[(None, "m"), (Some(3), "C")]), Merge::on(["id"]))
        .await?;
    check_eq!((r.updated_rows, r.inserted_rows), (1, 1));
    check_eq!(
        rows_at(&t, SnapshotSelector::Latest).await?,
        vec![
            (None, Some("m".into())),
            (None, Some("n".into())),
            (Some(1), Some("a".into())),
            (Some(3), Some("C".into()))
        ]
    );
    // Target rows the source does not match are deleted, NULL keys included.
    let r = t
        .merge(
            src(&[(Some(1), "A"), (Some(7), "g")]),
            Merge::on(["id"]).when_not_matched_by_source(WhenNotMatchedBySource::Delete),
        )
        .await?;
    check_eq!((r.updated_rows, r.inserted_rows, r.deleted_rows), (1, 1, 3));
    check_eq!(
        rows_at(&t, SnapshotSelector::Latest).await?,
        vec![(Some(1), Some("A".into())), (Some(7), Some("g".into()))]
    );
    // A string key, and a key of two columns, match through Arrow's row format.
    let r = t
        .merge(src(&[(Some(8), "g"), (Some(9), "h")]), Merge::on(["v"]))
        .await?;
    check_eq!((r.updated_rows, r.inserted_rows), (1, 1));
    let r = t
        .merge(
            src(&[(Some(8), "g"), (Some(1), "g")]),
            Merge::on(["id", "v"]).when_matched(WhenMatched::Delete),
        )
        .await?;
    check_eq!((r.deleted_rows, r.inserted_rows), (1, 1));
    check_eq!(
        rows_at(&t, SnapshotSelector::Latest).await?,
        vec![
            (Some(1), Some("A".into())),
            (Some(1), Some("g".into())),
            (Some(9), Some("h".into()))
        ]
    );
    let err = t
        .merge(src(&[(Some(2), "q"), (Some(3), "q")]), Merge::on(["v"]))
        .await
        .err()
        .ok_or("a duplicate string key must fail")?;
    check!(err.to_string().contains("v = q"), "{err}");
    // Errors leave the table as it was.
    let at = t.latest().await?.version();
    let err = t
        .merge(src(&[(Some(1), "p"), (Some(1), "q")]), Merge::on(["id"]))
        .await
        .err()
        .ok_or("a duplicate source key must fail")?;
    check!(
        matches!(err, Error::AmbiguousMergeSource { .. }) && err.to_string().contains("id = 1"),
        "{err}"
    );
    let err = t
        .merge(src(&[(Some(1), "p")]), Merge::on(["nope"]))
        .await
        .err()
        .ok_or("an unknown key must fail")?;
    check!(err.to_string().contains("merge key `nope`"), "{err}");
    check_eq!(t.latest().await?.version(), at);
    check!(at > v0, "merges committed");
    Ok(())
}

/// Deletes, updates, merges and conditional overwrites with an application id and batch commit
/// once: the same batch again (or an earlier one) is refused and changes nothing, a later one
/// commits.
pub async fn row_changes_are_exactly_once(b: &TestBackend) -> CaseResult {
    let (t, target) = three_file_table(b).await?;
    let app = "cdc";
    let refused = |r: Result<(), Error>| match r {
        Err(Error::DuplicateBatch { duplicate, .. }) => Ok(duplicate.committed),
        other => Err(format!("expected a duplicate batch, got {other:?}")),
    };
    let delete = |batch: u64| {
        let t = t.clone();
        async move {
            t.delete_with(
                Expr::parse("id = 1")?,
                DeleteOptions::default().app_transaction(app, batch),
            )
            .await
            .map(|_| ())
        }
    };
    delete(1).await?;
    let at = t.latest().await?.version();
    check_eq!(refused(delete(1).await)?, 1);
    check_eq!(t.latest().await?.app_transactions()[app].version, 1);

    let merge = |batch: u64| {
        let (t, s) = (t.clone(), batch_of(&target, 50 + batch as i64));
        async move {
            t.merge(
                futures::stream::iter([Ok(s)]),
                Merge::on(["id"]).app_transaction(app, batch),
            )
            .await
            .map(|_| ())
        }
    };
    check_eq!(refused(merge(1).await)?, 1);
    merge(2).await?;
    check_eq!(refused(merge(2).await)?, 2);

    let update = |batch: u64| {
        let t = t.clone();
        let matcher: strata_table::RowMatcher = Arc::new(|b: &RecordBatch| {
            let ids = b
                .column(0)
                .as_any()
                .downcast_ref::<Int64Array>()
                .ok_or_else(|| Error::InvalidOperation {
                    table: String::new(),
                    message: "id".into(),
                })?;
            Ok(ids.iter().map(|i| i.map(|i| i == 2)).collect())
        });
        async move {
            t.rewrite_rows(RowRewrite::delete(matcher).app_transaction(app, batch))
                .await
                .map(|_| ())
        }
    };
    check_eq!(refused(update(2).await)?, 2);
    update(3).await?;
    let overwrite = |batch: u64| {
        let (t, s) = (t.clone(), batch_of(&target, 60));
        async move {
            let options = WriteOptions {
                app_transaction: Some((app.to_string(), batch)),
                ..WriteOptions::overwrite()
            };
            t.overwrite_where_with(
                Expr::parse("id >= 60")?,
                futures::stream::iter([Ok(s)]),
                options,
            )
            .await
            .map(|_| ())
        }
    };
    check_eq!(refused(overwrite(3).await)?, 3);
    overwrite(4).await?;
    check_eq!(refused(overwrite(4).await)?, 4);
    let latest = t.latest().await?;
    check_eq!(latest.version(), at + 3);
    let ids: Vec<i64> = rows_at(&t, SnapshotSelector::Latest)
        .await?
        .into_iter()
        .filter_map(|r| r.0)
        .collect();
    let mut expected: Vec<i64> = (0..30).filter(|i| *i != 1 && *i != 2).collect();
    expected.extend([52, 60]);
    check_eq!(ids, expected);
    Ok(())
}

fn batch_of(target: &arrow::datatypes::SchemaRef, id: i64) -> RecordBatch {
    let name = format!("s{id}");
    batch(target, &[(Some(id), name.as_str())])
}

/// A merge and a delete of the same file, run at once, both land: the loser re-plans on the
/// winner's vector (SPEC §8.2).
pub async fn concurrent_merge_and_delete_both_land(b: &TestBackend) -> CaseResult {
    let (t, target) = three_file_table(b).await?;
    let other = Table::open(&b.table_uri("t")).await?;
    let source = batch(&target, &[(Some(13), "m13"), (Some(17), "m17")]);
    let (rm, rd) = futures::future::join(
        t.merge(futures::stream::iter([Ok(source)]), Merge::on(["id"])),
        other.delete(Expr::parse("id IN (11, 12)")?),
    )
    .await;
    let (rm, _) = (rm?, rd?);
    check_eq!(rm.updated_rows, 2);
    let mut expected = named((0..30).filter(|i| ![11, 12, 13, 17].contains(i)), |i| {
        format!("v{i}")
    });
    expected.push((Some(13), Some("m13".into())));
    expected.push((Some(17), Some("m17".into())));
    expected.sort();
    check_eq!(rows_at(&t, SnapshotSelector::Latest).await?, expected);
    Ok(())
}
