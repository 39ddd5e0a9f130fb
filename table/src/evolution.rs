//! Schema and partition evolution: one commit with a `metadata` action (SPEC §4.4, §5).
//!
//! The rules live in `strata_format::evolution`; this adds the checks that need the table's
//! files and the commit.

use serde_json::Value;
use strata_format::evolution::{SchemaChange, apply_changes, with_new_default_spec};
use strata_format::{Action, DataType, PrimitiveType, Transform};

use crate::error::{Error, Result};
use crate::table::Table;
use crate::transaction::CommitResult;

impl Table {
    /// Applies `changes` (in order) to the schema as one commit (`CHANGE SCHEMA`). Data files
    /// are not rewritten: older files are read through the new schema by field id.
    pub async fn update_schema(&self, changes: Vec<SchemaChange>) -> Result<CommitResult> {
        let txn = self.transaction().await?;
        let base = txn.base();
        let metadata = apply_changes(base.metadata(), &changes)?;
        // SPEC §4.4.1: date -> timestamp only while no active file has min/max statistics.
        for change in &changes {
            if let SchemaChange::WidenColumn { path, to } = change {
                let index = base.schema().field_index();
                let Some((id, _)) = index.iter().find(|(_, info)| {
                    info.path == *path
                        && *info.data_type == DataType::Primitive(PrimitiveType::Date)
                }) else {
                    continue;
                };
                if matches!(to, PrimitiveType::Timestamp | PrimitiveType::Timestamptz)
                    && let Some(file) = base.files().values().find(|f| {
                        f.stats
                            .get(id)
                            .is_some_and(|s| s.min.is_some() || s.max.is_some())
                    })
                {
                    return Err(Error::InvalidOperation {
                        table: self.uri().to_string(),
                        message: format!(
                            "cannot widen `{path}` from date to {to}: data file `{}` holds \
                             min/max statistics in days for it, which would be read as \
                             microseconds (SPEC §4.4.1); rewrite the data first",
                            file.path
                        ),
                    });
                }
            }
        }
        let descriptions: Vec<Value> = changes
            .iter()
            .map(|c| Value::String(c.to_string()))
            .collect();
        txn.operation("CHANGE SCHEMA")
            .parameter("changes", Value::Array(descriptions))
            .parameter("schemaId", metadata.schema.schema_id())
            .action(Action::Metadata(Box::new(metadata)))
            .commit()
            .await
    }

    /// Makes a new partition spec of `(source column, transform)` fields the default one, as
    /// one commit (`CHANGE PARTITIONING`). Existing files keep their spec; nothing is
    /// rewritten. An empty list makes the table unpartitioned for new data.
    pub async fn update_partition_spec(
        &self,
        fields: Vec<(String, Transform)>,
    ) -> Result<CommitResult> {
        let txn = self.transaction().await?;
        let description: Vec<Value> = fields
            .iter()
            .map(|(c, t)| Value::String(format!("{t}({c})")))
            .collect();
        let metadata = with_new_default_spec(txn.base().metadata(), fields)?;
        txn.operation("CHANGE PARTITIONING")
            .parameter("fields", Value::Array(description))
            .parameter("specId", metadata.default_spec_id)
            .action(Action::Metadata(Box::new(metadata)))
            .commit()
            .await
    }
}
