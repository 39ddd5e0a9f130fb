//! Rebuilding a state from checkpoint rows (SPEC §10.2), one row at a time.
//!
//! A reader decodes a large checkpoint in batches and pushes each row here as it comes, so it
//! never holds the whole checkpoint's actions beside the state they build.

use std::collections::BTreeMap;

use super::{Totals, inconsistent};
use crate::actions::{Action, AppTransaction, CommitInfo, Metadata, Protocol, RemoveFile};
use crate::error::Result;
use crate::path_map::PathMap;
use crate::protocol::check_readable;
use crate::{AddFile, TableState};

/// Builds the state of a checkpoint of one version from its rows, checking the rules of
/// SPEC §10.2 (each of `commitInfo`, `protocol` and `metadata` exactly once; no path, tag
/// name or application twice; no `relocate` or `untag` row).
#[derive(Debug)]
pub struct CheckpointBuilder {
    version: u64,
    info: Option<CommitInfo>,
    protocol: Option<Protocol>,
    metadata: Option<Metadata>,
    files: PathMap<AddFile>,
    tombstones: PathMap<RemoveFile>,
    tags: BTreeMap<String, u64>,
    app_txns: BTreeMap<String, AppTransaction>,
    totals: Totals,
}

impl CheckpointBuilder {
    /// A builder for the checkpoint of `version`.
    pub fn new(version: u64) -> Self {
        Self {
            version,
            info: None,
            protocol: None,
            metadata: None,
            files: PathMap::new(),
            tombstones: PathMap::new(),
            tags: BTreeMap::new(),
            app_txns: BTreeMap::new(),
            totals: Totals::default(),
        }
    }

    /// Adds the next row.
    pub fn push(&mut self, action: Action) -> Result<()> {
        let version = self.version;
        match action {
            Action::CommitInfo(c) => {
                if self.info.replace(c).is_some() {
                    return Err(inconsistent(version, "checkpoint holds two commitInfo"));
                }
            }
            Action::Protocol(p) => {
                if self.protocol.replace(p).is_some() {
                    return Err(inconsistent(version, "checkpoint holds two protocol rows"));
                }
            }
            Action::Metadata(m) => {
                if self.metadata.replace(*m).is_some() {
                    return Err(inconsistent(version, "checkpoint holds two metadata rows"));
                }
            }
            Action::Add(a) => {
                let path = a.path.clone();
                if self.tombstones.contains_key(&path) {
                    return Err(inconsistent(
                        version,
                        format!("checkpoint both adds and removes `{path}`"),
                    ));
                }
                self.totals.add(&a);
                if self.files.insert(path.clone(), *a).is_some() {
                    return Err(inconsistent(
                        version,
                        format!("checkpoint adds `{path}` twice"),
                    ));
                }
            }
            Action::Remove(r) => {
                let path = r.path.clone();
                if self.files.contains_key(&path) {
                    return Err(inconsistent(
                        version,
                        format!("checkpoint both adds and removes `{path}`"),
                    ));
                }
                if self.tombstones.insert(path.clone(), r).is_some() {
                    return Err(inconsistent(
                        version,
                        format!("checkpoint removes `{path}` twice"),
                    ));
                }
            }
            Action::Tag(t) => {
                if self.tags.insert(t.name.clone(), t.version).is_some() {
                    return Err(inconsistent(
                        version,
                        format!("checkpoint holds tag `{}` twice", t.name),
                    ));
                }
            }
            Action::Txn(t) => {
                let app = t.app_id.clone();
                if self.app_txns.insert(app.clone(), t).is_some() {
                    return Err(inconsistent(
                        version,
                        format!("checkpoint holds the transaction of app `{app}` twice"),
                    ));
                }
            }
            other => {
                return Err(inconsistent(
                    version,
                    format!("a checkpoint may not hold `{}` actions", other.key()),
                ));
            }
        }
        Ok(())
    }

    /// The state, once every row was pushed.
    pub fn finish(self) -> Result<TableState> {
        let version = self.version;
        let commit_info = self
            .info
            .ok_or_else(|| inconsistent(version, "checkpoint has no commitInfo"))?;
        let protocol = self
            .protocol
            .ok_or_else(|| inconsistent(version, "checkpoint has no protocol"))?;
        let metadata = self
            .metadata
            .ok_or_else(|| inconsistent(version, "checkpoint has no metadata"))?;
        check_readable(&protocol)?;
        Ok(TableState {
            version,
            commit_info,
            protocol,
            metadata,
            files: self.files,
            tombstones: self.tombstones,
            tags: self.tags,
            app_txns: self.app_txns,
            totals: self.totals,
        })
    }
}
