//! Commit files and log object naming (SPEC §2, §3.1).

use serde::{Deserialize, Serialize};

use crate::actions::{Action, CommitInfo};
use crate::error::{FormatError, Result};

/// Directory under the table root holding the log.
pub const LOG_DIR: &str = "_strata_log";
/// Name of the checkpoint pointer object inside [`LOG_DIR`].
pub const LAST_CHECKPOINT: &str = "_last_checkpoint";
/// Directory under the table root new data files are written to.
pub const DATA_DIR: &str = "data";

/// Object name (inside [`LOG_DIR`]) of the commit file of `version`.
pub fn commit_file_name(version: u64) -> String {
    format!("{version:020}.json")
}

/// Object name (inside [`LOG_DIR`]) of the checkpoint of `version`.
pub fn checkpoint_file_name(version: u64) -> String {
    format!("{version:020}.checkpoint.parquet")
}

/// What a log object is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogFileKind {
    /// A commit file.
    Commit,
    /// A checkpoint.
    Checkpoint,
}

/// Parses an object name inside [`LOG_DIR`]; `None` for objects that are not log files.
pub fn parse_log_file_name(name: &str) -> Option<(u64, LogFileKind)> {
    let (digits, kind) = if let Some(d) = name.strip_suffix(".checkpoint.parquet") {
        (d, LogFileKind::Checkpoint)
    } else if let Some(d) = name.strip_suffix(".json") {
        (d, LogFileKind::Commit)
    } else {
        return None;
    };
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().map(|v| (v, kind))
}

/// Content of the `_last_checkpoint` pointer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LastCheckpoint {
    /// Version of the newest checkpoint known to the writer of the pointer.
    pub version: u64,
    /// Number of actions in the checkpoint.
    pub action_count: u64,
    /// Size of the checkpoint object in bytes.
    pub size_in_bytes: u64,
}

/// A decoded commit file.
#[derive(Debug, Clone, PartialEq)]
pub struct Commit {
    /// Version of the commit.
    pub version: u64,
    /// Its commit info (the first line).
    pub info: CommitInfo,
    /// The other actions in file order (unknown actions dropped).
    pub actions: Vec<Action>,
}

/// Encodes a commit file: the commit info line then one line per action, each `\n`-terminated.
/// `info.action_count` is set to `actions.len()`.
pub fn encode_commit(mut info: CommitInfo, actions: &[Action]) -> Result<Vec<u8>> {
    info.action_count = actions.len() as u64;
    let mut out = Action::CommitInfo(info).to_json_line()?;
    out.push('\n');
    for a in actions {
        if matches!(a, Action::CommitInfo(_)) {
            return Err(FormatError::InvalidField {
                field: "commitInfo".into(),
                message: "a commit holds exactly one commitInfo, as its first line".into(),
            });
        }
        out.push_str(&a.to_json_line()?);
        out.push('\n');
    }
    Ok(out.into_bytes())
}

/// Decodes and checks a commit file (SPEC §3.1).
pub fn decode_commit(version: u64, bytes: &[u8]) -> Result<Commit> {
    let text = std::str::from_utf8(bytes).map_err(|e| FormatError::InvalidCommit {
        version,
        message: format!("not UTF-8: {e}"),
    })?;
    let mut lines = text.split_terminator('\n').enumerate();
    let line_err = |line: usize, message: String| FormatError::InvalidLogLine {
        version,
        line,
        message,
    };
    let info = match lines.next() {
        Some((i, l)) => match Action::from_json_line(l).map_err(|m| line_err(i + 1, m))? {
            Some(Action::CommitInfo(c)) => c,
            _ => {
                return Err(FormatError::InvalidCommit {
                    version,
                    message: "the first line must be a commitInfo action".into(),
                });
            }
        },
        None => {
            return Err(FormatError::InvalidCommit {
                version,
                message: "the commit file is empty".into(),
            });
        }
    };
    let mut actions = Vec::new();
    let mut count = 0u64;
    for (i, l) in lines {
        count += 1;
        match Action::from_json_line(l).map_err(|m| line_err(i + 1, m))? {
            Some(Action::CommitInfo(_)) => {
                return Err(line_err(i + 1, "a second commitInfo action".into()));
            }
            Some(a) => actions.push(a),
            None => {}
        }
    }
    if count != info.action_count {
        return Err(FormatError::InvalidCommit {
            version,
            message: format!(
                "commitInfo.actionCount is {} but the file holds {count} action lines (truncated?)",
                info.action_count
            ),
        });
    }
    if !text.is_empty() && !text.ends_with('\n') {
        return Err(FormatError::InvalidCommit {
            version,
            message: "the last line is not newline-terminated (truncated?)".into(),
        });
    }
    Ok(Commit {
        version,
        info,
        actions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::{Tag, Untag};

    fn info() -> CommitInfo {
        CommitInfo {
            timestamp: 1,
            txn_id: "t".into(),
            operation: "TAG".into(),
            operation_parameters: Default::default(),
            engine: "test".into(),
            read_version: Some(0),
            isolation_level: None,
            is_blind_append: false,
            action_count: 0,
            user_metadata: None,
            operation_metrics: Default::default(),
        }
    }

    #[test]
    fn log_file_names_sort_and_parse() {
        assert_eq!(commit_file_name(7), "00000000000000000007.json");
        assert_eq!(
            parse_log_file_name(&checkpoint_file_name(100)),
            Some((100, LogFileKind::Checkpoint))
        );
        assert_eq!(
            parse_log_file_name("00000000000000000042.json"),
            Some((42, LogFileKind::Commit))
        );
        assert_eq!(parse_log_file_name("42.json"), None);
        assert_eq!(parse_log_file_name("_last_checkpoint"), None);
        assert!(commit_file_name(9) < commit_file_name(10));
        assert!(commit_file_name(99) < checkpoint_file_name(100));
    }

    #[test]
    fn commit_round_trips_and_counts_actions() {
        let actions = vec![
            Action::Tag(Tag {
                name: "a".into(),
                version: 0,
            }),
            Action::Untag(Untag { name: "b".into() }),
        ];
        let bytes = encode_commit(info(), &actions).unwrap();
        let c = decode_commit(3, &bytes).unwrap();
        assert_eq!(c.info.action_count, 2);
        assert_eq!(c.actions, actions);
    }

    #[test]
    fn truncated_commits_are_detected() {
        let actions = vec![
            Action::Tag(Tag {
                name: "a".into(),
                version: 0,
            }),
            Action::Untag(Untag { name: "b".into() }),
        ];
        let bytes = encode_commit(info(), &actions).unwrap();
        let text = String::from_utf8(bytes).unwrap();
        // Cut at a line boundary: the action count no longer matches.
        let cut = text.rfind("{\"untag\"").unwrap();
        let err = decode_commit(3, &text.as_bytes()[..cut]).unwrap_err();
        assert!(err.to_string().contains("log version 3"), "{err}");
        assert!(err.to_string().contains("truncated"), "{err}");
        // Cut inside a line: invalid JSON on line 3.
        let err = decode_commit(3, &text.as_bytes()[..text.len() - 5]).unwrap_err();
        assert!(err.to_string().contains("log version 3, line 3"), "{err}");
        assert!(decode_commit(3, b"").is_err());
    }

    #[test]
    fn first_line_must_be_commit_info() {
        let err = decode_commit(5, b"{\"untag\":{\"name\":\"x\"}}\n").unwrap_err();
        assert!(err.to_string().contains("first line must be a commitInfo"));
    }
}
