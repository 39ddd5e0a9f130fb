//! Engine commits routed through the catalog: a [`strata_table::CommitHandler`] that sends
//! each transaction to `POST /v1/commits`, so that the catalog arbitrates the table's commits.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use strata_catalog::{CatalogCommitter, Client, TableRef};
//! use strata_table::{Table, TableLocation, TableOptions};
//! let client = Client::new("http://127.0.0.1:8181", Some("strata_...".into()))?;
//! let table = TableRef::parse("sales.events")?;
//! let info = client.load_table(&table).await?;
//! let options = TableOptions::default()
//!     .with_commit_handler(Arc::new(CatalogCommitter::new(client, table)));
//! let t = Table::open_with(TableLocation::parse(&info.location)?, options).await?;
//! # let _ = t; Ok(()) }
//! ```

use std::time::Duration;

use futures::future::BoxFuture;
use strata_format::IsolationLevel;
use strata_format::conflict::{Conflict, ConflictKind, DuplicateBatch};
use strata_table::{CommitHandler, PendingCommit};

use crate::client::{Client, TableRef};
use crate::error::Error;
use crate::model::{CommitRequest, ConflictBody, ReadScope, TableChange};

/// Attempts of one commit request when the catalog cannot be reached or is busy (the same
/// transaction id each time: the catalog answers a retry with the first outcome).
const ATTEMPTS: u32 = 4;

/// Commits a table's transactions through the catalog (see the module documentation).
#[derive(Debug, Clone)]
pub struct CatalogCommitter {
    client: Client,
    table: TableRef,
}

impl CatalogCommitter {
    /// Commits of `table` go to the catalog of `client`.
    pub fn new(client: Client, table: TableRef) -> Self {
        Self { client, table }
    }

    fn request(&self, commit: &PendingCommit) -> Result<CommitRequest, strata_table::Error> {
        let actions = commit
            .actions
            .iter()
            .map(|a| {
                let line = a.to_json_line()?;
                serde_json::from_str(&line).map_err(|e| strata_table::Error::InvalidOperation {
                    table: commit.table.clone(),
                    message: format!("cannot encode an action for the catalog: {e}"),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let isolation = match commit.isolation {
            IsolationLevel::Serializable => "Serializable",
            _ => "WriteSerializable",
        };
        Ok(CommitRequest {
            txn_id: commit.txn_id.clone(),
            changes: vec![TableChange {
                namespace: self.table.namespace.clone(),
                table: self.table.table.clone(),
                base_version: commit.base_version,
                actions,
                operation: Some(commit.operation.clone()),
                operation_parameters: commit.parameters.clone(),
                isolation_level: Some(isolation.to_string()),
                read: ReadScope {
                    whole_table: commit.read_whole_table,
                    files: commit.read_files.iter().cloned().collect(),
                    predicate: commit.read_predicate.clone(),
                },
                user_metadata: commit.user_metadata.clone(),
                operation_metrics: commit.metrics.clone(),
                timestamp: Some(commit.timestamp),
            }],
        })
    }
}

/// A 409 of the catalog as the engine's typed conflict.
fn conflict_error(commit: &PendingCommit, body: &ConflictBody) -> strata_table::Error {
    let table = commit.table.clone();
    let subject = body.subject.clone().unwrap_or_default();
    if body.kind == "duplicateBatch" {
        let batch = commit
            .actions
            .iter()
            .find_map(|a| match a {
                strata_format::Action::Txn(t) if t.app_id == subject => Some(t.version),
                _ => None,
            })
            .unwrap_or_default();
        return strata_table::Error::DuplicateBatch {
            table,
            duplicate: DuplicateBatch {
                app_id: subject,
                batch,
                // The catalog's answer names the application only: at least this batch.
                committed: batch,
            },
        };
    }
    let kind = match body.kind.as_str() {
        "protocolChanged" => ConflictKind::ProtocolChanged,
        "concurrentAppend" => ConflictKind::ConcurrentAppend { path: subject },
        "concurrentDelete" => ConflictKind::ConcurrentDelete { path: subject },
        "concurrentRelocate" => ConflictKind::ConcurrentRelocate { path: subject },
        "concurrentTag" => ConflictKind::ConcurrentTag { name: subject },
        "deletionVectorChanged" => ConflictKind::DeletionVectorChanged { path: subject },
        _ => ConflictKind::MetadataChanged,
    };
    strata_table::Error::Conflict {
        table,
        conflict: Conflict {
            winning_version: body.winning_version.unwrap_or_default(),
            kind,
        },
    }
}

/// Whether a failed request may be retried with the same transaction id.
fn retryable(e: &Error) -> bool {
    matches!(e, Error::Http(_) | Error::Api { status: 503, .. })
}

impl CommitHandler for CatalogCommitter {
    fn commit(&self, commit: PendingCommit) -> BoxFuture<'_, strata_table::Result<u64>> {
        Box::pin(async move {
            let req = self.request(&commit)?;
            let mut attempt = 0;
            loop {
                attempt += 1;
                let err = match self.client.commit(&req).await {
                    Ok(resp) => {
                        return resp.results.first().map(|r| r.version).ok_or_else(|| {
                            strata_table::Error::InvalidOperation {
                                table: commit.table.clone(),
                                message: "the catalog answered the commit without a version".into(),
                            }
                        });
                    }
                    Err(e) => e,
                };
                if let Error::Api {
                    status: 409,
                    conflict: Some(body),
                    ..
                } = &err
                {
                    return Err(conflict_error(&commit, body));
                }
                if !retryable(&err) {
                    return Err(strata_table::Error::InvalidOperation {
                        table: commit.table.clone(),
                        message: format!("the catalog refused the commit of {}: {err}", self.table),
                    });
                }
                if attempt >= ATTEMPTS {
                    return Err(strata_table::Error::CommitOutcomeUnknown {
                        table: commit.table.clone(),
                        version: commit.base_version + 1,
                        txn_id: commit.txn_id.clone(),
                        source: Box::new(object_store::Error::Generic {
                            store: "catalog",
                            source: Box::new(err),
                        }),
                    });
                }
                tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending() -> PendingCommit {
        PendingCommit {
            table: "file:///t".into(),
            base_version: 3,
            txn_id: uuid::Uuid::new_v4().to_string(),
            operation: "WRITE".into(),
            parameters: Default::default(),
            actions: vec![strata_format::testing::add("a.parquet", 1)],
            isolation: IsolationLevel::Serializable,
            read_whole_table: true,
            read_files: ["b.parquet".to_string()].into(),
            read_predicate: None,
            timestamp: 1_700_000_000_000,
            user_metadata: Some("why".into()),
            metrics: [("numAddedRows".to_string(), 1)].into(),
        }
    }

    #[test]
    fn pending_commits_become_catalog_requests() {
        let c = CatalogCommitter::new(
            Client::new("http://127.0.0.1:1", None).unwrap(),
            TableRef::parse("ns.t").unwrap(),
        );
        let p = pending();
        let req = c.request(&p).unwrap();
        assert_eq!(req.txn_id, p.txn_id);
        let change = &req.changes[0];
        assert_eq!(
            (change.namespace.as_str(), change.table.as_str()),
            ("ns", "t")
        );
        assert_eq!(change.base_version, 3);
        assert!(change.actions[0]["add"].is_object());
        assert_eq!(change.isolation_level.as_deref(), Some("Serializable"));
        assert!(change.read.whole_table);
        assert_eq!(change.read.files, vec!["b.parquet".to_string()]);
        assert_eq!(change.user_metadata.as_deref(), Some("why"));
        assert_eq!(change.operation_metrics["numAddedRows"], 1);
        assert_eq!(change.timestamp, Some(1_700_000_000_000));
    }

    #[test]
    fn catalog_conflicts_become_engine_conflicts() {
        let body = |kind: &str| ConflictBody {
            table: "ns.t".into(),
            winning_version: Some(4),
            kind: kind.into(),
            subject: Some("a.parquet".into()),
        };
        let e = conflict_error(&pending(), &body("concurrentDelete"));
        assert!(e.is_conflict());
        assert!(matches!(
            e,
            strata_table::Error::Conflict {
                conflict: Conflict {
                    winning_version: 4,
                    kind: ConflictKind::ConcurrentDelete { .. }
                },
                ..
            }
        ));
        let e = conflict_error(&pending(), &body("duplicateBatch"));
        assert!(matches!(e, strata_table::Error::DuplicateBatch { .. }));
        assert!(retryable(&Error::Api {
            status: 503,
            code: "busy".into(),
            message: String::new(),
            error_id: None,
            conflict: None,
        }));
        assert!(!retryable(&Error::BadRequest("x".into())));
    }
}
