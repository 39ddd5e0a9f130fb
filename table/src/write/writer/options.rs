//! Writer options: the `strata.write.*` table properties (SPEC §3.3.2) and the Parquet writer
//! properties they map to.

use std::collections::BTreeMap;

use arrow::datatypes::Schema as ArrowSchema;
use parquet::arrow::ArrowSchemaConverter;
use parquet::basic::{Compression, Encoding, Type as PhysicalType, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};

use crate::error::{Error, Result};

/// Table property: codec of data files, `zstd` (default), `lz4`, `snappy` or `none`.
pub const PROP_COMPRESSION: &str = "strata.write.compression";
/// Table property: zstd level (-131072..=22 as zstd accepts; default 3). Only valid with zstd.
pub const PROP_COMPRESSION_LEVEL: &str = "strata.write.compressionLevel";
/// Table property: size at which a data file is closed and the next one started (bytes).
pub const PROP_TARGET_FILE_SIZE: &str = "strata.write.targetFileSizeBytes";
/// Table property: maximum rows per Parquet row group.
pub const PROP_ROW_GROUP_ROWS: &str = "strata.write.rowGroupRows";
/// Table property: maximum estimated encoded bytes per Parquet row group.
pub const PROP_ROW_GROUP_BYTES: &str = "strata.write.rowGroupBytes";
/// Table property: bytes kept of string/binary min/max statistics.
pub const PROP_STATS_TRUNCATE_LENGTH: &str = "strata.write.statsTruncateLength";
/// Table property: `true` (default) or `false`: page statistics, column index and offset index.
pub const PROP_PAGE_INDEX: &str = "strata.write.pageIndex";
/// Table property: data files one write keeps open at once (one per partition being written);
/// past it, the least recently written one is completed. Bounds write memory.
pub const PROP_MAX_OPEN_FILES: &str = "strata.write.maxOpenFiles";

/// Rows handed to the Parquet encoder at a time; the granularity of file rolling.
pub const WRITE_SLICE_ROWS: usize = 8192;

const DEFAULT_ZSTD_LEVEL: i32 = 3;

/// Compression codec of data files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Codec {
    /// Zstandard at the given level.
    Zstd(i32),
    /// LZ4 (the Parquet `LZ4_RAW` codec).
    Lz4,
    /// Snappy.
    Snappy,
    /// No compression.
    Uncompressed,
}

impl Default for Codec {
    fn default() -> Self {
        Codec::Zstd(DEFAULT_ZSTD_LEVEL)
    }
}

/// How data files are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriterOptions {
    /// Compression codec (default zstd level 3).
    pub compression: Codec,
    /// A file is closed once it reaches about this size (default 128 MiB).
    pub target_file_size_bytes: u64,
    /// Maximum rows per row group (default 1,048,576).
    pub row_group_max_rows: usize,
    /// Maximum estimated encoded bytes per row group (default 64 MiB); bounds writer memory.
    pub row_group_max_bytes: usize,
    /// Write page-level statistics, the column index and the offset index (default true).
    pub page_index: bool,
    /// Bytes kept of string and binary min/max statistics (default 32).
    pub stats_truncate_length: usize,
    /// Files a partitioned write keeps open at once (default 32).
    pub max_open_files: usize,
}

impl Default for WriterOptions {
    fn default() -> Self {
        Self {
            compression: Codec::default(),
            target_file_size_bytes: 128 * 1024 * 1024,
            row_group_max_rows: 1024 * 1024,
            row_group_max_bytes: 64 * 1024 * 1024,
            page_index: true,
            stats_truncate_length: 32,
            max_open_files: 32,
        }
    }
}

fn invalid(key: &str, value: impl ToString, message: impl Into<String>) -> Error {
    Error::InvalidProperty {
        key: key.to_string(),
        value: value.to_string(),
        message: message.into(),
    }
}

fn positive<T: std::str::FromStr + PartialOrd + Default>(key: &str, v: &str) -> Result<T> {
    match v.trim().parse::<T>() {
        Ok(n) if n > T::default() => Ok(n),
        _ => Err(invalid(key, v, "expected a positive integer")),
    }
}

impl WriterOptions {
    /// Options from table properties (`strata.write.*`); absent properties keep their defaults,
    /// other properties are ignored.
    pub fn from_properties(props: &BTreeMap<String, String>) -> Result<Self> {
        let mut o = Self::default();
        let level = match props.get(PROP_COMPRESSION_LEVEL) {
            Some(v) => Some(
                v.trim()
                    .parse::<i32>()
                    .map_err(|_| invalid(PROP_COMPRESSION_LEVEL, v, "expected an integer"))?,
            ),
            None => None,
        };
        if let Some(v) = props.get(PROP_COMPRESSION) {
            o.compression = match v.trim().to_ascii_lowercase().as_str() {
                "zstd" => Codec::Zstd(DEFAULT_ZSTD_LEVEL),
                "lz4" => Codec::Lz4,
                "snappy" => Codec::Snappy,
                "none" | "uncompressed" => Codec::Uncompressed,
                _ => {
                    return Err(invalid(
                        PROP_COMPRESSION,
                        v,
                        "expected one of zstd, lz4, snappy, none",
                    ));
                }
            };
        }
        if let Some(level) = level {
            match o.compression {
                Codec::Zstd(_) => o.compression = Codec::Zstd(level),
                other => {
                    return Err(invalid(
                        PROP_COMPRESSION_LEVEL,
                        level,
                        format!("a level only applies to zstd, but the codec is {other:?}"),
                    ));
                }
            }
        }
        if let Some(v) = props.get(PROP_TARGET_FILE_SIZE) {
            o.target_file_size_bytes = positive(PROP_TARGET_FILE_SIZE, v)?;
        }
        if let Some(v) = props.get(PROP_ROW_GROUP_ROWS) {
            o.row_group_max_rows = positive(PROP_ROW_GROUP_ROWS, v)?;
        }
        if let Some(v) = props.get(PROP_ROW_GROUP_BYTES) {
            o.row_group_max_bytes = positive(PROP_ROW_GROUP_BYTES, v)?;
        }
        if let Some(v) = props.get(PROP_STATS_TRUNCATE_LENGTH) {
            o.stats_truncate_length = positive(PROP_STATS_TRUNCATE_LENGTH, v)?;
        }
        if let Some(v) = props.get(PROP_MAX_OPEN_FILES) {
            o.max_open_files = positive(PROP_MAX_OPEN_FILES, v)?;
        }
        if let Some(v) = props.get(PROP_PAGE_INDEX) {
            o.page_index = match v.trim().to_ascii_lowercase().as_str() {
                "true" => true,
                "false" => false,
                _ => return Err(invalid(PROP_PAGE_INDEX, v, "expected true or false")),
            };
        }
        o.validate()?;
        Ok(o)
    }

    /// Checks the options (the Parquet writer panics on some invalid values).
    pub fn validate(&self) -> Result<()> {
        if self.target_file_size_bytes == 0 {
            return Err(invalid(PROP_TARGET_FILE_SIZE, 0, "must be positive"));
        }
        if self.row_group_max_rows == 0 {
            return Err(invalid(PROP_ROW_GROUP_ROWS, 0, "must be positive"));
        }
        if self.row_group_max_bytes == 0 {
            return Err(invalid(PROP_ROW_GROUP_BYTES, 0, "must be positive"));
        }
        if self.stats_truncate_length == 0 {
            return Err(invalid(PROP_STATS_TRUNCATE_LENGTH, 0, "must be positive"));
        }
        if self.max_open_files == 0 {
            return Err(invalid(PROP_MAX_OPEN_FILES, 0, "must be positive"));
        }
        self.parquet_compression().map(|_| ())
    }

    fn parquet_compression(&self) -> Result<Compression> {
        Ok(match self.compression {
            Codec::Zstd(level) => Compression::ZSTD(ZstdLevel::try_new(level).map_err(|e| {
                invalid(
                    PROP_COMPRESSION_LEVEL,
                    level,
                    format!("not a zstd level: {e}"),
                )
            })?),
            Codec::Lz4 => Compression::LZ4_RAW,
            Codec::Snappy => Compression::SNAPPY,
            Codec::Uncompressed => Compression::UNCOMPRESSED,
        })
    }

    /// The Parquet writer properties of files of `schema` (SPEC §4.6): the codec, row-group
    /// limits and statistics of these options, and `BYTE_STREAM_SPLIT` as the encoding of every
    /// FLOAT and DOUBLE column's pages that are not dictionary-encoded. Dictionary encoding is
    /// tried first, as for every column: a column of few distinct values keeps it, and the writer
    /// falls back to byte stream split once the dictionary outgrows its page limit.
    pub(crate) fn writer_properties(&self, schema: &ArrowSchema) -> Result<WriterProperties> {
        let stats = if self.page_index {
            EnabledStatistics::Page
        } else {
            EnabledStatistics::Chunk
        };
        let descr =
            ArrowSchemaConverter::new()
                .convert(schema)
                .map_err(|e| Error::SchemaMismatch {
                    column: String::new(),
                    message: format!("no Parquet schema for the table's Arrow schema: {e}"),
                })?;
        let mut builder = WriterProperties::builder();
        for column in descr.columns() {
            if matches!(
                column.physical_type(),
                PhysicalType::FLOAT | PhysicalType::DOUBLE
            ) {
                builder =
                    builder.set_column_encoding(column.path().clone(), Encoding::BYTE_STREAM_SPLIT);
            }
        }
        Ok(builder
            .set_compression(self.parquet_compression()?)
            .set_max_row_group_row_count(Some(self.row_group_max_rows))
            .set_max_row_group_bytes(Some(self.row_group_max_bytes))
            .set_statistics_enabled(stats)
            .set_offset_index_disabled(false)
            .set_statistics_truncate_length(Some(self.stats_truncate_length))
            .build())
    }
}
