//! Durable writes on a local file system (SPEC §2.4).
//!
//! An object store's put is durable when it returns; a file system's write is not: the bytes
//! sit in the page cache and the new name in a cached directory until the kernel writes them
//! back, so a power loss can take an acknowledged commit with it, or keep a log entry whose data
//! file is empty. Every write of [`LocalStore`](super::LocalStore) therefore follows one
//! sequence:
//!
//! 1. the bytes go into a **staged file** beside the target, `<name>#<n>` (a name that listings
//!    skip), creating missing folders;
//! 2. the staged file is **flushed** (`fdatasync`);
//! 3. it is **published** under its final name: `link(2)` for a put-if-absent (which fails when
//!    the name exists), `rename(2)` for an overwrite;
//! 4. the **folder** holding the final name is flushed (`fsync`), and so is the parent of every
//!    folder the write created, before the write returns.
//!
//! A crash before step 3 leaves at most a staged file that nothing reads; once step 4 is done
//! the object and its name survive. Since a put returns only after step 4, a writer that puts
//! its data files before the commit that names them (as every Strata writer does) never leaves
//! a durable log entry pointing at data that is not.
//!
//! **Shared folder flushes.** When several writes into one folder wait for its flush at once,
//! one `fsync` that starts after all of their names were published serves them all (group
//! commit): a commit that writes many files into one partition in parallel costs about one
//! folder flush, not one per file.
//!
//! Every step can be observed through an [`FsEventHook`], which is how the tests check the
//! order of flushes and renames for every operation.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, ErrorKind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// One step of a write on a local file system, as seen by an [`FsEventHook`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FsEvent {
    /// A folder was created on the way to a file (or found just created by a concurrent
    /// writer).
    CreateDir {
        /// The folder.
        path: PathBuf,
    },
    /// Bytes were written into a staged file (a kernel copy counts as a write).
    Write {
        /// The staged file.
        path: PathBuf,
        /// Bytes written.
        bytes: u64,
    },
    /// A file's data reached the disk (`fdatasync`).
    FlushFile {
        /// The file.
        path: PathBuf,
    },
    /// `to` became a second name of `from`'s file (`link(2)`).
    Link {
        /// The existing name.
        from: PathBuf,
        /// The new name.
        to: PathBuf,
    },
    /// `from` was renamed to `to`, replacing any file of that name (`rename(2)`).
    Rename {
        /// The old name.
        from: PathBuf,
        /// The new name.
        to: PathBuf,
    },
    /// A folder's entries reached the disk (`fsync` of the folder).
    FlushDir {
        /// The folder.
        path: PathBuf,
    },
    /// A staged name was removed (after its file was linked, or after a failure).
    Remove {
        /// The removed name.
        path: PathBuf,
    },
}

/// A callback that sees every [`FsEvent`] of a store, in the order they happen on each thread.
pub type FsEventHook = Arc<dyn Fn(&FsEvent) + Send + Sync>;

/// Folders whose entries a write changed, flushed once each when it is published.
pub(crate) type DirSet = BTreeSet<PathBuf>;

/// The write discipline of one local store: whether it flushes, and who watches.
pub(crate) struct Durability {
    flush: bool,
    hook: Option<FsEventHook>,
    dirs: DirFlusher,
}

impl fmt::Debug for Durability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Durability")
            .field("flush", &self.flush)
            .field("hook", &self.hook.is_some())
            .finish()
    }
}

/// The name a write is staged under before it is published as `dest`: `<dest>#<n>`.
/// `object_store`'s local listing skips names ending in `#` and digits.
fn staged_path(dest: &Path, n: u64) -> PathBuf {
    let mut name = dest.as_os_str().to_owned();
    name.push(format!("#{n}"));
    PathBuf::from(name)
}

/// The folder holding `path`.
pub(crate) fn parent_of(path: &Path) -> io::Result<&Path> {
    path.parent().ok_or_else(|| {
        io::Error::new(
            ErrorKind::InvalidInput,
            format!("`{}` has no parent folder", path.display()),
        )
    })
}

/// How often a write retries after finding its folder missing (a concurrent delete of an
/// empty folder can remove it again between creation and use).
const CREATE_ATTEMPTS: usize = 8;

impl Durability {
    pub(crate) fn new(flush: bool, hook: Option<FsEventHook>) -> Self {
        Self {
            flush,
            hook,
            dirs: DirFlusher::default(),
        }
    }

    /// Whether writes are flushed before they return.
    pub(crate) fn flushes(&self) -> bool {
        self.flush
    }

    /// The hook watching this store's writes.
    pub(crate) fn hook(&self) -> Option<FsEventHook> {
        self.hook.clone()
    }

    fn emit(&self, event: impl FnOnce() -> FsEvent) {
        if let Some(hook) = &self.hook {
            hook(&event());
        }
    }

    /// Records that `bytes` were written into `path`.
    pub(crate) fn wrote(&self, path: &Path, bytes: u64) {
        self.emit(|| FsEvent::Write {
            path: path.to_path_buf(),
            bytes,
        });
    }

    /// Creates a new, empty staged file beside `dest`, creating missing folders (recorded in
    /// `changed`).
    pub(crate) fn stage(&self, dest: &Path, changed: &mut DirSet) -> io::Result<(File, PathBuf)> {
        let mut n = 1;
        let mut attempts = 0;
        loop {
            let staged = staged_path(dest, n);
            match OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&staged)
            {
                Ok(file) => return Ok((file, staged)),
                Err(e) if e.kind() == ErrorKind::AlreadyExists => n += 1,
                Err(e) if e.kind() == ErrorKind::NotFound && attempts < CREATE_ATTEMPTS => {
                    attempts += 1;
                    self.create_parents(&staged, changed)?;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Creates the missing folders above `path`, top down. Each one created (or found created
    /// by a concurrent writer, whose flush of it may still be pending) puts its parent in
    /// `changed`.
    fn create_parents(&self, path: &Path, changed: &mut DirSet) -> io::Result<()> {
        let mut missing = Vec::new();
        let mut current = parent_of(path)?;
        loop {
            match std::fs::metadata(current) {
                Ok(_) => break,
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    missing.push(current.to_path_buf());
                    match current.parent() {
                        Some(up) => current = up,
                        None => break,
                    }
                }
                Err(e) => return Err(e),
            }
        }
        for dir in missing.into_iter().rev() {
            match std::fs::create_dir(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
            if let Some(up) = dir.parent() {
                changed.insert(up.to_path_buf());
            }
            self.emit(|| FsEvent::CreateDir { path: dir });
        }
        Ok(())
    }

    /// Flushes an open file's data (step 2).
    pub(crate) fn flush_file(&self, file: &File, path: &Path) -> io::Result<()> {
        if self.flush {
            file.sync_data()?;
            self.emit(|| FsEvent::FlushFile {
                path: path.to_path_buf(),
            });
        }
        Ok(())
    }

    /// Flushes a file that is already in place (the source of a copy, written by another
    /// process or before a crash), so that a new name for it never points at unflushed data.
    pub(crate) fn flush_existing(&self, path: &Path) -> io::Result<()> {
        if self.flush {
            let file = File::open(path)?;
            self.flush_file(&file, path)?;
        }
        Ok(())
    }

    /// Publishes `staged` as `dest` if no file has that name (put-if-absent, step 3), then
    /// removes the staged name. Fails with [`ErrorKind::AlreadyExists`] otherwise.
    pub(crate) fn publish_new(&self, staged: &Path, dest: &Path) -> io::Result<()> {
        let linked = std::fs::hard_link(staged, dest);
        if linked.is_ok() {
            self.emit(|| FsEvent::Link {
                from: staged.to_path_buf(),
                to: dest.to_path_buf(),
            });
        }
        self.remove_staged(staged);
        linked
    }

    /// Publishes `staged` as `dest`, replacing any file of that name (overwrite, step 3).
    pub(crate) fn publish_replace(&self, staged: &Path, dest: &Path) -> io::Result<()> {
        match std::fs::rename(staged, dest) {
            Ok(()) => {
                self.emit(|| FsEvent::Rename {
                    from: staged.to_path_buf(),
                    to: dest.to_path_buf(),
                });
                Ok(())
            }
            Err(e) => {
                self.remove_staged(staged);
                Err(e)
            }
        }
    }

    /// Removes a staged name; a failure leaves a name that listings skip.
    pub(crate) fn remove_staged(&self, staged: &Path) {
        if std::fs::remove_file(staged).is_ok() {
            self.emit(|| FsEvent::Remove {
                path: staged.to_path_buf(),
            });
        }
    }

    /// Gives the (flushed) file `from` a staged name beside `dest`: a hard link where the file
    /// system allows one, else a kernel copy (`copy_file_range`), flushed.
    pub(crate) fn stage_copy(
        &self,
        from: &Path,
        dest: &Path,
        changed: &mut DirSet,
    ) -> io::Result<PathBuf> {
        let mut n = 1;
        let mut attempts = 0;
        loop {
            let staged = staged_path(dest, n);
            match std::fs::hard_link(from, &staged) {
                Ok(()) => {
                    self.emit(|| FsEvent::Link {
                        from: from.to_path_buf(),
                        to: staged.clone(),
                    });
                    return Ok(staged);
                }
                Err(e) if e.kind() == ErrorKind::AlreadyExists => n += 1,
                Err(e)
                    if e.kind() == ErrorKind::NotFound
                        && from.exists()
                        && attempts < CREATE_ATTEMPTS =>
                {
                    attempts += 1;
                    self.create_parents(&staged, changed)?;
                }
                Err(e) if e.kind() == ErrorKind::NotFound => return Err(e),
                // Another file system (EXDEV), or one without hard links: copy the bytes.
                Err(_) => return self.stage_file_copy(from, dest, changed),
            }
        }
    }

    fn stage_file_copy(
        &self,
        from: &Path,
        dest: &Path,
        changed: &mut DirSet,
    ) -> io::Result<PathBuf> {
        let mut source = File::open(from)?;
        let (mut file, staged) = self.stage(dest, changed)?;
        let copied = io::copy(&mut source, &mut file).and_then(|n| {
            self.wrote(&staged, n);
            self.flush_file(&file, &staged)
        });
        if let Err(e) = copied {
            self.remove_staged(&staged);
            return Err(e);
        }
        Ok(staged)
    }

    /// Flushes every folder in `dirs` (step 4), sharing each flush with concurrent writers.
    pub(crate) fn flush_dirs(&self, dirs: &DirSet) -> io::Result<()> {
        if !self.flush {
            return Ok(());
        }
        // Deepest first: a folder's own entries before the entry that names it.
        for dir in dirs.iter().rev() {
            self.dirs.flush(dir, |d| {
                fsync_dir(d)?;
                self.emit(|| FsEvent::FlushDir {
                    path: d.to_path_buf(),
                });
                Ok(())
            })?;
        }
        Ok(())
    }
}

#[cfg(unix)]
fn fsync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Folders cannot be opened for flushing elsewhere; their entries are written through.
#[cfg(not(unix))]
fn fsync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Group commit of folder flushes: a writer that published a name in a folder takes a ticket;
/// a flush that starts after the ticket was taken covers it. Writers queue on the folder's
/// lock; the one that gets it flushes for everyone who took a ticket before it started.
#[derive(Debug, Default)]
struct DirFlusher {
    dirs: Mutex<HashMap<PathBuf, Arc<DirState>>>,
}

#[derive(Debug, Default)]
struct DirState {
    /// Tickets handed out: names published in the folder.
    published: AtomicU64,
    /// Every ticket up to this one is covered by a completed flush.
    flushed: Mutex<u64>,
}

impl DirFlusher {
    fn flush(&self, dir: &Path, flush: impl FnOnce(&Path) -> io::Result<()>) -> io::Result<()> {
        let state = lock(&self.dirs)
            .entry(dir.to_path_buf())
            .or_default()
            .clone();
        // Taken after this writer's name was published: a flush that starts later covers it.
        let ticket = state.published.fetch_add(1, Ordering::SeqCst) + 1;
        let result = {
            let mut flushed = lock(&state.flushed);
            if *flushed >= ticket {
                Ok(())
            } else {
                // Every ticket up to `upto` was taken after its name was published, so this
                // flush, which starts after reading it, covers them all.
                let upto = state.published.load(Ordering::SeqCst);
                let r = flush(dir);
                if r.is_ok() {
                    *flushed = upto;
                }
                r
            }
        };
        // Forget the folder once nobody else holds its state (clones are made under this lock).
        let mut dirs = lock(&self.dirs);
        if Arc::strong_count(&state) == 2 {
            dirs.remove(dir);
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn concurrent_writers_of_one_folder_share_flushes() {
        let flusher = Arc::new(DirFlusher::default());
        let flushes = Arc::new(AtomicUsize::new(0));
        let dir = PathBuf::from("/x");
        let threads: Vec<_> = (0..16)
            .map(|_| {
                let (flusher, flushes, dir) = (flusher.clone(), flushes.clone(), dir.clone());
                std::thread::spawn(move || {
                    for _ in 0..50 {
                        flusher
                            .flush(&dir, |_| {
                                flushes.fetch_add(1, Ordering::SeqCst);
                                std::thread::sleep(std::time::Duration::from_micros(200));
                                Ok(())
                            })
                            .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let n = flushes.load(Ordering::SeqCst);
        assert!(
            n >= 50,
            "each writer's last call needs a flush after it: {n}"
        );
        assert!(n < 800, "800 requests, {n} flushes: none was shared");
        assert!(lock(&flusher.dirs).is_empty(), "idle folders are forgotten");
    }

    #[test]
    fn a_flush_never_serves_a_ticket_taken_after_it_started() {
        // One writer alone: every call flushes.
        let flusher = DirFlusher::default();
        let mut n = 0;
        for _ in 0..5 {
            flusher
                .flush(Path::new("/y"), |_| {
                    n += 1;
                    Ok(())
                })
                .unwrap();
        }
        assert_eq!(n, 5);
        // A failed flush covers nothing: the next call flushes again.
        let err = flusher
            .flush(Path::new("/y"), |_| Err(io::Error::other("disk gone")))
            .unwrap_err();
        assert_eq!(err.to_string(), "disk gone");
    }

    #[test]
    fn staging_creates_missing_folders_and_reports_their_parents() {
        let tmp = tempfile::tempdir().unwrap();
        let d = Durability::new(true, None);
        let dest = tmp.path().join("a/b/c.bin");
        let mut changed = DirSet::new();
        let (_, staged) = d.stage(&dest, &mut changed).unwrap();
        assert_eq!(staged, tmp.path().join("a/b/c.bin#1"));
        let want: DirSet = [tmp.path().to_path_buf(), tmp.path().join("a")].into();
        assert_eq!(changed, want);
        let (_, second) = d.stage(&dest, &mut changed).unwrap();
        assert_eq!(second, tmp.path().join("a/b/c.bin#2"));
    }
}
