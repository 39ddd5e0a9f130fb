//! Table maintenance, which never changes a row: compaction (`OPTIMIZE`), log retention
//! (`EXPIRE`) and deleting what no retained version needs (`VACUUM`).

pub(crate) mod expire;
pub(crate) mod optimize;
pub(crate) mod vacuum;
