//! Log actions (SPEC §3): the JSON objects a commit file holds, one per line.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{FormatError, Result};
pub use crate::file_stats::{FileStats, StatValue};
use crate::partition::PartitionSpec;
use crate::schema::{FieldId, Schema};

/// Name of the tier a table has when its metadata defines none.
pub const DEFAULT_TIER: &str = "hot";

/// Isolation level a writer asks for (SPEC §8.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub enum IsolationLevel {
    /// Every concurrent add that could match what the transaction read is a conflict.
    Serializable,
    /// Concurrent blind appends never conflict (they serialize after this transaction).
    #[default]
    WriteSerializable,
}

impl fmt::Display for IsolationLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IsolationLevel::Serializable => f.write_str("Serializable"),
            IsolationLevel::WriteSerializable => f.write_str("WriteSerializable"),
        }
    }
}

/// Provenance of a commit; always the first line of a commit file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommitInfo {
    /// In-commit timestamp, milliseconds since the Unix epoch; strictly increasing across versions.
    pub timestamp: i64,
    /// Unique id of the transaction (a UUID in canonical text form).
    pub txn_id: String,
    /// Operation name, e.g. `CREATE TABLE`, `APPEND`, `OVERWRITE`, `DELETE`, `RESTORE`.
    pub operation: String,
    /// Operation parameters (free-form, for humans and tools).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub operation_parameters: BTreeMap<String, Value>,
    /// Writer identification, e.g. `strata-table/0.1.0`.
    pub engine: String,
    /// Version the transaction read (absent for the first commit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_version: Option<u64>,
    /// Isolation level the writer used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isolation_level: Option<IsolationLevel>,
    /// True when the commit only adds files and read nothing.
    #[serde(default)]
    pub is_blind_append: bool,
    /// Number of action lines following this one in the commit file.
    pub action_count: u64,
    /// Free-form user text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_metadata: Option<String>,
    /// Counters such as `numAddedFiles`, `numAddedRows`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub operation_metrics: BTreeMap<String, i64>,
}

/// Reader/writer protocol requirements.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Protocol {
    /// Minimum reader version (this format: 1).
    pub min_reader_version: u32,
    /// Minimum writer version (this format: 1).
    pub min_writer_version: u32,
    /// Features every reader must implement.
    #[serde(default)]
    pub reader_features: Vec<String>,
    /// Features every writer must implement.
    #[serde(default)]
    pub writer_features: Vec<String>,
}

impl Default for Protocol {
    fn default() -> Self {
        Self {
            min_reader_version: 1,
            min_writer_version: 1,
            reader_features: Vec::new(),
            writer_features: Vec::new(),
        }
    }
}

/// A storage tier a table can keep data in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TierDef {
    /// Tier name, e.g. `hot`, `warm`, `cold`.
    pub name: String,
    /// Base URI of the tier; absent means the table root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Object storage class for objects in this tier (S3 names, e.g. `STANDARD_IA`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<String>,
}

/// Table metadata: identity, schema, partitioning, properties, tiers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    /// Table UUID; never changes.
    pub table_id: String,
    /// Optional human name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Optional description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Creation time, ms since epoch.
    pub created_time: i64,
    /// Current schema.
    pub schema: Schema,
    /// Every partition spec the table ever had (data files keep the spec they were written with).
    pub partition_specs: Vec<PartitionSpec>,
    /// Spec new data is written with.
    pub default_spec_id: i32,
    /// Highest schema field id ever assigned (ids are never reused).
    pub last_column_id: FieldId,
    /// Highest partition field id ever assigned.
    pub last_partition_id: i32,
    /// Table properties.
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
    /// Storage tiers; empty means a single tier `hot` at the table root.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tiers: Vec<TierDef>,
    /// Tier new data lands in; absent means the first tier (or `hot`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_tier: Option<String>,
    /// Tier policies: when files move to colder tiers (SPEC §6.5).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<crate::tiering::TierPolicy>,
}

impl Metadata {
    /// The default partition spec.
    pub fn default_spec(&self) -> Option<&PartitionSpec> {
        self.partition_specs
            .iter()
            .find(|s| s.spec_id == self.default_spec_id)
    }

    /// The spec with the given id.
    pub fn spec(&self, spec_id: i32) -> Option<&PartitionSpec> {
        self.partition_specs.iter().find(|s| s.spec_id == spec_id)
    }

    /// Name of the tier new data lands in.
    pub fn default_tier_name(&self) -> &str {
        self.default_tier
            .as_deref()
            .or_else(|| self.tiers.first().map(|t| t.name.as_str()))
            .unwrap_or(DEFAULT_TIER)
    }

    /// Validates internal consistency (SPEC §3.3).
    pub fn validate(&self) -> Result<()> {
        if self.table_id.trim().is_empty() {
            return Err(invalid("metadata.tableId", "must not be empty"));
        }
        if self.schema.max_field_id() > self.last_column_id {
            return Err(invalid(
                "metadata.lastColumnId",
                format!(
                    "{} is below the largest field id {} in the schema",
                    self.last_column_id,
                    self.schema.max_field_id()
                ),
            ));
        }
        let mut ids = std::collections::BTreeSet::new();
        for spec in &self.partition_specs {
            if !ids.insert(spec.spec_id) {
                return Err(invalid(
                    "metadata.partitionSpecs",
                    format!("spec id {} appears twice", spec.spec_id),
                ));
            }
            for f in &spec.fields {
                if f.field_id > self.last_partition_id {
                    return Err(invalid(
                        "metadata.lastPartitionId",
                        format!("partition field id {} exceeds it", f.field_id),
                    ));
                }
            }
        }
        let default = self.default_spec().ok_or_else(|| {
            invalid(
                "metadata.defaultSpecId",
                format!("no partition spec has id {}", self.default_spec_id),
            )
        })?;
        default.validate(&self.schema)?;
        let mut names = std::collections::BTreeSet::new();
        for t in &self.tiers {
            validate_name("metadata.tiers.name", &t.name)?;
            if !names.insert(t.name.as_str()) {
                return Err(invalid(
                    "metadata.tiers",
                    format!("tier `{}` appears twice", t.name),
                ));
            }
        }
        crate::tiering::validate_policies(self)?;
        if let Some(d) = &self.default_tier
            && !self.tiers.iter().any(|t| &t.name == d)
        {
            return Err(invalid(
                "metadata.defaultTier",
                format!("`{d}` is not one of the table's tiers"),
            ));
        }
        Ok(())
    }
}

/// Statistics of one column of a data file, keyed by field id in [`AddFile::stats`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ColumnStats {
    /// Lower bound of non-null values (single-value JSON encoding, SPEC §4.5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<StatValue>,
    /// Upper bound of non-null values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<StatValue>,
    /// Number of nulls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub null_count: Option<u64>,
    /// Number of NaN values (floating point columns).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nan_count: Option<u64>,
}

/// Where the deletion vector of a data file is (SPEC §7): a range of a deletion-vector object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeletionVectorDescriptor {
    /// Path of the file holding the bitmap, relative to the table root.
    pub path: String,
    /// Byte offset of the serialized bitmap.
    pub offset: u64,
    /// Length in bytes of the serialized bitmap.
    pub size_in_bytes: u64,
    /// Number of deleted rows.
    pub cardinality: u64,
}

/// A data file becomes part of the table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddFile {
    /// Logical identity of the file: a relative path under the table root (SPEC §2.3).
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Number of rows.
    pub record_count: u64,
    /// Time the file was written, ms since epoch.
    pub modification_time: i64,
    /// False when the add does not change the table's data (e.g. compaction).
    pub data_change: bool,
    /// Partition spec the file was written with.
    pub spec_id: i32,
    /// Schema the file was written with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_id: Option<i32>,
    /// Partition values keyed by partition field id; JSON null for a null value.
    #[serde(default)]
    pub partition_values: BTreeMap<i32, Value>,
    /// Per-column statistics keyed by schema field id.
    #[serde(default, skip_serializing_if = "FileStats::is_empty")]
    pub stats: FileStats,
    /// Tier the file is stored in.
    pub tier: String,
    /// Physical location (absolute URI) when it is not `<table root>/<path>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Storage class of the object, if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<String>,
    /// Restore of an archived object (SPEC §6.4.1), if one was requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore: Option<RestoreState>,
    /// Rows of the file that are deleted (SPEC §7), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_vector: Option<DeletionVectorDescriptor>,
}

/// A data file stops being part of the table (it stays readable by older versions).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoveFile {
    /// Logical path of the file removed.
    pub path: String,
    /// Time of the removal, ms since epoch.
    pub deletion_timestamp: i64,
    /// False when the table's data does not change (compaction, restore bookkeeping).
    pub data_change: bool,
    /// Size in bytes, copied from the add.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Rows, copied from the add.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_count: Option<u64>,
    /// Tier of the removed file (in commits copied from the add; in checkpoints authoritative).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    /// Physical location of the removed file when it is not `<table root>/<path>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Storage class of the removed file's object, if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<String>,
    /// Restore of an archived object (SPEC §6.4.1), if one was requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore: Option<RestoreState>,
    /// The removed file's deletion vector (SPEC §7), copied from the add.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_vector: Option<DeletionVectorDescriptor>,
}

/// A data file (active or removed) now lives at another physical location / tier (SPEC §6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Relocate {
    /// Logical path of the file.
    pub path: String,
    /// New tier.
    pub tier: String,
    /// New physical location (absolute URI); absent means `<table root>/<path>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Storage class at the new location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<String>,
    /// Restore of an archived object (SPEC §6.4.1), if one was requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore: Option<RestoreState>,
}

/// The restore of an object in an archive storage class (SPEC §6.4.1): requested at
/// `requested_ms`; readable until `expires_ms` once complete (absent while in progress).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestoreState {
    /// When the restore was requested, ms since epoch.
    pub requested_ms: i64,
    /// When the restored copy expires, ms since epoch; absent while the restore is in progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_ms: Option<i64>,
}

impl RestoreState {
    /// True when the restored copy is readable at `now_ms`.
    pub fn readable_at(&self, now_ms: i64) -> bool {
        self.expires_ms.is_some_and(|e| now_ms < e)
    }
}

/// A named reference to a version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tag {
    /// Tag name.
    pub name: String,
    /// Version it refers to.
    pub version: u64,
}

/// Deletes a tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Untag {
    /// Tag name.
    pub name: String,
}

/// Exactly-once bookkeeping: the last batch an application committed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppTransaction {
    /// Application id.
    pub app_id: String,
    /// Batch number; strictly increasing per application.
    pub version: u64,
    /// When it was written, ms since epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_updated: Option<i64>,
}

/// One log action.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Action {
    /// `commitInfo`
    CommitInfo(CommitInfo),
    /// `protocol`
    Protocol(Protocol),
    /// `metadata`
    Metadata(Box<Metadata>),
    /// `add`
    Add(Box<AddFile>),
    /// `remove`
    Remove(RemoveFile),
    /// `relocate`
    Relocate(Relocate),
    /// `tag`
    Tag(Tag),
    /// `untag`
    Untag(Untag),
    /// `txn`
    Txn(AppTransaction),
}

impl Action {
    /// The JSON key of the action.
    pub fn key(&self) -> &'static str {
        match self {
            Action::CommitInfo(_) => "commitInfo",
            Action::Protocol(_) => "protocol",
            Action::Metadata(_) => "metadata",
            Action::Add(_) => "add",
            Action::Remove(_) => "remove",
            Action::Relocate(_) => "relocate",
            Action::Tag(_) => "tag",
            Action::Untag(_) => "untag",
            Action::Txn(_) => "txn",
        }
    }

    /// Path of the data file the action concerns, if any.
    pub fn path(&self) -> Option<&str> {
        match self {
            Action::Add(a) => Some(&a.path),
            Action::Remove(r) => Some(&r.path),
            Action::Relocate(r) => Some(&r.path),
            _ => None,
        }
    }

    /// Serializes the action as one JSON line (without newline): `{"<key>":{...}}`.
    pub fn to_json_line(&self) -> Result<String> {
        let body = match self {
            Action::CommitInfo(a) => serde_json::to_string(a),
            Action::Protocol(a) => serde_json::to_string(a),
            Action::Metadata(a) => serde_json::to_string(a),
            Action::Add(a) => serde_json::to_string(a),
            Action::Remove(a) => serde_json::to_string(a),
            Action::Relocate(a) => serde_json::to_string(a),
            Action::Tag(a) => serde_json::to_string(a),
            Action::Untag(a) => serde_json::to_string(a),
            Action::Txn(a) => serde_json::to_string(a),
        }
        .map_err(|e| invalid(self.key(), e.to_string()))?;
        Ok(format!("{{\"{}\":{body}}}", self.key()))
    }

    /// Parses one JSON line. Returns `Ok(None)` for an action key this version does not know
    /// (readers ignore unknown actions, SPEC §3).
    ///
    /// One pass over the text: the object's single key selects the type its value is decoded
    /// into (checkpoints decode thousands of lines, so no intermediate tree is built).
    pub fn from_json_line(line: &str) -> std::result::Result<Option<Action>, String> {
        use serde::de::DeserializeSeed;
        let mut key = None;
        let mut de = serde_json::Deserializer::from_str(line);
        let parsed = ActionLine(&mut key)
            .deserialize(&mut de)
            .and_then(|a| de.end().map(|()| a))
            .map_err(|e| {
                use serde_json::error::Category;
                match (e.classify(), &key) {
                    (Category::Syntax | Category::Eof | Category::Io, _) => {
                        format!("not a JSON object: {e}")
                    }
                    _ if e.to_string().starts_with("an action line") => e.to_string(),
                    (_, None) => format!("not a JSON object: {e}"),
                    (_, Some(k)) => format!("`{k}`: {e}"),
                }
            })?;
        let Some(action) = parsed else {
            return Ok(None);
        };
        action.validate()?;
        Ok(Some(action))
    }

    /// Field-level validation of a single action (SPEC §3).
    pub fn validate(&self) -> std::result::Result<(), String> {
        let r = match self {
            Action::CommitInfo(c) => {
                if c.txn_id.trim().is_empty() {
                    Err(invalid("commitInfo.txnId", "must not be empty"))
                } else if c.operation.trim().is_empty() {
                    Err(invalid("commitInfo.operation", "must not be empty"))
                } else {
                    Ok(())
                }
            }
            Action::Protocol(p) => {
                if p.min_reader_version == 0 || p.min_writer_version == 0 {
                    Err(invalid("protocol", "versions start at 1"))
                } else {
                    Ok(())
                }
            }
            Action::Metadata(m) => m.validate(),
            Action::Add(a) => validate_path("add.path", &a.path)
                .and_then(|()| validate_name("add.tier", &a.tier))
                .and_then(|()| match &a.deletion_vector {
                    Some(d) => crate::dv::check_descriptor(d, a)
                        .map_err(|m| invalid("add.deletionVector", m)),
                    None => Ok(()),
                }),
            Action::Remove(r) => validate_path("remove.path", &r.path),
            Action::Relocate(r) => validate_path("relocate.path", &r.path)
                .and_then(|()| validate_name("relocate.tier", &r.tier)),
            Action::Tag(t) => validate_name("tag.name", &t.name),
            Action::Untag(t) => validate_name("untag.name", &t.name),
            Action::Txn(t) => {
                if t.app_id.is_empty() || t.app_id.chars().any(char::is_control) {
                    Err(invalid(
                        "txn.appId",
                        "must be non-empty without control characters",
                    ))
                } else {
                    Ok(())
                }
            }
        };
        r.map_err(|e| e.to_string())
    }
}

pub(crate) fn invalid(field: &str, message: impl Into<String>) -> FormatError {
    FormatError::InvalidField {
        field: field.to_string(),
        message: message.into(),
    }
}

/// Checks a logical data file path: relative, `/`-separated, no empty, `.` or `..` segments.
pub fn validate_path(field: &str, path: &str) -> Result<()> {
    let bad = path.is_empty()
        || path.starts_with('/')
        || path.contains('\\')
        || path.contains("://")
        || path.chars().any(char::is_control)
        || path
            .split('/')
            .any(|seg| seg.is_empty() || seg == "." || seg == "..");
    if bad {
        return Err(invalid(
            field,
            format!("`{path}` is not a relative path without empty, `.` or `..` segments"),
        ));
    }
    Ok(())
}

/// Checks a tag or tier name: 1 to 255 characters of `A-Z a-z 0-9 . _ -`, not starting with `.`.
pub fn validate_name(field: &str, name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 255
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(invalid(
            field,
            format!("`{name}` must be 1-255 characters of A-Z a-z 0-9 . _ - not starting with `.`"),
        ))
    }
}

/// Decodes one action line, `{"<key>": {...}}`, into `None` for an unknown key; the key is left
/// in the slot for error messages.
struct ActionLine<'a>(&'a mut Option<String>);

impl<'de> serde::de::DeserializeSeed<'de> for ActionLine<'_> {
    type Value = Option<Action>;

    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        d: D,
    ) -> std::result::Result<Option<Action>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for ActionLine<'_> {
    type Value = Option<Action>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object with exactly one action key")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<Option<Action>, A::Error> {
        use serde::de::Error as _;
        let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? else {
            return Err(A::Error::custom(
                "an action line must hold exactly one key, found 0",
            ));
        };
        *self.0 = Some(key.to_string());
        let action = match key.as_ref() {
            "commitInfo" => Some(Action::CommitInfo(map.next_value()?)),
            "protocol" => Some(Action::Protocol(map.next_value()?)),
            "metadata" => Some(Action::Metadata(Box::new(map.next_value()?))),
            "add" => Some(Action::Add(Box::new(map.next_value()?))),
            "remove" => Some(Action::Remove(map.next_value()?)),
            "relocate" => Some(Action::Relocate(map.next_value()?)),
            "tag" => Some(Action::Tag(map.next_value()?)),
            "untag" => Some(Action::Untag(map.next_value()?)),
            "txn" => Some(Action::Txn(map.next_value()?)),
            _ => {
                map.next_value::<serde::de::IgnoredAny>()?;
                None
            }
        };
        let mut extra = 0usize;
        while map.next_key::<serde::de::IgnoredAny>()?.is_some() {
            map.next_value::<serde::de::IgnoredAny>()?;
            extra += 1;
        }
        if extra > 0 {
            return Err(A::Error::custom(format!(
                "an action line must hold exactly one key, found {}",
                extra + 1
            )));
        }
        Ok(action)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_action_keys_are_ignored_and_bad_shapes_refused() {
        assert_eq!(
            Action::from_json_line(r#"{"futureThing":{"x":1}}"#).unwrap(),
            None
        );
        let err = Action::from_json_line(r#"{"add":{"path":"a.parquet"}}"#).unwrap_err();
        assert!(
            err.contains("`add`") && err.contains("missing field"),
            "{err}"
        );
        let err =
            Action::from_json_line(r#"{"tag":{"name":"a","version":1},"untag":{"name":"a"}}"#)
                .unwrap_err();
        assert!(err.contains("exactly one key"), "{err}");
        assert!(Action::from_json_line("[1,2]").is_err());
    }

    #[test]
    fn single_pass_line_parsing_names_syntax_errors_keys_and_duplicates() {
        let err = Action::from_json_line(r#"{"tag":{"name":"a" "version":1}}"#).unwrap_err();
        assert!(err.starts_with("not a JSON object"), "{err}");
        let err = Action::from_json_line(r#"{"tag":{"name":"a","version":1}} x"#).unwrap_err();
        assert!(err.starts_with("not a JSON object"), "{err}");
        let err = Action::from_json_line("{}").unwrap_err();
        assert!(err.contains("exactly one key, found 0"), "{err}");
        let err = Action::from_json_line(r#"{"tag":{"name":"a","version":"x"}}"#).unwrap_err();
        assert!(err.starts_with("`tag`: invalid type"), "{err}");
        // A repeated key is two keys, not "the last one wins".
        let twice = r#"{"untag":{"name":"a"},"untag":{"name":"b"}}"#;
        assert!(
            Action::from_json_line(twice)
                .unwrap_err()
                .contains("found 2")
        );
        assert_eq!(
            Action::from_json_line(r#"{"untag":{"name":"a"}}"#).unwrap(),
            Some(Action::Untag(Untag { name: "a".into() }))
        );
    }

    #[test]
    fn paths_must_be_relative_and_clean() {
        for bad in ["", "/abs", "a//b", "a/../b", "./a", "s3://b/k", "a\\b"] {
            assert!(validate_path("p", bad).is_err(), "{bad:?} accepted");
        }
        validate_path("p", "data/day=2024-01-01/part-0.parquet").unwrap();
    }

    #[test]
    fn names_are_restricted() {
        validate_name("n", "v1.0-release_2").unwrap();
        for bad in ["", ".hidden", "a/b", "a b", &"x".repeat(256)] {
            assert!(validate_name("n", bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn add_round_trips_through_a_json_line() {
        let add = AddFile {
            path: "data/a.parquet".into(),
            size: 10,
            record_count: 2,
            modification_time: 5,
            data_change: true,
            spec_id: 0,
            schema_id: Some(0),
            partition_values: BTreeMap::from([(1000, Value::from(3)), (1001, Value::Null)]),
            stats: FileStats::from([(
                1,
                ColumnStats {
                    min: Some(1u64.into()),
                    max: Some(9u64.into()),
                    null_count: Some(0),
                    nan_count: None,
                },
            )]),
            tier: "hot".into(),
            location: None,
            storage_class: None,
            restore: None,
            deletion_vector: None,
        };
        let line = Action::Add(Box::new(add.clone())).to_json_line().unwrap();
        assert!(
            line.starts_with(r#"{"add":{"path":"data/a.parquet""#),
            "{line}"
        );
        assert!(
            line.contains(r#""partitionValues":{"1000":3,"1001":null}"#),
            "{line}"
        );
        assert!(
            line.contains(r#""stats":{"1":{"min":1,"max":9,"nullCount":0}}"#),
            "{line}"
        );
        assert_eq!(
            Action::from_json_line(&line).unwrap(),
            Some(Action::Add(Box::new(add)))
        );
    }

    /// Found by the `log_entry` fuzz target: the partition value
    /// `6444444444444444444444444444444444444444444444446` (too large for an integer, so a float)
    /// was parsed one ULP off (`6.444444444444444e48`), re-serialized as such and re-parsed as
    /// `6.444444444444443e48`: rewriting an action (e.g. into a checkpoint) changed its values.
    #[test]
    fn float_values_survive_re_serialization_exactly() {
        for number in [
            "6444444444444444444444444444444444444444444444446",
            "0.30000000000000004",
            "2.2250738585072011e-308",
            "179769313486231570000000000000000000000000000000000000000000000000000000000000\
             000000000000000000000000000000000000000000000000000000000000000000000000000000\
             000000000000000000000000000000000000000000000000000000000000000000000000000000\
             00000000000000000000000000000000000000000000000000000000000000",
        ] {
            let line = format!(
                r#"{{"add":{{"path":"data/a.parquet","size":1,"recordCount":1,"modificationTime":0,"dataChange":true,"specId":0,"partitionValues":{{"1000":{number}}},"stats":{{"1":{{"min":{number},"max":{number}}}}},"tier":"hot"}}}}"#
            );
            let first = Action::from_json_line(&line).unwrap().unwrap();
            let again = Action::from_json_line(&first.to_json_line().unwrap())
                .unwrap()
                .unwrap();
            assert_eq!(again, first, "{number}");
            let Action::Add(add) = &first else {
                panic!("{first:?}")
            };
            let parsed: f64 = number.parse().unwrap();
            assert_eq!(
                add.partition_values[&1000].as_f64(),
                Some(parsed),
                "{number}"
            );
        }
    }
}
