//! `strata demo`: the README's main command.

use crate::common::*;

#[test]
fn demo_builds_a_table_and_walks_through_it() {
    let scratch = Scratch::new();
    let dir = scratch.file("demo");
    let out = ok(&["demo", &dir]);
    for step in [
        "== 1.",
        "time travel",
        "restore",
        "strata diff",
        "rowsDeleted",
        "deletion vectors",
    ] {
        assert!(
            out.to_lowercase().contains(&step.to_lowercase()),
            "{step}: {out}"
        );
    }
    let events = format!("{dir}/events");
    let s = json(&["show", &events]);
    assert!(s["rows"].as_u64().unwrap_or(0) > 0);
    assert!(s["version"].as_u64().unwrap_or(0) >= 5);
    // Running it again replaces the earlier demo.
    ok(&["demo", &dir]);
    assert_eq!(json(&["show", &events])["version"], s["version"]);
    // A folder that holds something else is not touched.
    let other = scratch.file("other");
    std::fs::create_dir_all(&other).expect("mkdir");
    std::fs::write(format!("{other}/keep.txt"), "x").expect("write");
    let err = fails(&["demo", &other], 1);
    assert!(err.contains("not touching it"), "{err}");
    assert!(std::path::Path::new(&format!("{other}/keep.txt")).exists());
}
