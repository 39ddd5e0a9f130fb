//! A sorted map from file path to an action, shared between states by structure.
//!
//! A table state holds one entry per live file (and per tracked removed file): millions on a
//! large table. Every commit derives the next state from the one it read, and the old state
//! stays in use (readers, the cached latest). With a plain `BTreeMap` that derivation copied
//! every entry; a `PathMap` is a persistent B-tree whose clone is one reference count, and
//! whose change copies only the nodes on the path to the changed entry. Values are kept
//! behind `Arc`, so a copied node copies pointers, never the entries' statistics.

use std::fmt;
use std::sync::Arc;

/// Sorted map from path to `V` with O(1) clone and O(log n) change (see the module doc).
#[derive(Clone)]
pub struct PathMap<V> {
    inner: imbl::OrdMap<String, Arc<V>>,
}

impl<V> Default for PathMap<V> {
    fn default() -> Self {
        Self {
            inner: imbl::OrdMap::new(),
        }
    }
}

impl<V: Clone> PathMap<V> {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// The entry of `path`.
    pub fn get(&self, path: &str) -> Option<&V> {
        self.inner.get(path).map(|v| v.as_ref())
    }

    /// Whether `path` has an entry.
    pub fn contains_key(&self, path: &str) -> bool {
        self.inner.contains_key(path)
    }

    /// Paths in order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &String> + '_ {
        self.inner.keys()
    }

    /// Entries in path order.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &V> + '_ {
        self.inner.values().map(|v| v.as_ref())
    }

    /// Entries in path order, as the shared pointers the map holds: a reader that keeps
    /// entries (a scan's planned files) clones the pointer, never the entry.
    pub fn shared_values(&self) -> impl DoubleEndedIterator<Item = &Arc<V>> + '_ {
        self.inner.values()
    }

    /// The shared pointer to the entry of `path`.
    pub fn get_shared(&self, path: &str) -> Option<&Arc<V>> {
        self.inner.get(path)
    }

    /// `(path, entry)` pairs in path order.
    pub fn iter(&self) -> Iter<'_, V> {
        Iter {
            inner: self.inner.iter(),
        }
    }

    /// Inserts or replaces the entry of `path`; returns the previous one.
    pub fn insert(&mut self, path: String, value: V) -> Option<V> {
        self.inner
            .insert(path, Arc::new(value))
            .map(Arc::unwrap_or_clone)
    }

    /// Removes the entry of `path`.
    pub fn remove(&mut self, path: &str) -> Option<V> {
        self.inner.remove(path).map(Arc::unwrap_or_clone)
    }

    /// The entry of `path`, to change in place (copied first when another map shares it).
    pub fn get_mut(&mut self, path: &str) -> Option<&mut V> {
        self.inner.get_mut(path).map(Arc::make_mut)
    }

    /// Whether both maps are the same shared tree (a cheap test for "unchanged").
    pub fn ptr_eq(&self, other: &Self) -> bool {
        self.inner.ptr_eq(&other.inner)
    }
}

/// Iterator over `(path, entry)` pairs in path order.
pub struct Iter<'a, V> {
    inner: imbl::ordmap::Iter<'a, String, Arc<V>, imbl::shared_ptr::DefaultSharedPtr>,
}

impl<V> fmt::Debug for Iter<'_, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PathMap::Iter")
    }
}

impl<'a, V> Iterator for Iter<'a, V> {
    type Item = (&'a String, &'a V);

    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next().map(|(k, v)| (k, v.as_ref()))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl<V> DoubleEndedIterator for Iter<'_, V> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.inner.next_back().map(|(k, v)| (k, v.as_ref()))
    }
}

impl<'a, V: Clone> IntoIterator for &'a PathMap<V> {
    type Item = (&'a String, &'a V);
    type IntoIter = Iter<'a, V>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<V: Clone> FromIterator<(String, V)> for PathMap<V> {
    fn from_iter<I: IntoIterator<Item = (String, V)>>(iter: I) -> Self {
        let mut map = Self::new();
        for (k, v) in iter {
            map.insert(k, v);
        }
        map
    }
}

impl<V: Clone> std::ops::Index<&str> for PathMap<V> {
    type Output = V;

    /// The entry of `path`; panics when there is none, as indexing a standard map does.
    #[allow(clippy::panic)]
    fn index(&self, path: &str) -> &V {
        match self.get(path) {
            Some(v) => v,
            None => panic!("no entry for path `{path}`"),
        }
    }
}

impl<V: Clone> std::ops::Index<&String> for PathMap<V> {
    type Output = V;

    fn index(&self, path: &String) -> &V {
        &self[path.as_str()]
    }
}

impl<V: Clone + PartialEq> PartialEq for PathMap<V> {
    fn eq(&self, other: &Self) -> bool {
        self.ptr_eq(other)
            || (self.len() == other.len()
                && self
                    .iter()
                    .zip(other.iter())
                    .all(|((ka, va), (kb, vb))| ka == kb && va == vb))
    }
}

impl<V: Clone + fmt::Debug> fmt::Debug for PathMap<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn behaves_like_a_sorted_map_and_clones_share_until_changed() {
        let mut model: BTreeMap<String, u64> = BTreeMap::new();
        let mut map: PathMap<u64> = PathMap::new();
        for i in 0..2_000u64 {
            let k = format!("p{:05}", (i * 7919) % 2_000);
            assert_eq!(map.insert(k.clone(), i), model.insert(k, i));
        }
        let before = map.clone();
        assert!(before.ptr_eq(&map));
        for i in (0..2_000u64).step_by(3) {
            let k = format!("p{i:05}");
            assert_eq!(map.remove(&k), model.remove(&k));
        }
        if let Some(v) = map.get_mut("p00001") {
            *v = 42;
        }
        if let Some(v) = model.get_mut("p00001") {
            *v = 42;
        }
        assert_eq!(map.len(), model.len());
        assert!(map.iter().eq(model.iter()));
        assert!(map.keys().rev().eq(model.keys().rev()));
        assert_eq!(map.get("p00001"), Some(&42));
        assert!(!map.contains_key("p00000"));
        // The clone taken before the changes is untouched.
        assert_eq!(before.len(), 2_000);
        assert!(before.contains_key("p00000"));
        assert_ne!(before.get("p00001"), Some(&42));
        assert_ne!(before, map);
        let rebuilt: PathMap<u64> = model.into_iter().collect();
        assert_eq!(rebuilt, map);
    }
}
