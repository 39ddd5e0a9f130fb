//! Deletion vectors (SPEC §7): the set of deleted row positions of a data file, stored as a
//! 64-bit Roaring bitmap in the portable serialization shared with Apache Iceberg v3 and Delta
//! Lake, inside a deletion-vector object that holds the bitmaps of one commit.
//!
//! Pure encoding and validation; reading and writing the objects is the engine's.

use std::io::Cursor;

use roaring::RoaringTreemap;

use crate::actions::{AddFile, DeletionVectorDescriptor, Protocol};
use crate::error::{FormatError, Result};

/// The feature a table lists (reader and writer) when its files may carry deletion vectors.
pub const FEATURE: &str = "deletionVectors";
/// Table property: whether writers delete rows with vectors (`true`, the default when the
/// protocol lists the feature) or by rewriting files (`false`).
pub const PROP_DELETION_VECTORS: &str = "strata.deletionVectors";
/// First segment of the logical path of every deletion-vector object.
pub const DV_DIR: &str = "_strata_dv";
/// The first bytes of a deletion-vector object (§7.2); the first bitmap follows at offset 4.
pub const DV_MAGIC: &[u8; 4] = b"SDV1";

/// Whether the protocol lists the deletion-vector feature as a reader and a writer feature.
pub fn enabled_in(protocol: &Protocol) -> bool {
    protocol.reader_features.iter().any(|f| f == FEATURE)
        && protocol.writer_features.iter().any(|f| f == FEATURE)
}

/// The deleted row positions of one data file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeletionVector {
    rows: RoaringTreemap,
}

impl DeletionVector {
    /// An empty vector.
    pub fn new() -> Self {
        Self::default()
    }

    /// The vector of these positions.
    pub fn from_positions(positions: impl IntoIterator<Item = u64>) -> Self {
        Self {
            rows: positions.into_iter().collect(),
        }
    }

    /// Marks `position` deleted; returns whether it was not already.
    pub fn insert(&mut self, position: u64) -> bool {
        self.rows.insert(position)
    }

    /// Marks the positions `start..end` deleted.
    pub fn insert_range(&mut self, start: u64, end: u64) {
        if start < end {
            self.rows.insert_range(start..end);
        }
    }

    /// Whether `position` is deleted.
    pub fn contains(&self, position: u64) -> bool {
        self.rows.contains(position)
    }

    /// Number of deleted rows.
    pub fn cardinality(&self) -> u64 {
        self.rows.len()
    }

    /// Whether no row is deleted.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The largest deleted position.
    pub fn max(&self) -> Option<u64> {
        self.rows.max()
    }

    /// Deleted positions in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        self.rows.iter()
    }

    /// Deleted positions in `start..end`, in ascending order.
    pub fn range(&self, start: u64, end: u64) -> impl Iterator<Item = u64> + '_ {
        self.rows
            .iter()
            .skip_while(move |&p| p < start)
            .take_while(move |&p| p < end)
    }

    /// Adds every position of `other`.
    pub fn union_with(&mut self, other: &DeletionVector) {
        self.rows |= &other.rows;
    }

    /// The portable serialization (SPEC §7.1), run containers where they are smaller.
    pub fn encode(&self) -> Vec<u8> {
        let mut rows = self.rows.clone();
        rows.optimize();
        let mut out = Vec::with_capacity(rows.serialized_size());
        // Writing into a Vec cannot fail.
        let _ = rows.serialize_into(&mut out);
        out
    }

    /// Decodes the bitmap of `descriptor` from `bytes` (exactly the `sizeInBytes` bytes at its
    /// offset) and checks it against the descriptor and the file it belongs to (SPEC §7.3):
    /// the bytes are one complete serialization, the cardinality matches, and every position is
    /// below the file's `recordCount`. Errors name the data file and the vector object.
    pub fn decode(
        bytes: &[u8],
        descriptor: &DeletionVectorDescriptor,
        file: &AddFile,
    ) -> Result<Self> {
        let fail = |message: String| FormatError::InvalidDeletionVector {
            file: file.path.clone(),
            message: format!(
                "object `{}` at offset {}: {message}",
                descriptor.path, descriptor.offset
            ),
        };
        if bytes.len() as u64 != descriptor.size_in_bytes {
            return Err(fail(format!(
                "{} bytes read where the descriptor says {}",
                bytes.len(),
                descriptor.size_in_bytes
            )));
        }
        let mut cursor = Cursor::new(bytes);
        let rows = RoaringTreemap::deserialize_from(&mut cursor)
            .map_err(|e| fail(format!("not a 64-bit Roaring bitmap: {e}")))?;
        if cursor.position() != bytes.len() as u64 {
            return Err(fail(format!(
                "the bitmap ends after {} of its {} bytes",
                cursor.position(),
                bytes.len()
            )));
        }
        if rows.len() != descriptor.cardinality {
            return Err(fail(format!(
                "it holds {} positions where the descriptor's cardinality is {}",
                rows.len(),
                descriptor.cardinality
            )));
        }
        if let Some(max) = rows.max()
            && max >= file.record_count
        {
            return Err(fail(format!(
                "position {max} is past the file's {} rows",
                file.record_count
            )));
        }
        Ok(Self { rows })
    }
}

/// Builds deletion-vector objects: bitmaps appended after the magic, each addressed by a
/// descriptor (SPEC §7.2).
#[derive(Debug)]
pub struct DvObjectBuilder {
    path: String,
    bytes: Vec<u8>,
}

impl DvObjectBuilder {
    /// An object to be stored at logical path `path` (under [`DV_DIR`]).
    pub fn new(path: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            bytes: DV_MAGIC.to_vec(),
        }
    }

    /// Appends `vector` and returns its descriptor.
    pub fn push(&mut self, vector: &DeletionVector) -> DeletionVectorDescriptor {
        let encoded = vector.encode();
        let offset = self.bytes.len() as u64;
        self.bytes.extend_from_slice(&encoded);
        DeletionVectorDescriptor {
            path: self.path.clone(),
            offset,
            size_in_bytes: encoded.len() as u64,
            cardinality: vector.cardinality(),
        }
    }

    /// Bytes of the object so far.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether no bitmap was pushed.
    pub fn is_empty(&self) -> bool {
        self.bytes.len() == DV_MAGIC.len()
    }

    /// The object's logical path and bytes.
    pub fn finish(self) -> (String, Vec<u8>) {
        (self.path, self.bytes)
    }
}

/// The live rows of a file: `recordCount - cardinality` (SPEC §7.3).
pub fn live_rows(file: &AddFile) -> u64 {
    file.record_count
        .saturating_sub(file.deletion_vector.as_ref().map_or(0, |d| d.cardinality))
}

/// Checks a descriptor's own fields against its file (SPEC §7.3), without reading the bitmap.
pub fn check_descriptor(
    d: &DeletionVectorDescriptor,
    file: &AddFile,
) -> std::result::Result<(), String> {
    crate::actions::validate_path("deletionVector.path", &d.path).map_err(|e| e.to_string())?;
    if d.path.split('/').next() != Some(DV_DIR) {
        return Err(format!(
            "`{}` is not under `{DV_DIR}/`, where deletion-vector objects are (§7.2)",
            d.path
        ));
    }
    if d.offset < DV_MAGIC.len() as u64 {
        return Err(format!("offset {} is inside the object's magic", d.offset));
    }
    if d.size_in_bytes < 8 {
        return Err(format!(
            "sizeInBytes {} cannot hold a bitmap",
            d.size_in_bytes
        ));
    }
    if d.offset.checked_add(d.size_in_bytes).is_none() {
        return Err("offset + sizeInBytes overflows".into());
    }
    if d.cardinality == 0 {
        return Err("cardinality 0: a file without deleted rows has no vector".into());
    }
    if d.cardinality > file.record_count {
        return Err(format!(
            "cardinality {} is more than the file's {} rows",
            d.cardinality, file.record_count
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::add_file;

    #[test]
    fn vectors_round_trip_through_an_object() {
        let file = AddFile {
            record_count: 1 << 34,
            ..add_file("data/a.parquet", 10)
        };
        let mut a = DeletionVector::from_positions([0, 5, 1 << 33]);
        a.insert_range(100, 70_000);
        let b = DeletionVector::from_positions([7]);
        let mut obj = DvObjectBuilder::new("_strata_dv/x.bin");
        let da = obj.push(&a);
        let db = obj.push(&b);
        let (_, bytes) = obj.finish();
        assert_eq!(&bytes[..4], DV_MAGIC);
        let slice = |d: &DeletionVectorDescriptor| {
            &bytes[d.offset as usize..(d.offset + d.size_in_bytes) as usize]
        };
        assert_eq!(DeletionVector::decode(slice(&da), &da, &file).unwrap(), a);
        assert_eq!(DeletionVector::decode(slice(&db), &db, &file).unwrap(), b);
        assert_eq!(da.cardinality, 3 + 69_900);
        check_descriptor(&da, &file).unwrap();
    }

    #[test]
    fn decoding_checks_the_descriptor_and_the_file() {
        let file = AddFile {
            record_count: 10,
            ..add_file("data/a.parquet", 10)
        };
        let v = DeletionVector::from_positions([1, 2]);
        let bytes = v.encode();
        let d = DeletionVectorDescriptor {
            path: "_strata_dv/x.bin".into(),
            offset: 4,
            size_in_bytes: bytes.len() as u64,
            cardinality: 2,
        };
        DeletionVector::decode(&bytes, &d, &file).unwrap();
        let wrong_count = DeletionVectorDescriptor {
            cardinality: 3,
            ..d.clone()
        };
        let e = DeletionVector::decode(&bytes, &wrong_count, &file).unwrap_err();
        assert!(e.to_string().contains("cardinality is 3"), "{e}");
        assert!(e.to_string().contains("data/a.parquet"), "{e}");
        let small = AddFile {
            record_count: 2,
            ..file.clone()
        };
        let e = DeletionVector::decode(&bytes, &d, &small).unwrap_err();
        assert!(e.to_string().contains("past the file's 2 rows"), "{e}");
        let e = DeletionVector::decode(&bytes[..bytes.len() - 1], &d, &file).unwrap_err();
        assert!(e.to_string().contains("descriptor says"), "{e}");
        let mut trailing = bytes.clone();
        trailing.push(0);
        let long = DeletionVectorDescriptor {
            size_in_bytes: trailing.len() as u64,
            ..d.clone()
        };
        let e = DeletionVector::decode(&trailing, &long, &file).unwrap_err();
        assert!(e.to_string().contains("ends after"), "{e}");
        let e = DeletionVector::decode(
            &[1, 0, 0, 0, 0, 0, 0, 0, 9],
            &DeletionVectorDescriptor {
                size_in_bytes: 9,
                ..d.clone()
            },
            &file,
        )
        .unwrap_err();
        assert!(e.to_string().contains("not a 64-bit Roaring bitmap"), "{e}");
    }

    #[test]
    fn descriptors_are_confined_and_bounded() {
        let file = add_file("data/a.parquet", 10);
        let good = DeletionVectorDescriptor {
            path: "_strata_dv/x.bin".into(),
            offset: 4,
            size_in_bytes: 20,
            cardinality: 1,
        };
        check_descriptor(&good, &file).unwrap();
        for (bad, why) in [
            ("data/x.bin", "not under"),
            ("_strata_dv/../_strata_log/0.json", "`..`"),
            ("/etc/passwd", "relative"),
        ] {
            let d = DeletionVectorDescriptor {
                path: bad.into(),
                ..good.clone()
            };
            let e = check_descriptor(&d, &file).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
        let over = DeletionVectorDescriptor {
            cardinality: file.record_count + 1,
            ..good.clone()
        };
        assert!(check_descriptor(&over, &file).is_err());
        let zero = DeletionVectorDescriptor {
            cardinality: 0,
            ..good
        };
        assert!(check_descriptor(&zero, &file).is_err());
    }
}

#[cfg(test)]
mod portable_fixtures {
    //! Bitmaps serialized by another implementation (pyroaring 1.2.0 over CRoaring, see
    //! `tests/fixtures/roaring/README.md`): the bytes SPEC §7.1 describes.
    use super::*;
    use crate::testing::add_file;

    fn descriptor(bytes: &[u8], cardinality: u64) -> DeletionVectorDescriptor {
        DeletionVectorDescriptor {
            path: "_strata_dv/f.bin".into(),
            offset: 4,
            size_in_bytes: bytes.len() as u64,
            cardinality,
        }
    }

    fn file() -> AddFile {
        AddFile {
            record_count: 1 << 40,
            ..add_file("data/a.parquet", 1)
        }
    }

    #[test]
    fn sparse_array_containers_across_buckets() {
        let bytes = include_bytes!("../tests/fixtures/roaring/pyroaring_sparse.bin");
        let mut want: Vec<u64> = vec![0, 1, 2, 1000, 65535, 65536];
        want.extend(70_000..=70_099);
        want.extend([4_294_967_295, 4_294_967_296, 4_294_967_297, 8_589_934_597]);
        let v =
            DeletionVector::decode(bytes, &descriptor(bytes, want.len() as u64), &file()).unwrap();
        assert_eq!(v.iter().collect::<Vec<_>>(), want);
        // Our encoding (with runs) reads back to the same set.
        let ours = v.encode();
        let again =
            DeletionVector::decode(&ours, &descriptor(&ours, want.len() as u64), &file()).unwrap();
        assert_eq!(again, v);
    }

    #[test]
    fn run_containers_encode_to_the_same_bytes() {
        let bytes = include_bytes!("../tests/fixtures/roaring/pyroaring_runs.bin");
        let mut want = DeletionVector::from_positions([3, 7]);
        want.insert_range(100_000, 200_000);
        let v = DeletionVector::decode(bytes, &descriptor(bytes, 100_002), &file()).unwrap();
        assert_eq!(v, want);
        assert_eq!(
            want.encode(),
            bytes.to_vec(),
            "byte-for-byte as pyroaring writes it"
        );
        assert_eq!(v.range(5, 100_001).collect::<Vec<_>>(), vec![7, 100_000]);
    }
}

#[cfg(test)]
mod replay {
    //! Replay of replacements (SPEC §3.10 rule 3, §7.4).
    use crate::actions::{Action, Protocol};
    use crate::log::Commit;
    use crate::state::TableState;
    use crate::testing::{add, commit, create_commit, remove};

    const T0: i64 = 1_700_000_000_000;

    fn table_with(commits: Vec<Commit>) -> crate::Result<TableState> {
        let mut s = TableState::from_first_commit(&create_commit())?;
        for c in &commits {
            s.apply(c)?;
        }
        Ok(s)
    }

    fn with_vector(path: &str, rows: u64, deleted: u64) -> Action {
        let mut f = crate::testing::add_file(path, rows);
        f.deletion_vector = Some(crate::actions::DeletionVectorDescriptor {
            path: "_strata_dv/v.bin".into(),
            offset: 4,
            size_in_bytes: 16,
            cardinality: deleted,
        });
        Action::Add(Box::new(f))
    }

    fn enable_vectors() -> Action {
        Action::Protocol(Protocol {
            reader_features: vec![crate::dv::FEATURE.into()],
            writer_features: vec![crate::dv::FEATURE.into()],
            ..Protocol::default()
        })
    }

    #[test]
    fn vector_replacements_replay_and_count_live_rows() {
        let s = table_with(vec![
            commit(1, T0 + 1, "APPEND", vec![enable_vectors(), add("a", 10)]),
            commit(
                2,
                T0 + 2,
                "DELETE",
                vec![remove("a"), with_vector("a", 10, 3)],
            ),
            commit(
                3,
                T0 + 3,
                "DELETE",
                vec![remove("a"), with_vector("a", 10, 4)],
            ),
        ])
        .unwrap();
        assert_eq!(s.record_count(), 6, "10 rows, 4 deleted");
        assert_eq!(
            s.files()
                .get("a")
                .unwrap()
                .deletion_vector
                .as_ref()
                .unwrap()
                .cardinality,
            4
        );
        assert!(
            s.tombstones().is_empty(),
            "a replaced file is live, not a tombstone"
        );
    }

    #[test]
    fn vector_replacements_are_refused_without_the_feature_or_for_another_file() {
        let no_feature = table_with(vec![
            commit(1, T0 + 1, "APPEND", vec![add("a", 10)]),
            commit(
                2,
                T0 + 2,
                "DELETE",
                vec![remove("a"), with_vector("a", 10, 3)],
            ),
        ])
        .unwrap_err();
        assert!(
            no_feature.to_string().contains("deletionVectors"),
            "{no_feature}"
        );
        let other_file = table_with(vec![
            commit(1, T0 + 1, "APPEND", vec![enable_vectors(), add("a", 10)]),
            commit(
                2,
                T0 + 2,
                "DELETE",
                vec![remove("a"), with_vector("a", 11, 3)],
            ),
        ])
        .unwrap_err();
        assert!(
            other_file.to_string().contains("`size` differs"),
            "{other_file}"
        );
        let add_first = table_with(vec![
            commit(1, T0 + 1, "APPEND", vec![enable_vectors(), add("a", 10)]),
            commit(
                2,
                T0 + 2,
                "DELETE",
                vec![with_vector("a", 10, 3), remove("a")],
            ),
        ])
        .unwrap_err();
        assert!(
            add_first.to_string().contains("more than one file action"),
            "{add_first}"
        );
        let twice = table_with(vec![
            commit(1, T0 + 1, "APPEND", vec![enable_vectors(), add("a", 10)]),
            commit(
                2,
                T0 + 2,
                "DELETE",
                vec![
                    remove("a"),
                    with_vector("a", 10, 3),
                    with_vector("a", 10, 4),
                ],
            ),
        ])
        .unwrap_err();
        assert!(
            twice.to_string().contains("more than one file action"),
            "{twice}"
        );
    }
}
