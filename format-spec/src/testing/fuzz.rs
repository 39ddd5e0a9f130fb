//! The checks the fuzz targets of `fuzz/` run on every input, shared with the stable replay test
//! below so that every committed corpus and regression input keeps passing under `cargo test`.
//!
//! Each check feeds arbitrary bytes to a parser. A parse error is a normal outcome (`Ok(())`);
//! `Err` means an invariant was broken (e.g. a decoded value does not survive an encode/decode
//! round trip), and the fuzz target turns it into a crash. A panic or a stack overflow inside the
//! parser is a crash by itself.

use crate::expr::Expr;
use crate::log::{
    LastCheckpoint, LogFileKind, checkpoint_file_name, commit_file_name, decode_commit,
    encode_commit, parse_log_file_name,
};
use crate::schema::{PrimitiveType, Schema, StructField};
use crate::{Action, PartitionSpec, compact};

/// A fuzz check: `Err` describes a broken invariant.
pub type Check = fn(&[u8]) -> Result<(), String>;

/// The checks of this crate by fuzz target name (`fuzz/fuzz_targets/<name>.rs`).
pub const CHECKS: &[(&str, Check)] = &[
    ("log_entry", log_entry),
    ("schema", schema),
    ("predicate", predicate),
];

/// Version commit files are decoded as (it only appears in error messages).
const VERSION: u64 = 7;

fn differs<T: std::fmt::Debug>(what: &str, first: &T, second: &T) -> String {
    format!("{what} does not round-trip:\n first: {first:?}\nsecond: {second:?}")
}

/// Commit files, single action lines, `_last_checkpoint` pointers and log object names.
///
/// Invariants: a decoded commit re-encodes (`encode_commit`) to a file that decodes to the same
/// commit info (with `actionCount` = the known actions) and actions, and re-encoding that is
/// stable; a parsed action line re-serializes to a line that parses to the same action; a
/// parsed `_last_checkpoint` round-trips; a parsed log file name is the canonical name of its
/// version.
pub fn log_entry(data: &[u8]) -> Result<(), String> {
    if let Ok(commit) = decode_commit(VERSION, data) {
        let mut info = commit.info.clone();
        info.action_count = commit.actions.len() as u64;
        let bytes = encode_commit(commit.info.clone(), &commit.actions)
            .map_err(|e| format!("a decoded commit does not encode: {e}"))?;
        let again = decode_commit(VERSION, &bytes)
            .map_err(|e| format!("a re-encoded commit does not decode: {e}"))?;
        if again.info != info {
            return Err(differs("commitInfo", &info, &again.info));
        }
        if again.actions != commit.actions {
            return Err(differs("actions", &commit.actions, &again.actions));
        }
        let bytes2 = encode_commit(again.info, &again.actions)
            .map_err(|e| format!("a re-decoded commit does not encode: {e}"))?;
        if bytes2 != bytes {
            return Err(differs(
                "commit encoding",
                &String::from_utf8_lossy(&bytes),
                &String::from_utf8_lossy(&bytes2),
            ));
        }
    }
    if let Ok(pointer) = serde_json::from_slice::<LastCheckpoint>(data) {
        let bytes = serde_json::to_vec(&pointer).map_err(|e| e.to_string())?;
        let again: LastCheckpoint = serde_json::from_slice(&bytes)
            .map_err(|e| format!("a re-encoded _last_checkpoint does not decode: {e}"))?;
        if again != pointer {
            return Err(differs("_last_checkpoint", &pointer, &again));
        }
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return Ok(());
    };
    for line in text.split_terminator('\n') {
        if let Ok(Some(action)) = Action::from_json_line(line) {
            let json = action
                .to_json_line()
                .map_err(|e| format!("a parsed action does not serialize: {e}"))?;
            match Action::from_json_line(&json) {
                Ok(Some(again)) if again == action => {}
                other => return Err(differs("action line", &Ok(Some(action)), &other)),
            }
        }
    }
    if let Some((version, kind)) = parse_log_file_name(text) {
        let canonical = match kind {
            LogFileKind::Commit => commit_file_name(version),
            LogFileKind::Checkpoint => checkpoint_file_name(version),
        };
        if canonical != text {
            return Err(format!(
                "log file name `{text}` parsed as ({version}, {kind:?}), whose name is `{canonical}`"
            ));
        }
    }
    Ok(())
}

/// The schema the `schema` target parses partition specs against when its input carries no
/// valid compact schema, and the `predicate` target binds against.
fn fixed_schema() -> Result<Schema, String> {
    Schema::new(
        0,
        vec![
            StructField::required(1, "id", PrimitiveType::Int64),
            StructField::optional(2, "name", PrimitiveType::String),
            StructField::optional(3, "ts", PrimitiveType::Timestamptz),
            StructField::optional(4, "day", PrimitiveType::Date),
            StructField::optional(5, "score", PrimitiveType::Float64),
            StructField::optional(
                6,
                "price",
                PrimitiveType::Decimal {
                    precision: 10,
                    scale: 2,
                },
            ),
            StructField::optional(7, "flag", PrimitiveType::Boolean),
            StructField::optional(8, "raw", PrimitiveType::Binary),
            StructField::optional(9, "t", PrimitiveType::Time),
            StructField::optional(10, "small", PrimitiveType::Int8),
        ],
    )
    .map_err(|e| format!("the fixed schema is invalid: {e}"))
}

fn json_round_trip<T>(what: &str, value: &T) -> Result<(), String>
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let bytes = serde_json::to_vec(value).map_err(|e| format!("{what} does not encode: {e}"))?;
    let again: T = serde_json::from_slice(&bytes)
        .map_err(|e| format!("a re-encoded {what} does not decode: {e}"))?;
    if &again != value {
        return Err(differs(what, value, &again));
    }
    let bytes2 = serde_json::to_vec(&again).map_err(|e| e.to_string())?;
    if bytes2 != bytes {
        return Err(differs(
            &format!("{what} encoding"),
            &String::from_utf8_lossy(&bytes),
            &String::from_utf8_lossy(&bytes2),
        ));
    }
    Ok(())
}

/// JSON schemas and partition specs (SPEC §4, §5), and the compact `name:type?,...` schema and
/// `day(ts),bucket(16,id)` partition spec syntax (`compact`).
///
/// The input is decoded whole as a JSON schema and as a JSON partition spec. As compact text it
/// is split at the first `|`: a schema before, a partition spec after (parsed against that schema
/// when valid, else against a fixed one).
///
/// Invariants: decoded schemas and specs round-trip through JSON; a compact schema has field ids
/// 1..=n in order and is valid JSON-wise too; a parsed partition spec validates against its
/// schema.
pub fn schema(data: &[u8]) -> Result<(), String> {
    if let Ok(s) = serde_json::from_slice::<Schema>(data) {
        json_round_trip("schema", &s)?;
    }
    if let Ok(spec) = serde_json::from_slice::<PartitionSpec>(data) {
        json_round_trip("partition spec", &spec)?;
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return Ok(());
    };
    let (schema_text, spec_text) = text.split_once('|').unwrap_or((text, ""));
    let parsed = compact::parse_schema(schema_text).ok();
    if let Some(s) = &parsed {
        for (i, f) in s.fields().iter().enumerate() {
            if usize::try_from(f.id).ok() != Some(i + 1) {
                return Err(format!(
                    "compact schema `{schema_text}`: column {} got id {}",
                    i + 1,
                    f.id
                ));
            }
        }
        json_round_trip("compact schema", s)?;
    }
    let against = match parsed {
        Some(s) => s,
        None => fixed_schema()?,
    };
    if let Ok(spec) = compact::parse_partition_spec(spec_text, &against, 1, 1000) {
        spec.validate(&against).map_err(|e| {
            format!("parse_partition_spec(`{spec_text}`) returned an invalid spec: {e}")
        })?;
        json_round_trip("compact partition spec", &spec)?;
    }
    Ok(())
}

/// Whether `e` is in the form `Display` promises to print as text that parses back (module
/// documentation of [`crate::expr`]): leaves compare, test or list a column against literals.
/// (Other shapes, e.g. `(a = 1) = 2`, parse but cannot be bound; they are printed with
/// parentheses around non-atomic operands, which may nest deeper than the parser accepts.)
fn parser_normal(e: &Expr) -> bool {
    let col = |e: &Expr| matches!(e, Expr::Column(_));
    let lit = |e: &Expr| matches!(e, Expr::Literal(_));
    match e {
        Expr::Column(_) | Expr::Literal(_) => true,
        Expr::Compare { left, right, .. } => col(left) && lit(right),
        Expr::In { expr, list, .. } => col(expr) && !list.is_empty() && list.iter().all(lit),
        Expr::IsNull { expr, .. } => col(expr),
        Expr::StartsWith { expr, prefix } => col(expr) && lit(prefix),
        Expr::And(a, b) | Expr::Or(a, b) => parser_normal(a) && parser_normal(b),
        Expr::Not(a) => parser_normal(a),
    }
}

/// SQL predicates (`Expr::parse`) and binding them to a fixed schema.
///
/// Invariants: a parsed expression in parser-normal form prints (`Display`) as text that parses
/// back to an equal expression; a bound expression only references field ids of the schema.
pub fn predicate(data: &[u8]) -> Result<(), String> {
    let Ok(text) = std::str::from_utf8(data) else {
        return Ok(());
    };
    let Ok(expr) = Expr::parse(text) else {
        return Ok(());
    };
    if !parser_normal(&expr) {
        return Ok(());
    }
    let printed = expr.to_string();
    match Expr::parse(&printed) {
        Ok(again) if again == expr => {}
        Ok(again) => {
            return Err(format!(
                "`{text}` parsed to {expr:?}, printed as `{printed}`, which parses to {again:?}"
            ));
        }
        Err(e) => {
            return Err(format!(
                "`{text}` parsed to {expr:?}, printed as `{printed}`, which does not parse: {e}"
            ));
        }
    }
    let schema = fixed_schema()?;
    if let Ok(bound) = expr.bind(&schema) {
        let ids = schema.field_index();
        if let Some(id) = bound
            .field_ids()
            .into_iter()
            .find(|id| !ids.contains_key(id))
        {
            return Err(format!(
                "`{text}` bound to field id {id}, which the schema does not have"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! Replays `fuzz/corpus/<target>/*` and `fuzz/regressions/<target>/*` through the checks, so
    //! that stable `cargo test` keeps every input the fuzzers found fixed.

    use std::fs;
    use std::path::{Path, PathBuf};

    use super::CHECKS;

    fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("fuzz")
            .join(kind)
            .join(target);
        let mut out: Vec<PathBuf> = fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| {
                        p.is_file()
                            && !p
                                .file_name()
                                .and_then(|n| n.to_str())
                                .is_some_and(|n| n.starts_with('.'))
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        out
    }

    #[test]
    fn every_fuzz_corpus_and_regression_input_passes_its_check() {
        let mut failures = Vec::new();
        for (target, check) in CHECKS {
            let seeds = inputs("corpus", target);
            assert!(
                !seeds.is_empty(),
                "fuzz/corpus/{target}/ holds no seed input"
            );
            for path in seeds.iter().chain(&inputs("regressions", target)) {
                let data = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                if let Err(e) = check(&data) {
                    failures.push(format!("{}: {e}", path.display()));
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    }
}
