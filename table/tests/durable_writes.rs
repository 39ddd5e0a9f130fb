//! Durable local writes (SPEC §2.4), checked through the store seam: a [`LocalStore`] whose
//! event hook records every staging write, file flush, link, rename and folder flush, while
//! the engine runs each writing operation on a local table. For every operation:
//!
//! - every object reaches its final name only after its bytes were flushed;
//! - the folder holding every new name (and the parent of every created folder) is flushed
//!   before the operation returns;
//! - a commit file is published only after every data file it names is durable.
//!
//! The same checks run against a store with flushing turned off, and must fail there.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use arrow::array::{Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{Field, Schema as ArrowSchema};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use strata_format::TierDef;
use strata_format::compact::{parse_partition_spec, parse_schema};
use strata_format::expr::Expr;
use strata_table::{
    CreateTable, FsEvent, LocalStore, MoveOptions, Table, TableLocation, TableOptions, WriteOptions,
};

/// Every event a store reported, in order.
#[derive(Default)]
struct Recorder(Mutex<Vec<FsEvent>>);

impl Recorder {
    fn take(&self) -> Vec<FsEvent> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

fn recording_store(flush: bool) -> (Arc<LocalStore>, Arc<Recorder>) {
    let rec = Arc::new(Recorder::default());
    let sink = rec.clone();
    let store = LocalStore::new()
        .unsafe_without_flush(!flush)
        .with_event_hook(Arc::new(move |e: &FsEvent| {
            sink.0.lock().unwrap().push(e.clone())
        }));
    (Arc::new(store), rec)
}

/// A name a write is staged under (`<name>#<digits>`), not a final name.
fn is_staged(p: &Path) -> bool {
    let s = p.to_string_lossy();
    s.rsplit_once('#')
        .is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// What the events of one operation show: the index at which each final name was published
/// and at which it became durable (its folder flushed after that).
#[derive(Debug, Default)]
struct Durable {
    published: HashMap<PathBuf, usize>,
    durable: HashMap<PathBuf, usize>,
}

/// Checks the write discipline over the events of one operation; the error lists each breach.
fn check(events: &[FsEvent]) -> Result<Durable, Vec<String>> {
    let mut problems = Vec::new();
    let mut flushed: HashSet<PathBuf> = HashSet::new();
    let mut out = Durable::default();
    let mut created: Vec<(usize, PathBuf)> = Vec::new();
    let mut dir_flushes: Vec<(usize, PathBuf)> = Vec::new();
    let mut publish = |i: usize, from: &Path, to: &Path, flushed: &HashSet<PathBuf>| {
        if !is_staged(to) {
            out.published.insert(to.to_path_buf(), i);
        }
        (!flushed.contains(from)).then(|| {
            format!(
                "#{i}: {} got the name {} before its bytes were flushed",
                from.display(),
                to.display()
            )
        })
    };
    for (i, e) in events.iter().enumerate() {
        match e {
            FsEvent::Write { path, .. } => {
                flushed.remove(path);
            }
            FsEvent::FlushFile { path } => {
                flushed.insert(path.clone());
            }
            FsEvent::Link { from, to } => {
                problems.extend(publish(i, from, to, &flushed));
                if flushed.contains(from) {
                    flushed.insert(to.clone());
                }
            }
            FsEvent::Rename { from, to } => {
                problems.extend(publish(i, from, to, &flushed));
                if flushed.remove(from) {
                    flushed.insert(to.clone());
                } else {
                    flushed.remove(to);
                }
            }
            FsEvent::CreateDir { path } => created.push((i, path.clone())),
            FsEvent::FlushDir { path } => dir_flushes.push((i, path.clone())),
            FsEvent::Remove { .. } => {}
            other => problems.push(format!("#{i}: unknown event {other:?}")),
        }
    }
    let flushed_after = |i: usize, dir: &Path| {
        dir_flushes
            .iter()
            .find(|(j, d)| *j > i && d == dir)
            .map(|(j, _)| *j)
    };
    for (name, &i) in &out.published {
        match flushed_after(i, name.parent().unwrap()) {
            Some(j) => {
                out.durable.insert(name.clone(), j);
            }
            None => problems.push(format!(
                "#{i}: the folder of {} was not flushed after it got its name",
                name.display()
            )),
        }
    }
    for (i, dir) in &created {
        if flushed_after(*i, dir.parent().unwrap()).is_none() {
            problems.push(format!(
                "#{i}: the parent of the new folder {} was not flushed",
                dir.display()
            ));
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// The files a commit file names: `add` paths under the table root, `add` and `relocate`
/// locations as local paths.
fn files_named_by(commit: &Path, root: &Path) -> Vec<PathBuf> {
    let text = std::fs::read_to_string(commit).unwrap();
    let mut files = Vec::new();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        for kind in ["add", "relocate"] {
            let Some(a) = v.get(kind) else { continue };
            match a.get("location").and_then(|l| l.as_str()) {
                Some(uri) => files.push(url::Url::parse(uri).unwrap().to_file_path().unwrap()),
                None if kind == "add" => files.push(root.join(a["path"].as_str().unwrap())),
                None => {}
            }
        }
    }
    files
}

/// Checks one operation's events, and that each commit it published came after every file it
/// names was durable. Returns the number of commits published.
fn check_operation(name: &str, events: &[FsEvent], root: &Path) -> usize {
    let durable = check(events).unwrap_or_else(|p| panic!("{name}:\n{}", p.join("\n")));
    let count = |f: fn(&FsEvent) -> bool| events.iter().filter(|e| f(e)).count();
    assert!(
        count(|e| matches!(e, FsEvent::FlushFile { .. })) > 0
            && count(|e| matches!(e, FsEvent::FlushDir { .. })) > 0,
        "{name}: no flush at all: {events:?}"
    );
    let log = root.join("_strata_log");
    let mut commits = 0;
    for (path, &at) in &durable.published {
        if path.parent() != Some(log.as_path()) || !path.to_string_lossy().ends_with(".json") {
            continue;
        }
        commits += 1;
        for file in files_named_by(path, root) {
            let ready = durable.durable.get(&file).copied();
            // A file published by an earlier operation is durable already.
            if let Some(ready) = ready {
                assert!(
                    ready < at,
                    "{name}: {} is named by {} (#{at}) before it was durable (#{ready})",
                    file.display(),
                    path.display()
                );
            } else {
                assert!(
                    file.exists(),
                    "{name}: {} names the missing {}",
                    path.display(),
                    file.display()
                );
            }
        }
    }
    commits
}

fn batch(ids: &[i64], region: &str) -> RecordBatch {
    let id: Arc<dyn Array> = Arc::new(Int64Array::from(ids.to_vec()));
    let region: Arc<dyn Array> = Arc::new(StringArray::from(vec![region; ids.len()]));
    RecordBatch::try_new(
        Arc::new(ArrowSchema::new(vec![
            Field::new("id", id.data_type().clone(), false),
            Field::new("region", region.data_type().clone(), false),
        ])),
        vec![id, region],
    )
    .unwrap()
}

#[tokio::test]
async fn every_local_write_is_flushed_before_it_is_named_and_before_it_returns() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("t");
    let (store, rec) = recording_store(true);
    let loc = TableLocation::parse(root.to_str().unwrap())
        .unwrap()
        .with_store(store.clone());
    let schema = parse_schema("id:int64,region:string").unwrap();
    let spec = parse_partition_spec("region", &schema, 0, 1000).unwrap();
    let create = CreateTable::new(schema)
        .with_partition_spec(spec)
        .with_property("strata.checkpointInterval", "1000");
    let t = Table::create_with(loc, create, TableOptions::default())
        .await
        .unwrap();
    assert_eq!(check_operation("create", &rec.take(), &root), 1);

    t.append([batch(&[1, 2, 3], "eu"), batch(&[4, 5], "us")])
        .await
        .unwrap();
    let events = rec.take();
    assert_eq!(check_operation("append", &events, &root), 1);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, FsEvent::CreateDir { path } if path.ends_with("region=eu"))),
        "the partition folders are new: {events:?}"
    );

    t.write(
        futures::stream::iter([Ok(batch(&[6, 7], "eu"))]),
        WriteOptions::overwrite(),
    )
    .await
    .unwrap();
    assert_eq!(check_operation("overwrite", &rec.take(), &root), 1);

    t.append([batch(&[8, 9, 10], "eu")]).await.unwrap();
    rec.take();
    t.delete(Expr::parse("id = 9").unwrap()).await.unwrap();
    assert_eq!(check_operation("delete", &rec.take(), &root), 1);

    let v = t.checkpoint().await.unwrap();
    let events = rec.take();
    assert_eq!(check_operation("checkpoint", &events, &root), 0);
    for name in [
        format!("{v:020}.checkpoint.parquet"),
        "_last_checkpoint".into(),
    ] {
        let p = root.join("_strata_log").join(&name);
        assert!(
            events
                .iter()
                .any(|e| matches!(e, FsEvent::Rename { to, .. } if *to == p)),
            "checkpoint: {name} not published: {events:?}"
        );
    }

    let cold = dir.path().join("cold");
    let cold_uri = url::Url::from_directory_path(&cold).unwrap().to_string();
    t.set_tiers(
        vec![
            TierDef {
                name: "hot".into(),
                location: None,
                storage_class: None,
            },
            TierDef {
                name: "cold".into(),
                location: Some(cold_uri.trim_end_matches('/').to_string()),
                storage_class: None,
            },
        ],
        Some("hot".into()),
    )
    .await
    .unwrap();
    rec.take();
    let paths: Vec<String> = t.latest().await.unwrap().files().keys().cloned().collect();
    t.move_files(&paths, "cold", &MoveOptions::immediate())
        .await
        .unwrap();
    let events = rec.take();
    assert_eq!(check_operation("tier move", &events, &root), 1);
    let journal = root.join("_strata_tier/moves");
    assert!(
        events.iter().any(
            |e| matches!(e, FsEvent::FlushDir { path } if *path == journal)
                || matches!(e, FsEvent::FlushDir { path } if path.starts_with(&journal))
        ),
        "the journal record is flushed: {events:?}"
    );
    let rows = t.latest().await.unwrap().files().len();
    assert_eq!(rows, paths.len());
}

#[tokio::test]
async fn multipart_uploads_and_copies_are_flushed_before_they_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let (store, rec) = recording_store(true);
    let obj = |p: &Path| ObjectPath::from_absolute_path(p).unwrap();
    let big = dir.path().join("a/b/big.bin");
    let mut upload = store.put_multipart(&obj(&big)).await.unwrap();
    let part = vec![7u8; 1 << 20];
    upload
        .put_part(PutPayload::from(part.clone()))
        .await
        .unwrap();
    upload
        .put_part(PutPayload::from(part.clone()))
        .await
        .unwrap();
    upload.complete().await.unwrap();
    check_operation("multipart", &rec.take(), dir.path());
    assert_eq!(std::fs::read(&big).unwrap().len(), 2 << 20);

    // A copy within the file system (a link), and one to another file system when the
    // machine has one (/dev/shm), which the kernel copies.
    let mut targets = vec![dir.path().join("c/copy.bin")];
    let shm = tempfile::tempdir_in("/dev/shm").ok();
    if let Some(shm) = &shm {
        targets.push(shm.path().join("x/copy.bin"));
    }
    for target in &targets {
        store.copy(&obj(&big), &obj(target)).await.unwrap();
        let events = rec.take();
        check_operation("copy", &events, dir.path());
        assert_eq!(std::fs::read(target).unwrap().len(), 2 << 20);
        let again = store.copy_if_not_exists(&obj(&big), &obj(target)).await;
        assert!(
            matches!(again, Err(object_store::Error::AlreadyExists { .. })),
            "{again:?}"
        );
        rec.take();
    }
    // Nothing staged is left behind.
    for d in [big.parent().unwrap(), targets[0].parent().unwrap()] {
        let names: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.contains('#')), "{names:?}");
    }
}

#[tokio::test]
async fn the_checks_fail_on_a_store_that_does_not_flush() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("t");
    let (store, rec) = recording_store(false);
    assert!(!store.flushes());
    assert!(store.to_string().contains("UNSAFE"), "{store}");
    let loc = TableLocation::parse(root.to_str().unwrap())
        .unwrap()
        .with_store(store);
    let schema = parse_schema("id:int64,region:string").unwrap();
    let t = Table::create_with(loc, CreateTable::new(schema), TableOptions::default())
        .await
        .unwrap();
    t.append([batch(&[1], "eu")]).await.unwrap();
    let problems = check(&rec.take()).unwrap_err();
    assert!(
        problems
            .iter()
            .any(|p| p.contains("before its bytes were flushed")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("was not flushed after")),
        "{problems:?}"
    );
}

#[tokio::test]
async fn put_if_absent_refuses_an_existing_name_and_leaves_nothing_staged() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _rec) = recording_store(true);
    let p = dir.path().join("log/00000000000000000000.json");
    let path = ObjectPath::from_absolute_path(&p).unwrap();
    let create = object_store::PutOptions {
        mode: object_store::PutMode::Create,
        ..Default::default()
    };
    store
        .put_opts(&path, PutPayload::from("first"), create.clone())
        .await
        .unwrap();
    let again = store
        .put_opts(&path, PutPayload::from("second"), create)
        .await;
    assert!(
        matches!(again, Err(object_store::Error::AlreadyExists { .. })),
        "{again:?}"
    );
    assert_eq!(std::fs::read_to_string(&p).unwrap(), "first");
    let names: Vec<_> = std::fs::read_dir(p.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    // Listings never show a staged name, even one left by a crash.
    std::fs::write(dir.path().join("log/00000000000000000001.json#1"), "x").unwrap();
    let listed: Vec<_> = futures::TryStreamExt::try_collect::<Vec<_>>(store.list(Some(
        &ObjectPath::from_absolute_path(dir.path().join("log")).unwrap(),
    )))
    .await
    .unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
}
