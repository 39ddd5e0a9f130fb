//! Position-delete files (Iceberg format version 2): the deletion vector of one Strata data
//! file as a Parquet file of `(file_path, pos)` rows, sorted by position, with Iceberg's
//! reserved field ids. Pure: positions in, bytes out.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;

/// Field id of `file_path` in Iceberg's position-delete schema.
pub const FILE_PATH_ID: i32 = 2_147_483_546;
/// Field id of `pos`.
pub const POS_ID: i32 = 2_147_483_545;

fn field(name: &str, data_type: DataType, id: i32) -> Field {
    Field::new(name, data_type, false).with_metadata(HashMap::from([(
        "PARQUET:field_id".to_string(),
        id.to_string(),
    )]))
}

/// The Parquet bytes of a position-delete file deleting `positions` (ascending) of the data
/// file at `data_uri`.
pub fn position_delete_parquet(data_uri: &str, positions: &[u64]) -> Result<Vec<u8>, String> {
    let schema = Arc::new(Schema::new(vec![
        field("file_path", DataType::Utf8, FILE_PATH_ID),
        field("pos", DataType::Int64, POS_ID),
    ]));
    let paths: ArrayRef = Arc::new(StringArray::from(vec![data_uri; positions.len()]));
    let pos = positions
        .iter()
        .map(|p| i64::try_from(*p).map_err(|_| format!("position {p} exceeds a long")))
        .collect::<Result<Vec<_>, _>>()?;
    let pos: ArrayRef = Arc::new(Int64Array::from(pos));
    let batch =
        RecordBatch::try_new(schema.clone(), vec![paths, pos]).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut out, schema, None).map_err(|e| e.to_string())?;
    writer.write(&batch).map_err(|e| e.to_string())?;
    writer.close().map_err(|e| e.to_string())?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    #[test]
    fn writes_rows_with_field_ids() {
        let bytes = position_delete_parquet("file:///t/a.parquet", &[1, 5]).unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes)).unwrap();
        let fields = reader.schema().fields().clone();
        assert_eq!(
            fields[0]
                .metadata()
                .get("PARQUET:field_id")
                .map(String::as_str),
            Some("2147483546")
        );
        let batches: Vec<_> = reader.build().unwrap().collect::<Result<_, _>>().unwrap();
        assert_eq!(batches[0].num_rows(), 2);
    }
}
