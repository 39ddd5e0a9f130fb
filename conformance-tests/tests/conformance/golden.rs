//! Golden tables (`conformance-tests/golden/`): the tables written by earlier versions must keep
//! reading identically. A failure of `golden_tables_read_identically` is a compatibility break:
//! fix the reader, never the golden files.

use std::path::{Path, PathBuf};

use strata_conformance::golden::{
    CHECKSUMS_FILE, GOLDEN_TABLES, WRITTEN_BY_EARLIER_VERSIONS, checksums, copy_dir, verify,
    write_golden,
};

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("golden")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn golden_tables_read_identically() {
    if let Err(e) = verify(&golden_dir()).await {
        panic!(
            "the golden tables do not read as they did (a compatibility break, not a golden \
             table to regenerate):\n{e}"
        );
    }
}

/// The generator still writes byte-identical tables: twice the same, and the same as the
/// checked-in ones. If the bytes a version writes change on purpose (engine version string,
/// Parquet writer, format extension), the comparison with the checked-in `CHECKSUMS` is what
/// changes — new golden tables are added beside the old ones, which must still verify.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn golden_generator_is_deterministic() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    write_golden(a.path()).await.unwrap();
    write_golden(b.path()).await.unwrap();
    for name in GOLDEN_TABLES {
        let first = checksums(&a.path().join(name)).unwrap();
        let second = checksums(&b.path().join(name)).unwrap();
        assert_eq!(first, second, "table `{name}` differs between two runs");
        let written = std::fs::read_to_string(a.path().join(name).join(CHECKSUMS_FILE)).unwrap();
        assert_eq!(
            written, first,
            "`{name}/{CHECKSUMS_FILE}` is not up to date"
        );
        if WRITTEN_BY_EARLIER_VERSIONS.iter().any(|(n, _)| n == name) {
            continue;
        }
        let checked_in =
            std::fs::read_to_string(golden_dir().join(name).join(CHECKSUMS_FILE)).unwrap();
        assert_eq!(
            first, checked_in,
            "the generator no longer writes the checked-in bytes of `{name}`"
        );
    }
}

/// Index of the first occurrence of `needle` in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_golden_table_is_detected() {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&golden_dir(), tmp.path()).unwrap();
    verify(tmp.path()).await.unwrap();

    // One flipped byte in a commit file: the checksum names the table and the file.
    let table = tmp.path().join("basic");
    let commit = table.join("_strata_log/00000000000000000001.json");
    let original = std::fs::read(&commit).unwrap();
    let mut bytes = original.clone();
    let at = find(&bytes, b"\"recordCount\":100").unwrap() + "\"recordCount\":".len();
    bytes[at] = b'9'; // 100 rows become 900
    std::fs::write(&commit, &bytes).unwrap();
    let err = verify(tmp.path()).await.unwrap_err();
    assert!(err.contains("golden table `basic`"), "{err}");
    assert!(
        err.contains("`_strata_log/00000000000000000001.json` changed"),
        "{err}"
    );
    assert!(!err.contains("`checkpointed`"), "{err}");

    // With the checksum updated too, the read itself differs: the first differing JSON path.
    std::fs::write(table.join(CHECKSUMS_FILE), checksums(&table).unwrap()).unwrap();
    let err = verify(tmp.path()).await.unwrap_err();
    assert!(err.contains("golden table `basic`"), "{err}");
    assert!(
        err.contains("at $.versions[1].recordCount: expected 100, read 900"),
        "{err}"
    );

    // A missing and an extra file are reported as such.
    std::fs::write(&commit, &original).unwrap();
    let log = tmp.path().join("relocated/_strata_log");
    std::fs::rename(
        log.join("00000000000000000008.json"),
        log.join("00000000000000000008.json.bak"),
    )
    .unwrap();
    let err = verify(tmp.path()).await.unwrap_err();
    assert!(err.contains("golden table `relocated`"), "{err}");
    assert!(
        err.contains("`_strata_log/00000000000000000008.json` is missing"),
        "{err}"
    );
    assert!(
        err.contains("`_strata_log/00000000000000000008.json.bak` is not in CHECKSUMS"),
        "{err}"
    );

    // A golden table that disappeared is a failure too.
    std::fs::remove_dir_all(tmp.path().join("evolved")).unwrap();
    let err = verify(tmp.path()).await.unwrap_err();
    assert!(err.contains("golden table `evolved`"), "{err}");
}

/// CRC-32 as SPEC §10.2.5 defines it, bit by bit (independent of the writer's crate).
fn spec_crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            // Reflected polynomial 0x04C11DB7.
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Checkpoints written since SPEC §10.2.5 carry in their footer the CRC-32 of every byte
/// before it, computed as the spec says; the ones of `typed`, written before, carry none and
/// still verify (`golden_tables_read_identically`).
#[test]
fn checkpoints_carry_the_checksum_the_spec_defines() {
    assert_eq!(spec_crc32(b"123456789"), 0xCBF4_3926);
    for (table, expect_checksum) in [("checksummed", true), ("typed", false)] {
        for v in [3, 6] {
            let path = golden_dir().join(format!("{table}/_strata_log/{v:020}.checkpoint.parquet"));
            let bytes = std::fs::read(&path).unwrap();
            let n = bytes.len();
            let footer_len = u32::from_le_bytes(bytes[n - 8..n - 4].try_into().unwrap()) as usize;
            let data_end = n - 8 - footer_len;
            let footer = &bytes[data_end..n - 8];
            let key = find(footer, b"strata.checksum");
            assert_eq!(key.is_some(), expect_checksum, "{table} v{v}");
            let Some(key) = key else { continue };
            let at = key + find(&footer[key..], b"crc32:").unwrap();
            let recorded = std::str::from_utf8(&footer[at..at + 14]).unwrap();
            assert_eq!(
                recorded,
                format!("crc32:{:08x}", spec_crc32(&bytes[..data_end])),
                "{table} v{v}"
            );
        }
    }
}
