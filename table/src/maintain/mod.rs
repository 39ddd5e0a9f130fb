//! Table maintenance, which never changes a row: compaction (`OPTIMIZE`) and log retention
//! (`EXPIRE`).

pub(crate) mod expire;
pub(crate) mod optimize;
