//! `strata update`: a SQL `UPDATE` of one table, run by `strata-sql` (one commit).

use futures::TryStreamExt;
use strata_sql::SqlError;

use crate::error::{CliError, CliResult};

/// The SQL name of a table argument: `"namespace"."table"` for a catalog table, else the
/// path or URI as one quoted identifier (SQL table references, `strata sql`).
fn sql_name(table: &str) -> String {
    let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let catalog_name = super::catalog::catalog_url().is_some()
        && super::catalog::looks_qualified(table)
        && !std::path::Path::new(table).exists();
    match table.split_once('.') {
        Some((ns, t)) if catalog_name => format!("{}.{}", quote(ns), quote(t)),
        _ => quote(table),
    }
}

/// Updates the rows of `table` matching `filter` with the assignments `set`.
pub async fn update(
    table: &str,
    set: &str,
    filter: Option<&str>,
    app: Option<(String, u64)>,
    quiet: bool,
) -> CliResult {
    let mut text = format!("UPDATE {} SET {set}", sql_name(table));
    if let Some(f) = filter {
        text.push_str(&format!(" WHERE {f}"));
    }
    let session = super::sql::session().await?;
    if let Some((app, batch)) = app {
        let app = app.replace('\'', "''");
        session
            .sql(&format!(
                "SET strata.app_id = '{app}'; SET strata.batch = {batch}"
            ))
            .await?;
    }
    let mut statements = session.parse(&text)?;
    if statements.len() != 1 {
        return Err(CliError::user(format!(
            "--set and --where must not hold `;`: `{text}` is {} statements",
            statements.len()
        )));
    }
    let df = session.execute(statements.remove(0)).await?;
    let batches: Vec<_> = df
        .execute_stream()
        .await
        .map_err(SqlError::from)?
        .try_collect()
        .await
        .map_err(SqlError::from)?;
    let updated: u64 = batches
        .iter()
        .filter_map(|b| {
            b.column(0)
                .as_any()
                .downcast_ref::<arrow::array::UInt64Array>()
                .map(|a| a.iter().flatten().sum::<u64>())
        })
        .sum();
    if !quiet {
        let t = super::open(table).await?;
        let s = t.latest().await?;
        let how = match s.commit_info().operation_metrics.get("numDeletionVectors") {
            Some(n) if updated > 0 => format!(
                " ({n} files marked in deletion vectors, {} written)",
                s.commit_info()
                    .operation_metrics
                    .get("numAddedFiles")
                    .copied()
                    .unwrap_or(0)
            ),
            _ => String::new(),
        };
        if updated == 0 {
            eprintln!("no row matched: nothing committed");
        } else {
            eprintln!(
                "committed version {}: updated {updated} rows{how}; the table has {} rows",
                s.version(),
                s.record_count()
            );
        }
    }
    Ok(())
}
