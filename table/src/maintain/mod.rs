//! Table maintenance, which never changes a row: compaction (`OPTIMIZE`), log retention
//! (`EXPIRE`) and deleting what no retained version needs (`VACUUM`), and the scheduled run of
//! all of them a table's properties describe.

pub(crate) mod expire;
pub(crate) mod optimize;
pub(crate) mod scheduled;
pub(crate) mod vacuum;
