//! Log I/O: reading, listing and writing the objects of `_strata_log/` (SPEC §2, §10).

use std::sync::Arc;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectStoreExt, PutMode, PutOptions, PutPayload};
use strata_format::log::{
    self, Commit, LAST_CHECKPOINT, LOG_DIR, LastCheckpoint, LogFileKind, checkpoint_file_name,
    commit_file_name, parse_log_file_name,
};
use strata_format::state::CheckpointBuilder;
use strata_format::{Action, CommitInfo, FormatError, TableState};

use crate::error::{Error, Result};
use crate::log::checkpoint;
use crate::storage::TableLocation;

/// Commits and checkpoints found by a listing.
#[derive(Debug, Default, Clone)]
pub(crate) struct Listing {
    /// Commit versions, ascending.
    pub commits: Vec<u64>,
    /// Checkpoint versions, ascending.
    pub checkpoints: Vec<u64>,
}

/// Outcome of a put-if-absent of a commit file.
#[derive(Debug)]
pub(crate) enum PutOutcome {
    /// The commit file was created.
    Created,
    /// The version was already taken.
    AlreadyExists,
    /// The request failed; the object may or may not have been written.
    Ambiguous(object_store::Error),
}

/// Log access for one table.
#[derive(Debug, Clone)]
pub(crate) struct LogStore {
    loc: TableLocation,
    /// The `_last_checkpoint` read most recently: its `actionCount` checks the checkpoint it
    /// names when that one is read.
    pointer: Arc<std::sync::Mutex<Option<LastCheckpoint>>>,
}

impl LogStore {
    pub fn new(loc: TableLocation) -> Self {
        Self {
            loc,
            pointer: Arc::default(),
        }
    }

    pub fn location(&self) -> &TableLocation {
        &self.loc
    }

    pub fn uri(&self) -> &str {
        self.loc.uri()
    }

    pub fn commit_path(&self, version: u64) -> Path {
        self.loc
            .child(&format!("{LOG_DIR}/{}", commit_file_name(version)))
    }

    pub fn checkpoint_path(&self, version: u64) -> Path {
        self.loc
            .child(&format!("{LOG_DIR}/{}", checkpoint_file_name(version)))
    }

    fn last_checkpoint_path(&self) -> Path {
        self.loc.child(&format!("{LOG_DIR}/{LAST_CHECKPOINT}"))
    }

    pub fn storage_err(&self, path: &Path, source: object_store::Error) -> Error {
        Error::Storage {
            table: self.uri().to_string(),
            path: path.to_string(),
            source: Box::new(source),
        }
    }

    fn corrupt(&self, path: &Path, version: u64, source: FormatError) -> Error {
        Error::Corrupt {
            table: self.uri().to_string(),
            path: path.to_string(),
            version,
            source,
        }
    }

    /// Reads an object; `Ok(None)` when it does not exist.
    async fn get_opt(&self, path: &Path) -> Result<Option<Bytes>> {
        match self.loc.store().get(path).await {
            Ok(r) => Ok(Some(
                r.bytes().await.map_err(|e| self.storage_err(path, e))?,
            )),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.storage_err(path, e)),
        }
    }

    /// Lists log files strictly after `after` (a version's commit file name position), or the
    /// whole log when `None`.
    pub async fn list(&self, after: Option<u64>) -> Result<Listing> {
        let prefix = self.loc.child(LOG_DIR);
        let store = self.loc.store();
        let stream = match after {
            // `<v>.checkpoint.parquet` sorts before `<v>.json`, so this offset yields the
            // commit of `v` too (harmless) and everything after it.
            Some(v) => store.list_with_offset(Some(&prefix), &self.checkpoint_path(v)),
            None => store.list(Some(&prefix)),
        };
        let metas: Vec<_> = stream
            .try_collect()
            .await
            .map_err(|e| self.storage_err(&prefix, e))?;
        let mut listing = Listing::default();
        for m in metas {
            let Some(name) = m.location.filename() else {
                continue;
            };
            match parse_log_file_name(name) {
                Some((v, LogFileKind::Commit)) if after.is_none_or(|a| v > a) => {
                    listing.commits.push(v)
                }
                Some((v, LogFileKind::Checkpoint)) if after.is_none_or(|a| v > a) => {
                    listing.checkpoints.push(v)
                }
                _ => {}
            }
        }
        listing.commits.sort_unstable();
        listing.checkpoints.sort_unstable();
        Ok(listing)
    }

    /// Reads and decodes commit `version`; `Ok(None)` when it does not exist.
    pub async fn read_commit_opt(&self, version: u64) -> Result<Option<Commit>> {
        let path = self.commit_path(version);
        let Some(bytes) = self.get_opt(&path).await? else {
            return Ok(None);
        };
        log::decode_commit(version, &bytes)
            .map(Some)
            .map_err(|e| self.corrupt(&path, version, e))
    }

    /// Reads and decodes commit `version`, which must exist.
    pub async fn read_commit(&self, version: u64) -> Result<Commit> {
        self.read_commit_opt(version)
            .await?
            .ok_or_else(|| Error::MissingVersion {
                table: self.uri().to_string(),
                path: self.commit_path(version).to_string(),
                version,
            })
    }

    /// Reads commits `from..=to` with bounded concurrency (64 at once: on an object store
    /// each wave is a round trip, and the commits after a checkpoint are at most an interval,
    /// 100 by default), in order.
    pub async fn read_commits(&self, from: u64, to: u64) -> Result<Vec<Commit>> {
        if from > to {
            return Ok(Vec::new());
        }
        futures::stream::iter(from..=to)
            .map(|v| self.read_commit(v))
            .buffered(64)
            .try_collect()
            .await
    }

    /// Reads only the commit info (first line) of commit `version`.
    pub async fn read_commit_info(&self, version: u64) -> Result<CommitInfo> {
        let path = self.commit_path(version);
        let bytes = self
            .get_opt(&path)
            .await?
            .ok_or_else(|| Error::MissingVersion {
                table: self.uri().to_string(),
                path: path.to_string(),
                version,
            })?;
        let first = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
        let line = std::str::from_utf8(first).map_err(|e| {
            self.corrupt(
                &path,
                version,
                FormatError::InvalidCommit {
                    version,
                    message: format!("not UTF-8: {e}"),
                },
            )
        })?;
        match Action::from_json_line(line) {
            Ok(Some(Action::CommitInfo(c))) => Ok(c),
            Ok(_) => Err(self.corrupt(
                &path,
                version,
                FormatError::InvalidCommit {
                    version,
                    message: "the first line must be a commitInfo action".into(),
                },
            )),
            Err(message) => Err(self.corrupt(
                &path,
                version,
                FormatError::InvalidLogLine {
                    version,
                    line: 1,
                    message,
                },
            )),
        }
    }

    /// Put-if-absent of a commit file.
    pub async fn put_commit(&self, version: u64, bytes: Vec<u8>) -> PutOutcome {
        let path = self.commit_path(version);
        let opts = PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        match self
            .loc
            .store()
            .put_opts(&path, PutPayload::from(bytes), opts)
            .await
        {
            Ok(_) => PutOutcome::Created,
            Err(object_store::Error::AlreadyExists { .. }) => PutOutcome::AlreadyExists,
            Err(e) => PutOutcome::Ambiguous(e),
        }
    }

    /// Reads `_last_checkpoint`; `None` when absent. A corrupt pointer is an error.
    pub async fn read_last_checkpoint(&self) -> Result<Option<LastCheckpoint>> {
        let path = self.last_checkpoint_path();
        let Some(bytes) = self.get_opt(&path).await? else {
            return Ok(None);
        };
        let pointer: LastCheckpoint = serde_json::from_slice(&bytes).map_err(|e| {
            self.corrupt(
                &path,
                0,
                FormatError::InvalidField {
                    field: LAST_CHECKPOINT.into(),
                    message: e.to_string(),
                },
            )
        })?;
        if let Ok(mut seen) = self.pointer.lock() {
            *seen = Some(pointer.clone());
        }
        Ok(Some(pointer))
    }

    /// Whether checkpoint `version` exists (HEAD).
    pub async fn checkpoint_exists(&self, version: u64) -> Result<bool> {
        let path = self.checkpoint_path(version);
        match self.loc.store().head(&path).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(self.storage_err(&path, e)),
        }
    }

    /// The state held by checkpoint `version`, built as its rows are decoded (SPEC §10.2).
    pub async fn read_checkpoint_state(&self, version: u64) -> Result<TableState> {
        self.read_checkpoint_state_opt(version)
            .await?
            .ok_or_else(|| Error::CorruptCheckpoint {
                table: self.uri().to_string(),
                path: self.checkpoint_path(version).to_string(),
                version,
                message: "the checkpoint object does not exist".into(),
            })
    }

    /// [`Self::read_checkpoint_state`], `None` when the checkpoint does not exist (one GET
    /// instead of a HEAD and a GET when the caller only guesses it exists).
    pub async fn read_checkpoint_state_opt(&self, version: u64) -> Result<Option<TableState>> {
        let path = self.checkpoint_path(version);
        let corrupt = |message: String| Error::CorruptCheckpoint {
            table: self.uri().to_string(),
            path: path.to_string(),
            version,
            message,
        };
        let Some(bytes) = self.get_opt(&path).await? else {
            return Ok(None);
        };
        let expected_rows = self.pointer.lock().ok().and_then(|p| {
            p.as_ref()
                .filter(|p| p.version == version)
                .map(|p| p.action_count)
        });
        let mut builder = CheckpointBuilder::new(version);
        checkpoint::decode_each(bytes, expected_rows, &mut |a| {
            builder.push(a).map_err(|e| e.to_string())
        })
        .map_err(corrupt)?;
        builder
            .finish()
            .map(Some)
            .map_err(|e| corrupt(e.to_string()))
    }

    /// Writes checkpoint `version` and then moves `_last_checkpoint` to it.
    pub async fn write_checkpoint(&self, state: &TableState) -> Result<()> {
        let pointer = self.put_checkpoint(state).await?;
        self.write_pointer(&pointer).await
    }

    /// Writes the checkpoint of `version` without touching `_last_checkpoint`; returns the
    /// pointer that names it.
    pub async fn put_checkpoint(&self, state: &TableState) -> Result<LastCheckpoint> {
        let version = state.version();
        let path = self.checkpoint_path(version);
        let (bytes, rows) =
            checkpoint::encode_state(state).map_err(|message| Error::CorruptCheckpoint {
                table: self.uri().to_string(),
                path: path.to_string(),
                version,
                message,
            })?;
        let size = bytes.len() as u64;
        self.loc
            .store()
            .put(&path, PutPayload::from(bytes))
            .await
            .map_err(|e| self.storage_err(&path, e))?;
        Ok(LastCheckpoint {
            version,
            action_count: rows,
            size_in_bytes: size,
        })
    }

    /// Deletes the commit file (or, with `checkpoint`, the checkpoint) of `version`: only for
    /// versions an expiry put before the oldest retained version (SPEC §11.5). A missing
    /// object is not an error.
    pub async fn delete_expired(&self, version: u64, checkpoint: bool) -> Result<()> {
        let path = if checkpoint {
            self.checkpoint_path(version)
        } else {
            self.commit_path(version)
        };
        match self.loc.store().delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.storage_err(&path, e)),
        }
    }

    /// Overwrites `_last_checkpoint` with `pointer`.
    pub async fn write_pointer(&self, pointer: &LastCheckpoint) -> Result<()> {
        let body = serde_json::to_vec(pointer).map_err(|e| {
            Error::Format(FormatError::InvalidField {
                field: LAST_CHECKPOINT.into(),
                message: e.to_string(),
            })
        })?;
        let p = self.last_checkpoint_path();
        self.loc
            .store()
            .put(&p, PutPayload::from(body))
            .await
            .map_err(|e| self.storage_err(&p, e))?;
        Ok(())
    }
}
