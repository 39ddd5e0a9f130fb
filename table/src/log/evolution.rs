//! Schema and partition evolution: one commit with a `metadata` action (SPEC §4.4, §5).
//!
//! The rules live in `strata_format::evolution`; this adds the checks that need the table's
//! files and the commit.

use serde_json::Value;
use strata_format::evolution::{SchemaChange, apply_changes, with_new_default_spec};
use strata_format::{Action, DataType, PrimitiveType, Transform};

use crate::error::{Error, Result};
use crate::log::transaction::CommitResult;
use crate::table::Table;

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

impl Table {
    /// Sets and removes table properties as one commit (`SET PROPERTIES`). Setting
    /// `strata.deletionVectors` to `true` on a table whose protocol lacks the feature adds it
    /// (a `protocol` action in the same commit, SPEC §7, §9.4); features are never removed, so
    /// `false` only stops writers from using vectors.
    pub async fn set_properties(
        &self,
        set: &std::collections::BTreeMap<String, String>,
        unset: &[String],
    ) -> Result<CommitResult> {
        use strata_format::{dv, typed_checkpoint};
        let invalid = |message: String| Error::InvalidOperation {
            table: self.uri().to_string(),
            message,
        };
        if let Some(v) = set.get(dv::PROP_DELETION_VECTORS)
            && v != "true"
            && v != "false"
        {
            return Err(invalid(format!(
                "{} must be `true` or `false`, not `{v}`",
                dv::PROP_DELETION_VECTORS
            )));
        }
        let typed_prop = typed_checkpoint::PROP_TYPED_CHECKPOINTS;
        if let Some(v) = set.get(typed_prop)
            && v != "true"
            && v != "false"
        {
            return Err(invalid(format!(
                "{typed_prop} must be `true` or `false`, not `{v}`"
            )));
        }
        let reserved = strata_format::retention::PROP_OLDEST_VERSION;
        if set.contains_key(reserved) || unset.iter().any(|k| k == reserved) {
            return Err(invalid(format!(
                "`{reserved}` is recorded by `strata expire` (SPEC §11.5), not set by hand"
            )));
        }
        for (k, v) in set {
            if k.starts_with(strata_format::maintenance::PREFIX) {
                strata_format::maintenance::MaintenanceSettings::check_setting(k, v)
                    .map_err(invalid)?;
            }
        }
        if let Some(k) = unset.iter().find(|k| set.contains_key(*k)) {
            return Err(invalid(format!("`{k}` is both set and unset")));
        }
        let txn = self.transaction().await?;
        let base = txn.base().clone();
        if set.get(typed_prop).is_some_and(|v| v == "false")
            && typed_checkpoint::enabled_in(base.protocol())
        {
            return Err(invalid(format!(
                "the table's protocol lists `{}`: a feature cannot be removed (SPEC §9.4), so \
                 {typed_prop} cannot become `false`",
                typed_checkpoint::FEATURE
            )));
        }
        let mut metadata = base.metadata().clone();
        for k in unset {
            metadata.properties.remove(k);
        }
        for (k, v) in set {
            metadata.properties.insert(k.clone(), v.clone());
        }
        metadata.validate()?;
        let mut txn = txn
            .operation("SET PROPERTIES")
            .parameter(
                "set",
                Value::Object(
                    set.iter()
                        .map(|(k, v)| (k.clone(), Value::from(v.clone())))
                        .collect(),
                ),
            )
            .parameter("unset", Value::from(unset.to_vec()));
        // `true` for a feature's property upgrades the protocol (SPEC §9.4).
        let mut protocol = base.protocol().clone();
        for (prop, feature) in [
            (dv::PROP_DELETION_VECTORS, dv::FEATURE),
            (
                typed_checkpoint::PROP_TYPED_CHECKPOINTS,
                typed_checkpoint::FEATURE,
            ),
        ] {
            if set.get(prop).is_some_and(|v| v == "true") {
                for list in [&mut protocol.reader_features, &mut protocol.writer_features] {
                    if !list.iter().any(|f| f == feature) {
                        list.push(feature.to_string());
                    }
                }
            }
        }
        if &protocol != base.protocol() {
            txn = txn.action(Action::Protocol(protocol));
        }
        txn.action(Action::Metadata(Box::new(metadata)))
            .commit()
            .await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Date32Array, Int64Array, RecordBatch, TimestampMicrosecondArray};
    use arrow::datatypes::{DataType as ArrowType, Field, Schema as ArrowSchema, TimeUnit};
    use arrow::util::pretty::pretty_format_batches;
    use strata_format::compact::parse_schema;

    use super::*;
    use crate::CreateTable;

    fn rows(ids: &[i64], d: Arc<dyn arrow::array::Array>) -> RecordBatch {
        let schema = ArrowSchema::new(vec![
            Field::new("id", ArrowType::Int64, false),
            Field::new("d", d.data_type().clone(), true),
        ]);
        RecordBatch::try_new(
            Arc::new(schema),
            vec![Arc::new(Int64Array::from(ids.to_vec())), d],
        )
        .unwrap()
    }

    #[tokio::test]
    async fn date_widened_to_timestamp_reads_old_files_through_the_new_type() {
        let t = Table::create(
            "memory://widen-date/t",
            CreateTable::new(parse_schema("id:int64,d:date?").unwrap()),
        )
        .await
        .unwrap();
        // Only nulls in `d`: the file has no min/max for it, so widening is allowed.
        let nulls: Arc<dyn arrow::array::Array> = Arc::new(Date32Array::from(vec![None, None]));
        t.append([rows(&[1, 2], nulls)]).await.unwrap();
        let widen = SchemaChange::WidenColumn {
            path: "d".into(),
            to: PrimitiveType::Timestamp,
        };
        t.update_schema(vec![widen]).await.unwrap();
        let ts: Arc<dyn arrow::array::Array> =
            Arc::new(TimestampMicrosecondArray::from(vec![Some(86_400_000_000)]));
        t.append([rows(&[3], ts)]).await.unwrap();
        let batches = t.scan().plan().await.unwrap().collect().await.unwrap();
        assert_eq!(
            batches[0]
                .schema()
                .field_with_name("d")
                .unwrap()
                .data_type(),
            &ArrowType::Timestamp(TimeUnit::Microsecond, None)
        );
        let text = pretty_format_batches(&batches).unwrap().to_string();
        assert!(text.contains("| 3  | 1970-01-02T00:00:00 |"), "{text}");
        assert!(text.contains("| 1  |                     |"), "{text}");
        // With dates in a file's statistics the widening is refused, naming the file.
        let t2 = Table::create(
            "memory://widen-date/t2",
            CreateTable::new(parse_schema("id:int64,d:date?").unwrap()),
        )
        .await
        .unwrap();
        let days: Arc<dyn arrow::array::Array> = Arc::new(Date32Array::from(vec![Some(1)]));
        t2.append([rows(&[1], days)]).await.unwrap();
        let widen = SchemaChange::WidenColumn {
            path: "d".into(),
            to: PrimitiveType::Timestamptz,
        };
        let err = t2.update_schema(vec![widen]).await.unwrap_err().to_string();
        assert!(
            err.contains("data file `data/") && err.contains("SPEC §4.4.1"),
            "{err}"
        );
    }
}
