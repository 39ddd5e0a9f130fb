//! [`FooterCache`]: parsed Parquet footers kept across scans.
//!
//! Reading a footer costs a request (or two) and parsing it costs CPU; a query engine that
//! runs many queries over the same table pays both on every scan. Data files are immutable
//! (a file of a table is never rewritten in place, SPEC §2.3: a new version writes new
//! files), so a footer parsed once stays valid for as long as the object exists.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use parquet::arrow::arrow_reader::ArrowReaderMetadata;

/// Bytes of parsed footers a [`FooterCache::default`] keeps (the size of DataFusion's own
/// cache of Parquet metadata).
pub const DEFAULT_FOOTER_CACHE_BYTES: usize = 50 * 1024 * 1024;

/// Names one object of one table: the table's `tableId` (a path is one byte sequence for the
/// life of a table, SPEC §2.3; a table created again at the same place is another table), the
/// store (its `scheme://authority`, or the table's URI for files under the table root), the
/// object's key, and its size.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct FooterKey {
    pub(crate) table_id: String,
    pub(crate) store: String,
    pub(crate) key: String,
    pub(crate) size: u64,
}

struct Entry {
    metadata: ArrowReaderMetadata,
    /// Whether the page index was asked for when the footer was read.
    page_index: bool,
    bytes: usize,
    /// Position in the use order (`State::order`).
    tick: u64,
}

#[derive(Default)]
struct State {
    entries: HashMap<FooterKey, Entry>,
    /// Keys by last use, oldest first.
    order: BTreeMap<u64, FooterKey>,
    bytes: usize,
    next_tick: u64,
    hits: u64,
    misses: u64,
}

/// A bounded cache of parsed Parquet footers (with their page index when a scan loaded it),
/// shared by every scan given it ([`crate::ScanBuilder::footer_cache`]) across tables.
/// The least recently used footers go first when the bytes they take
/// (`ParquetMetaData::memory_size`) exceed the capacity; a footer larger than the whole
/// capacity is not kept.
pub struct FooterCache {
    capacity: usize,
    state: Mutex<State>,
}

/// A copy of a [`FooterCache`]'s counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FooterCacheStats {
    /// Footers handed out without reading the file.
    pub hits: u64,
    /// Footers looked up and not found (each then read from the file).
    pub misses: u64,
    /// Footers held.
    pub entries: usize,
    /// Their size in memory.
    pub bytes: usize,
    /// The bound on `bytes`.
    pub capacity: usize,
}

impl std::fmt::Debug for FooterCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FooterCache")
            .field("stats", &self.stats())
            .finish()
    }
}

impl Default for FooterCache {
    fn default() -> Self {
        Self::new(DEFAULT_FOOTER_CACHE_BYTES)
    }
}

impl FooterCache {
    /// A cache holding at most `capacity` bytes of parsed footers (`0` keeps none).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            state: Mutex::new(State::default()),
        }
    }

    /// Its counters now.
    pub fn stats(&self) -> FooterCacheStats {
        let s = self.lock();
        FooterCacheStats {
            hits: s.hits,
            misses: s.misses,
            entries: s.entries.len(),
            bytes: s.bytes,
            capacity: self.capacity,
        }
    }

    /// Drops every footer (the counters stay).
    pub fn clear(&self) {
        let mut s = self.lock();
        s.entries.clear();
        s.order.clear();
        s.bytes = 0;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The footer of `key`, if held and read with the page index when `page_index` asks
    /// for it (a footer read with it serves a scan that does not need it).
    pub(crate) fn get(&self, key: &FooterKey, page_index: bool) -> Option<ArrowReaderMetadata> {
        let mut s = self.lock();
        let tick = s.next_tick;
        let found = match s.entries.get_mut(key) {
            Some(e) if e.page_index || !page_index => {
                let old = std::mem::replace(&mut e.tick, tick);
                Some((old, e.metadata.clone()))
            }
            _ => None,
        };
        match found {
            Some((old, metadata)) => {
                s.next_tick += 1;
                s.order.remove(&old);
                s.order.insert(tick, key.clone());
                s.hits += 1;
                Some(metadata)
            }
            None => {
                s.misses += 1;
                None
            }
        }
    }

    /// Keeps the footer of `key`, read with the page index if `page_index`, evicting the
    /// least recently used footers beyond the capacity. A footer held with its page index is
    /// not replaced by one read without (two scans may read the same footer at once).
    pub(crate) fn insert(&self, key: FooterKey, metadata: ArrowReaderMetadata, page_index: bool) {
        let bytes = metadata.metadata().memory_size();
        if bytes > self.capacity {
            return;
        }
        let mut s = self.lock();
        if !page_index && s.entries.get(&key).is_some_and(|e| e.page_index) {
            return;
        }
        if let Some(old) = s.entries.remove(&key) {
            s.order.remove(&old.tick);
            s.bytes -= old.bytes;
        }
        let tick = s.next_tick;
        s.next_tick += 1;
        s.order.insert(tick, key.clone());
        s.bytes += bytes;
        s.entries.insert(
            key,
            Entry {
                metadata,
                page_index,
                bytes,
                tick,
            },
        );
        while s.bytes > self.capacity {
            let Some((_, oldest)) = s.order.pop_first() else {
                break;
            };
            if let Some(e) = s.entries.remove(&oldest) {
                s.bytes -= e.bytes;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Int64Array, RecordBatch};
    use arrow::datatypes::{DataType, Field, Schema};
    use parquet::arrow::ArrowWriter;
    use parquet::arrow::arrow_reader::ArrowReaderOptions;

    use super::*;

    fn footer(rows: i64) -> ArrowReaderMetadata {
        let schema = Arc::new(Schema::new(vec![Field::new("a", DataType::Int64, false)]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(Int64Array::from_iter_values(0..rows))],
        )
        .unwrap();
        let mut buf = Vec::new();
        let mut w = ArrowWriter::try_new(&mut buf, schema, None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        ArrowReaderMetadata::load(&bytes::Bytes::from(buf), ArrowReaderOptions::default()).unwrap()
    }

    fn key(name: &str) -> FooterKey {
        FooterKey {
            table_id: "t1".into(),
            store: "memory:///t".into(),
            key: name.into(),
            size: 100,
        }
    }

    #[test]
    fn hits_only_the_same_object_and_page_index() {
        let cache = FooterCache::default();
        let m = footer(10);
        cache.insert(key("a"), m, false);
        assert!(cache.get(&key("a"), false).is_some());
        // Read without the page index: no use to a scan that needs it.
        assert!(cache.get(&key("a"), true).is_none());
        // Another object, or the same key with another size, is another file.
        assert!(cache.get(&key("b"), false).is_none());
        let resized = FooterKey {
            size: 101,
            ..key("a")
        };
        assert!(cache.get(&resized, false).is_none());
        let recreated = FooterKey {
            table_id: "t2".into(),
            ..key("a")
        };
        assert!(cache.get(&recreated, false).is_none());
        let s = cache.stats();
        assert_eq!((s.hits, s.misses, s.entries), (1, 4, 1));
        // A footer read with the page index serves both.
        cache.insert(key("a"), footer(10), true);
        assert!(cache.get(&key("a"), true).is_some());
        assert!(cache.get(&key("a"), false).is_some());
        assert_eq!(cache.stats().entries, 1);
        // A scan without the page index that read the footer meanwhile does not replace it.
        cache.insert(key("a"), footer(10), false);
        assert!(cache.get(&key("a"), true).is_some());
        assert_eq!(cache.stats().entries, 1);
    }

    #[test]
    fn evicts_least_recently_used_beyond_capacity() {
        let one = footer(10).metadata().memory_size();
        // Room for two footers, not three.
        let cache = FooterCache::new(one * 2 + one / 2);
        cache.insert(key("a"), footer(10), false);
        cache.insert(key("b"), footer(10), false);
        // `a` used last: `b` is the one to go.
        assert!(cache.get(&key("a"), false).is_some());
        cache.insert(key("c"), footer(10), false);
        let s = cache.stats();
        assert_eq!(s.entries, 2);
        assert!(s.bytes <= s.capacity, "{s:?}");
        assert!(cache.get(&key("a"), false).is_some());
        assert!(cache.get(&key("b"), false).is_none());
        assert!(cache.get(&key("c"), false).is_some());
        // Nothing is kept by a cache of no bytes.
        let none = FooterCache::new(0);
        none.insert(key("a"), footer(10), false);
        assert_eq!(none.stats().entries, 0);
        cache.clear();
        assert_eq!((cache.stats().entries, cache.stats().bytes), (0, 0));
    }
}
