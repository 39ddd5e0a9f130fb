//! # strata-iceberg
//!
//! Apache Iceberg table metadata (format version 2) generated from a Strata table's log, so
//! that engines that read Iceberg (pyiceberg, DuckDB, Spark, Trino, …) read Strata tables
//! without a plugin. [`ensure_metadata`] writes the metadata of one version under the table's
//! `_strata_iceberg/` folder (lazily, cached by a hash of its inputs) and returns the location
//! of its `metadata.json`; `strata iceberg export` calls it, and a catalog server can too.
//!
//! # What is generated
//!
//! * **Schemas** with the same field ids: every schema of a retained version, with its schema
//!   id; the exported version's is current. Types map one to one: `boolean`, `int32` → `int`,
//!   `int64` → `long`, `float32` → `float`, `float64` → `double`, `decimal(P,S)`, `date`,
//!   `time`, `timestamp`, `timestamptz`, `string`, `binary`, and structs, lists and maps with
//!   the same element, key and value ids; `int8` and `int16`, which Iceberg lacks, are
//!   exported as `int` (the values fit).
//! * **Partition specs**: every spec of the table, with the same transforms (`identity`,
//!   `bucket[N]`, `truncate[W]`, `year`, `month`, `day`, `hour`, `void`), partition field ids
//!   and default spec id.
//! * **Snapshots**: one per retained Strata version `v`, with id and sequence number `v + 1`,
//!   the commit's timestamp, a summary (operation, added and deleted files and records,
//!   totals, `strata.version`), the snapshot log, the `main` branch at the exported version
//!   and every Strata tag as an Iceberg tag.
//! * **Manifests** (Avro, Iceberg's v2 schemas with field ids): one per snapshot, content and
//!   partition spec, listing every live file at its **current** physical location (SPEC §6.2,
//!   as an absolute URI), with its partition tuple, record count, size, value counts (for
//!   columns outside lists and maps), null and NaN counts and lower and upper bounds in
//!   Iceberg's single-value binary form; manifest lists carry partition summaries (nulls,
//!   NaNs, bounds) so readers skip whole manifests.
//! * **Deletes**: a deletion vector (SPEC §7) becomes a v2 position-delete file (Parquet,
//!   `file_path` and `pos`) of its data file, so Iceberg readers never see a deleted row.
//! * Sort order: unsorted (order id 0). Properties: the table's.
//!
//! # What is not exported
//!
//! * A field with an `initialDefault` is refused ([`Error::Unsupported`]): Iceberg v2 has no
//!   defaults, and its readers would return nulls where Strata returns the default.
//! * Files in an archive storage class (`GLACIER`, `DEEP_ARCHIVE`) that are not restored: the
//!   exported version is refused ([`Error::ArchivedFile`]); an older version holding such a
//!   file is left out of the snapshot list (Iceberg readers would fail reading it).
//! * `date` widened to `timestamp`: Iceberg v2 has no such promotion; readers may refuse
//!   files written before the widening.
//! * `truncate[W]` of an `int32` within `W` of its minimum: Strata's result does not fit an
//!   Iceberg `int`, and the export fails with [`Error::Invalid`].
//! * `timestamptz` partition values of `identity` fields are written without the Avro
//!   `adjust-to-utc` attribute (the Avro crate keeps no attributes on logical types); readers
//!   take the type from the partition spec (pyiceberg and DuckDB are tested with it).
//! * Cost: each new export replays every retained version and writes the manifests of every
//!   snapshot anew (O(versions × files)); sharing manifests between exports is future work.

mod avro;
mod deletes;
pub mod error;
mod export;
mod metadata;
mod partition;
mod schema;
mod values;

pub use error::{Error, Result};
pub use export::{ICEBERG_DIR, MetadataLocation, ensure_metadata};
pub use metadata::{snapshot_id, table_uuid};
