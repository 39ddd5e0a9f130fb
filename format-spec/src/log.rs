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

/// Table property: checkpoint every N versions (SPEC §10.4).
pub const PROP_CHECKPOINT_INTERVAL: &str = "strata.checkpointInterval";
/// Checkpoint interval of a table without [`PROP_CHECKPOINT_INTERVAL`] whose state has more
/// than [`SMALL_TABLE_FILES`] live data files.
pub const DEFAULT_CHECKPOINT_INTERVAL: u64 = 100;
/// Checkpoint interval of a table without [`PROP_CHECKPOINT_INTERVAL`] while its state has at
/// most [`SMALL_TABLE_FILES`] live data files: such a checkpoint is small, and reading it costs
/// one request where the commits since the previous one cost one each.
pub const SMALL_TABLE_CHECKPOINT_INTERVAL: u64 = 10;
/// Live data files up to which a table is small for [`checkpoint_interval`].
pub const SMALL_TABLE_FILES: usize = 10_000;

/// The checkpoint interval of a table (SPEC §10.4): its `strata.checkpointInterval` when that is
/// a positive integer; otherwise [`SMALL_TABLE_CHECKPOINT_INTERVAL`] while the state has at most
/// [`SMALL_TABLE_FILES`] live data files, and [`DEFAULT_CHECKPOINT_INTERVAL`] beyond.
pub fn checkpoint_interval(property: Option<&str>, live_files: usize) -> u64 {
    match property
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|&n| n > 0)
    {
        Some(n) => n,
        None if live_files <= SMALL_TABLE_FILES => SMALL_TABLE_CHECKPOINT_INTERVAL,
        None => DEFAULT_CHECKPOINT_INTERVAL,
    }
}

/// Key of the checkpoint's Parquet footer key-value entry holding its checksum (SPEC §10.2.5).
pub const CHECKPOINT_CHECKSUM_KEY: &str = "strata.checksum";

/// The value of [`CHECKPOINT_CHECKSUM_KEY`] for a checkpoint whose bytes before its footer
/// metadata are `data` (SPEC §10.2.5): `crc32:` and the CRC-32 in 8 lowercase hex digits.
pub fn checkpoint_checksum(data: &[u8]) -> String {
    format!("crc32:{:08x}", crc32fast::hash(data))
}

/// Checks the checksum `recorded` in the footer of the checkpoint object `object` (SPEC
/// §10.2.5) against the object's bytes before its footer metadata.
pub fn verify_checkpoint_checksum(object: &[u8], recorded: &str) -> Result<(), String> {
    let n = object.len();
    let footer = n
        .checked_sub(8)
        .and_then(|at| object.get(at..at + 4))
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(|b| u32::from_le_bytes(b) as usize)
        .ok_or("too short for a Parquet file")?;
    let end = n
        .checked_sub(8 + footer)
        .ok_or("its footer length exceeds its size")?;
    let valid = recorded.len() == 14
        && recorded.starts_with("crc32:")
        && recorded[6..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !valid {
        return Err(format!(
            "its `{CHECKPOINT_CHECKSUM_KEY}` is `{recorded}`, not `crc32:` and 8 lowercase hex digits"
        ));
    }
    let actual = checkpoint_checksum(&object[..end]);
    if actual != recorded {
        return Err(format!(
            "its bytes do not match its checksum (`{CHECKPOINT_CHECKSUM_KEY}` says {recorded}, \
             the {end} bytes before the footer give {actual}): the object is damaged"
        ));
    }
    Ok(())
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

    #[test]
    fn the_interval_is_the_property_else_by_the_tables_size() {
        assert_eq!(checkpoint_interval(Some("7"), 1_000_000), 7);
        assert_eq!(checkpoint_interval(Some("250"), 0), 250);
        assert_eq!(
            checkpoint_interval(None, 0),
            SMALL_TABLE_CHECKPOINT_INTERVAL
        );
        assert_eq!(checkpoint_interval(None, SMALL_TABLE_FILES), 10);
        assert_eq!(checkpoint_interval(None, SMALL_TABLE_FILES + 1), 100);
        // Not a positive integer: as if unset.
        for bad in ["0", "-5", "ten", ""] {
            assert_eq!(checkpoint_interval(Some(bad), 5), 10, "{bad}");
            assert_eq!(checkpoint_interval(Some(bad), 50_000), 100, "{bad}");
        }
    }

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

    /// An object laid out as Parquet: `PAR1`, data, footer, footer length, `PAR1`.
    fn object(data: &[u8], footer: &[u8]) -> Vec<u8> {
        let mut o = b"PAR1".to_vec();
        o.extend_from_slice(data);
        o.extend_from_slice(footer);
        o.extend_from_slice(&(footer.len() as u32).to_le_bytes());
        o.extend_from_slice(b"PAR1");
        o
    }

    #[test]
    fn checkpoint_checksum_is_the_zlib_crc32_of_the_bytes_before_the_footer() {
        // The check value of CRC-32/ISO-HDLC, as SPEC §10.2.5 gives it.
        assert_eq!(checkpoint_checksum(b"123456789"), "crc32:cbf43926");
        let good = object(b"pages", b"footer");
        let sum = checkpoint_checksum(&good[..4 + 5]);
        verify_checkpoint_checksum(&good, &sum).unwrap();
        // The footer is not covered; any byte before it is.
        let mut footer_changed = good.clone();
        footer_changed[10] ^= 1;
        verify_checkpoint_checksum(&footer_changed, &sum).unwrap();
        for at in 0..9 {
            let mut bad = good.clone();
            bad[at] ^= 0x10;
            let e = verify_checkpoint_checksum(&bad, &sum).unwrap_err();
            assert!(e.contains("do not match its checksum"), "{e}");
        }
        for malformed in [
            "",
            "crc32:",
            "crc32:CBF43926",
            "md5:cbf43926",
            "crc32:cbf4392g",
        ] {
            let e = verify_checkpoint_checksum(&good, malformed).unwrap_err();
            assert!(e.contains("8 lowercase hex digits"), "{malformed}: {e}");
        }
        assert!(verify_checkpoint_checksum(b"PAR1", &sum).is_err());
        let mut long_footer = good.clone();
        let n = long_footer.len();
        long_footer[n - 8..n - 4].copy_from_slice(&1000u32.to_le_bytes());
        let e = verify_checkpoint_checksum(&long_footer, &sum).unwrap_err();
        assert!(e.contains("footer length exceeds"), "{e}");
    }
}
