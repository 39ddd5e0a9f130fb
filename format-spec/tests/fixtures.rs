//! Wire-format fixtures: commit files exactly as they appear in `_strata_log/` (SPEC §3).
//!
//! * `fixtures/valid/<version>-<name>.json`: complete valid commit files. Together they form one
//!   table history, versions 0, 1, 2, ... (versions 0 to 4 are the worked example of SPEC
//!   Appendix A).
//! * `fixtures/invalid/<name>.json`: commit files that `decode_commit` must refuse, each invalid in
//!   exactly one way; decoded as version [`INVALID_VERSION`].
//! * `fixtures/invalid-state/<name>.json`: version-0 commit files that decode but that
//!   `TableState::from_first_commit` must refuse.
//!
//! Every invalid file has a sibling `<name>.expected` holding a substring of the error message.

use std::fs;
use std::path::{Path, PathBuf};

use strata_format::log::{Commit, LastCheckpoint, decode_commit, encode_commit};
use strata_format::{Action, TableState};

/// Version the files of `fixtures/invalid/` are decoded as.
const INVALID_VERSION: u64 = 1;

fn folder(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
        .join(name)
}

/// The `.json` files of a fixture folder as `(file name, path)`, sorted by name. Fails when the
/// folder holds none, so no test over a folder can pass vacuously.
fn json_files(name: &str) -> Result<Vec<(String, PathBuf)>, String> {
    let dir = folder(name);
    let entries = fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut out = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.extension().is_some_and(|x| x == "json") {
            let file = path
                .file_name()
                .and_then(|n| n.to_str())
                .ok_or_else(|| format!("{}: not a UTF-8 file name", path.display()))?
                .to_string();
            out.push((file, path));
        }
    }
    out.sort();
    if out.is_empty() {
        return Err(format!("fixture folder `{name}` holds no .json file"));
    }
    Ok(out)
}

/// Version encoded in a valid fixture's name: `<version>-<description>.json`.
fn version_of(file: &str) -> Result<u64, String> {
    file.split_once('-')
        .and_then(|(v, _)| v.parse().ok())
        .ok_or_else(|| format!("`{file}` does not start with `<version>-`"))
}

/// The expected error substring stored next to an invalid fixture.
fn expected_for(path: &Path) -> Result<String, String> {
    let p = path.with_extension("expected");
    let text = fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
    let text = text.trim_end_matches(['\n', '\r']).to_string();
    if text.is_empty() {
        return Err(format!("{} is empty", p.display()));
    }
    Ok(text)
}

/// The valid fixtures decoded, in version order.
fn valid_commits() -> Result<Vec<(String, Commit)>, String> {
    let mut out = Vec::new();
    for (file, path) in json_files("valid")? {
        let version = version_of(&file)?;
        let bytes = fs::read(&path).map_err(|e| e.to_string())?;
        let commit = decode_commit(version, &bytes).map_err(|e| format!("{file}: {e}"))?;
        out.push((file, commit));
    }
    out.sort_by_key(|(_, c)| c.version);
    Ok(out)
}

fn replay(commits: &[Commit]) -> Result<TableState, String> {
    let (first, rest) = commits.split_first().ok_or("no commits to replay")?;
    let mut state = TableState::from_first_commit(first).map_err(|e| e.to_string())?;
    for c in rest {
        state.apply(c).map_err(|e| e.to_string())?;
    }
    Ok(state)
}

#[test]
fn fixture_folders_are_non_empty_and_every_invalid_file_has_an_expectation() {
    assert!(json_files("valid").unwrap().len() >= 8);
    for name in ["invalid", "invalid-state"] {
        for (file, path) in json_files(name).unwrap() {
            expected_for(&path).unwrap_or_else(|e| panic!("{name}/{file}: {e}"));
        }
        for entry in fs::read_dir(folder(name)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|x| x == "expected") {
                assert!(
                    path.with_extension("json").exists(),
                    "{} has no .json sibling",
                    path.display()
                );
            }
        }
    }
}

#[test]
fn valid_commit_files_decode_and_round_trip_through_encode() {
    for (file, commit) in valid_commits().unwrap() {
        let bytes = encode_commit(commit.info.clone(), &commit.actions).unwrap();
        let again = decode_commit(commit.version, &bytes)
            .unwrap_or_else(|e| panic!("{file}: re-encoded commit does not decode: {e}"));
        // Unknown action lines are dropped on decode, so the re-encoded file counts only the
        // known actions; everything else must survive unchanged.
        let mut expected = commit.clone();
        expected.info.action_count = commit.actions.len() as u64;
        assert_eq!(again, expected, "{file} does not round-trip");
    }
}

#[test]
fn valid_commit_files_replay_in_version_order_as_one_table_history() {
    let commits: Vec<Commit> = valid_commits()
        .unwrap()
        .into_iter()
        .map(|(_, c)| c)
        .collect();
    for (i, c) in commits.iter().enumerate() {
        assert_eq!(
            c.version, i as u64,
            "valid fixture versions must be 0, 1, 2, ..."
        );
    }
    let state = replay(&commits).unwrap();
    assert_eq!(state.version(), commits.len() as u64 - 1);
    assert_eq!(state.metadata().schema.max_field_id(), 13);
    assert_eq!(state.files().len(), 3);
    let moved = state
        .files()
        .values()
        .find(|f| f.tier == "cold")
        .expect("the relocated file is still active");
    assert!(
        moved
            .location
            .as_deref()
            .is_some_and(|l| l.ends_with(&moved.path))
    );
    // Archived in place (9), then restored (10): the restore rides on the file's entry.
    assert_eq!(moved.storage_class.as_deref(), Some("GLACIER"));
    let restore = moved.restore.expect("the restore is recorded");
    assert_eq!(restore.expires_ms, Some(1_736_899_200_000));
    assert!(restore.readable_at(1_736_640_000_000) && !restore.readable_at(1_736_899_200_000));
    let (path, tombstone) = state.tombstones().iter().next().unwrap();
    assert_eq!(tombstone.tier.as_deref(), Some("cold"), "{path}");
    assert_eq!(tombstone.record_count, Some(800));
    assert_eq!(state.tags().len(), 1);
    assert_eq!(state.tags()["q4-report.final"], 4);
    assert_eq!(state.app_transactions()["ingest-job-42"].version, 18);
}

#[test]
fn unknown_action_lines_count_toward_action_count_but_are_dropped() {
    let commits = valid_commits().unwrap();
    let (_, c) = commits
        .iter()
        .find(|(f, _)| f.contains("unknown-action"))
        .unwrap();
    assert_eq!(c.info.action_count, 2);
    assert_eq!(c.actions.len(), 1);
    assert!(matches!(c.actions[0], Action::Txn(_)));
}

#[test]
fn unknown_fields_are_ignored_and_not_preserved() {
    let commits = valid_commits().unwrap();
    let (file, c) = commits
        .iter()
        .find(|(f, _)| f.contains("unknown-field"))
        .unwrap();
    let raw = fs::read_to_string(folder("valid").join(file)).unwrap();
    assert!(raw.contains("futureField") && raw.contains("futureCommitField"));
    let bytes = encode_commit(c.info.clone(), &c.actions).unwrap();
    let text = String::from_utf8(bytes).unwrap();
    assert!(!text.contains("future"), "{text}");
}

#[test]
fn invalid_commit_files_are_refused_with_the_expected_message() {
    for (file, path) in json_files("invalid").unwrap() {
        let expected = expected_for(&path).unwrap();
        let bytes = fs::read(&path).unwrap();
        match decode_commit(INVALID_VERSION, &bytes) {
            Ok(c) => panic!("invalid/{file} decoded: {c:?}"),
            Err(e) => {
                let msg = e.to_string();
                assert!(
                    msg.contains(&expected),
                    "invalid/{file}: error `{msg}` does not contain `{expected}`"
                );
                assert!(
                    msg.contains(&format!("log version {INVALID_VERSION}")),
                    "invalid/{file}: error `{msg}` does not name the version"
                );
            }
        }
    }
}

#[test]
fn invalid_state_commit_files_decode_but_fail_replay_with_the_expected_message() {
    for (file, path) in json_files("invalid-state").unwrap() {
        let expected = expected_for(&path).unwrap();
        let bytes = fs::read(&path).unwrap();
        let commit = decode_commit(0, &bytes)
            .unwrap_or_else(|e| panic!("invalid-state/{file} must decode: {e}"));
        match TableState::from_first_commit(&commit) {
            Ok(_) => panic!("invalid-state/{file} replayed without error"),
            Err(e) => {
                let msg = e.to_string();
                assert!(
                    msg.contains(&expected),
                    "invalid-state/{file}: error `{msg}` does not contain `{expected}`"
                );
            }
        }
    }
}

/// The fenced blocks of SPEC.md whose info string is exactly `lang`.
fn spec_blocks(lang: &str) -> Result<Vec<String>, String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("SPEC.md");
    let spec = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in spec.lines() {
        match current.as_mut() {
            None if line.trim_end() == format!("```{lang}") => current = Some(String::new()),
            None => {}
            Some(_) if line.trim_end() == "```" => blocks.extend(current.take()),
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
        }
    }
    Ok(blocks)
}

#[test]
fn spec_appendix_commit_files_decode_and_replay_and_match_the_fixtures() {
    let blocks = spec_blocks("ndjson").unwrap();
    assert_eq!(blocks.len(), 5, "Appendix A shows versions 0 to 4");
    let fixtures = valid_commits().unwrap();
    let mut commits = Vec::new();
    for (v, block) in blocks.iter().enumerate() {
        let c = decode_commit(v as u64, block.as_bytes())
            .unwrap_or_else(|e| panic!("SPEC.md example of version {v}: {e}"));
        assert_eq!(
            c, fixtures[v].1,
            "SPEC.md version {v} differs from the fixture"
        );
        commits.push(c);
    }
    let state = replay(&commits).unwrap();
    assert_eq!(state.tags()["q4-report"], 2);
    let pointer: Vec<LastCheckpoint> = spec_blocks("json")
        .unwrap()
        .iter()
        .filter_map(|b| serde_json::from_str::<LastCheckpoint>(b).ok())
        .collect();
    assert_eq!(pointer.len(), 1, "Appendix A shows one `_last_checkpoint`");
    assert_eq!(pointer[0].version, 4);
    assert_eq!(
        pointer[0].action_count,
        state.checkpoint_actions().len() as u64
    );
}
