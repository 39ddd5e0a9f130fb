//! Row-level changes: deletes, updates and merges, by deletion vector (SPEC §7) or by
//! rewriting files, all committed through [`changes::RowChanges`] or the copy-on-write path.

pub(crate) mod changes;
pub(crate) mod delete;
pub(crate) mod merge;
pub(crate) mod rewrite;
pub(crate) mod rewrite_vectors;
pub(crate) mod vectors;
