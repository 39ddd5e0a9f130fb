//! Table maintenance: compaction (`OPTIMIZE`), which never changes a row.

pub(crate) mod optimize;
