//! Checksums and verification of the checked-in golden tables.

#[allow(unused_imports)]
use super::*;

// ---------------------------------------------------------------------------------------------
// Checksums and verification
// ---------------------------------------------------------------------------------------------

/// Relative `/`-separated paths of every file under `root`, sorted, except `CHECKSUMS`.
pub(super) fn list_files(root: &Path) -> std::io::Result<Vec<String>> {
    fn walk(dir: &Path, prefix: &str, out: &mut Vec<String>) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let rel = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            if entry.file_type()?.is_dir() {
                walk(&entry.path(), &rel, out)?;
            } else {
                out.push(rel);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(root, "", &mut out)?;
    out.retain(|p| p != CHECKSUMS_FILE);
    out.sort();
    Ok(out)
}

pub(super) fn sha256_hex(path: &Path) -> std::io::Result<String> {
    Ok(hex::encode(Sha256::digest(std::fs::read(path)?)))
}

/// The `CHECKSUMS` text of a table directory as it is now: one `<sha256 hex>  <relative path>`
/// line per file (every file but `CHECKSUMS`), sorted by path.
pub fn checksums(table_dir: &Path) -> std::io::Result<String> {
    let mut out = String::new();
    for rel in list_files(table_dir)? {
        let hash = sha256_hex(&table_dir.join(&rel))?;
        out.push_str(&format!("{hash}  {rel}\n"));
    }
    Ok(out)
}

pub(super) fn parse_checksums(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let (hash, path) = line
            .split_once("  ")
            .ok_or_else(|| format!("line {} is not `<sha256>  <path>`", i + 1))?;
        if out.insert(path.to_string(), hash.to_string()).is_some() {
            return Err(format!("line {}: `{path}` is listed twice", i + 1));
        }
    }
    Ok(out)
}

/// Checks the files of one table directory against its `CHECKSUMS`.
pub(super) fn verify_checksums(table_dir: &Path) -> Result<(), String> {
    let sums_path = table_dir.join(CHECKSUMS_FILE);
    let text = std::fs::read_to_string(&sums_path)
        .map_err(|e| format!("cannot read {CHECKSUMS_FILE}: {e}"))?;
    let listed = parse_checksums(&text).map_err(|e| format!("{CHECKSUMS_FILE}: {e}"))?;
    let present = list_files(table_dir).map_err(|e| format!("cannot list the files: {e}"))?;
    let mut problems = Vec::new();
    for rel in &present {
        match listed.get(rel) {
            None => problems.push(format!("`{rel}` is not in {CHECKSUMS_FILE} (extra file)")),
            Some(expected) => {
                let actual = sha256_hex(&table_dir.join(rel))
                    .map_err(|e| format!("cannot read `{rel}`: {e}"))?;
                if &actual != expected {
                    problems.push(format!(
                        "`{rel}` changed: sha256 {actual}, {CHECKSUMS_FILE} says {expected}"
                    ));
                }
            }
        }
    }
    let present: BTreeSet<&String> = present.iter().collect();
    for rel in listed.keys() {
        if !present.contains(rel) {
            problems.push(format!("`{rel}` is missing"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

pub(super) fn render(v: Option<&Value>) -> String {
    const MAX: usize = 200;
    let Some(v) = v else {
        return "nothing".into();
    };
    let s = v.to_string();
    if s.chars().count() > MAX {
        let cut: String = s.chars().take(MAX).collect();
        format!("{cut}…")
    } else {
        s
    }
}

pub(super) fn child_path(path: &str, key: &str) -> String {
    let plain = key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        format!("{path}.{key}")
    } else {
        format!("{path}[{}]", Value::from(key))
    }
}

/// The first place (JSON path from `$`) where `actual` differs from `expected`, with both
/// values; `None` when they are equal.
pub fn first_difference(expected: &Value, actual: &Value) -> Option<String> {
    fn diff(path: &str, e: &Value, a: &Value) -> Option<String> {
        match (e, a) {
            (Value::Object(eo), Value::Object(ao)) => {
                for (k, ev) in eo {
                    let p = child_path(path, k);
                    match ao.get(k) {
                        Some(av) => {
                            if let Some(d) = diff(&p, ev, av) {
                                return Some(d);
                            }
                        }
                        None => {
                            return Some(format!(
                                "{p}: expected {}, read nothing",
                                render(Some(ev))
                            ));
                        }
                    }
                }
                ao.iter()
                    .find(|(k, _)| !eo.contains_key(*k))
                    .map(|(k, av)| {
                        format!(
                            "{}: expected nothing, read {}",
                            child_path(path, k),
                            render(Some(av))
                        )
                    })
            }
            (Value::Array(ea), Value::Array(aa)) => {
                for (i, (ev, av)) in ea.iter().zip(aa).enumerate() {
                    if let Some(d) = diff(&format!("{path}[{i}]"), ev, av) {
                        return Some(d);
                    }
                }
                if ea.len() != aa.len() {
                    let i = ea.len().min(aa.len());
                    return Some(format!(
                        "{path}[{i}]: expected {}, read {} (expected {} elements, read {})",
                        render(ea.get(i)),
                        render(aa.get(i)),
                        ea.len(),
                        aa.len()
                    ));
                }
                None
            }
            _ if e == a => None,
            _ => Some(format!(
                "{path}: expected {}, read {}",
                render(Some(e)),
                render(Some(a))
            )),
        }
    }
    diff("$", expected, actual)
}

/// Verifies one golden table directory: its files against `CHECKSUMS`, then its reads against
/// `expected.json`.
pub async fn verify_table(table_dir: &Path) -> Result<(), String> {
    if !table_dir.is_dir() {
        return Err("the table directory is missing".into());
    }
    verify_checksums(table_dir)?;
    let text = std::fs::read_to_string(table_dir.join(EXPECTED_FILE))
        .map_err(|e| format!("cannot read {EXPECTED_FILE}: {e}"))?;
    let expected: Value =
        serde_json::from_str(&text).map_err(|e| format!("{EXPECTED_FILE} is not JSON: {e}"))?;
    let uri = table_dir
        .to_str()
        .ok_or_else(|| format!("`{}` is not valid UTF-8", table_dir.display()))?;
    let actual = describe(uri)
        .await
        .map_err(|e| format!("the table cannot be read: {e}"))?;
    match first_difference(&expected, &actual) {
        None => Ok(()),
        Some(d) => Err(format!("reads differently from {EXPECTED_FILE} at {d}")),
    }
}

/// Verifies every golden table under `dir` (each of [`GOLDEN_TABLES`] must be there, and any
/// other table directory is verified too). A failure means a compatibility break.
pub async fn verify(dir: &Path) -> Result<(), String> {
    let mut names: BTreeSet<String> = GOLDEN_TABLES.iter().map(|n| n.to_string()).collect();
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot list `{}`: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot list `{}`: {e}", dir.display()))?;
        if entry.path().is_dir() {
            names.insert(entry.file_name().to_string_lossy().into_owned());
        }
    }
    let mut failures = Vec::new();
    for name in &names {
        if let Err(e) = verify_table(&dir.join(name)).await {
            failures.push(format!("golden table `{name}`: {e}"));
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n"))
    }
}

/// Copies the directory tree `from` to `to` (created if needed).
pub fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target: PathBuf = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}
