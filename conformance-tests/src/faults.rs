//! A fault-injecting [`ObjectStore`] wrapper.
//!
//! [`FaultyStore`] forwards calls to an inner store but, according to a
//! [`FaultConfig`] and a seeded RNG, injects errors and latency. With the same
//! seed, the same config and the same sequence of calls, two stores inject the
//! same faults, so a failing randomized test can be replayed.
//!
//! Injected errors are always `object_store::Error::Generic { store:
//! "FaultyStore", .. }` whose source is an [`InjectedFault`]; use
//! [`is_injected`] to recognise them. Errors produced by the inner store (e.g.
//! `AlreadyExists` for a `PutMode::Create` put on an existing object) are
//! forwarded unchanged.
//!
//! Fault semantics per operation:
//! - `put_opts` (any `PutMode`): `put_fail_before` fails without applying the
//!   put; otherwise the put is forwarded, and if it succeeded, `put_fail_after`
//!   reports an error although the object landed.
//! - `get_opts` (also `get`, `get_range`, `head`) and `get_ranges`: `get_fail`.
//! - `list`, `list_with_offset`: `list_fail`; the stream fails either
//!   immediately or after yielding a few items (chosen randomly).
//!   `list_with_delimiter`: `list_fail`.
//! - `delete_stream` (also `delete`): `delete_fail`, per location; a failed
//!   location is not deleted. Locations are deleted one at a time.
//! - `copy_opts`: `copy_fail`; `rename_opts`: `rename_fail`. Neither is applied
//!   when the fault fires.
//! - `put_multipart_opts` is forwarded without any fault or latency.
//!
//! Every faultable operation may additionally be delayed according to
//! [`FaultConfig::latency`].
//!
//! [`FaultyStore::fail_next`] scripts one precise failure (a fault at a path) for
//! deterministic tests, and [`FaultyStore::injected_faults`] lists what was injected.

use std::fmt;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::{self, BoxStream};
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    ObjectStoreExt, PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions, Result,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The `store` name carried by injected errors.
pub const FAULTY_STORE_NAME: &str = "FaultyStore";

/// Maximum number of items a list stream yields before an injected
/// mid-stream failure.
const MAX_ITEMS_BEFORE_LIST_FAILURE: usize = 8;

/// Random latency added to operations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatencyConfig {
    /// Probability (0..=1) that an operation is delayed.
    pub probability: f64,
    /// Upper bound of the delay; the actual delay is uniform in `0..=max`.
    pub max: Duration,
}

/// Fault probabilities, each in `0.0..=1.0` (values `<= 0` or NaN never fire,
/// values `>= 1` always fire). [`Default`] injects nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FaultConfig {
    /// `put_opts` fails and the put is NOT applied.
    pub put_fail_before: f64,
    /// `put_opts` is applied, then reports an error anyway.
    pub put_fail_after: f64,
    /// `get_opts` / `get_ranges` fail.
    pub get_fail: f64,
    /// `list`, `list_with_offset` and `list_with_delimiter` fail.
    pub list_fail: f64,
    /// A location passed to `delete_stream` fails and is not deleted.
    pub delete_fail: f64,
    /// `copy_opts` fails and is not applied.
    pub copy_fail: f64,
    /// `rename_opts` fails and is not applied.
    pub rename_fail: f64,
    /// Optional random latency.
    pub latency: Option<LatencyConfig>,
}

impl FaultConfig {
    /// No faults (same as [`Default`]).
    pub fn none() -> Self {
        Self::default()
    }

    /// Moderate fault rates (0.1 for every kind of fault), no latency; meant
    /// for randomized tests.
    pub fn chaos() -> Self {
        Self {
            put_fail_before: 0.1,
            put_fail_after: 0.1,
            get_fail: 0.1,
            list_fail: 0.1,
            delete_fail: 0.1,
            copy_fail: 0.1,
            rename_fail: 0.1,
            latency: None,
        }
    }

    /// Sets `put_fail_before`.
    pub fn with_put_fail_before(mut self, p: f64) -> Self {
        self.put_fail_before = p;
        self
    }

    /// Sets `put_fail_after`.
    pub fn with_put_fail_after(mut self, p: f64) -> Self {
        self.put_fail_after = p;
        self
    }

    /// Sets `get_fail`.
    pub fn with_get_fail(mut self, p: f64) -> Self {
        self.get_fail = p;
        self
    }

    /// Sets `list_fail`.
    pub fn with_list_fail(mut self, p: f64) -> Self {
        self.list_fail = p;
        self
    }

    /// Sets `delete_fail`.
    pub fn with_delete_fail(mut self, p: f64) -> Self {
        self.delete_fail = p;
        self
    }

    /// Sets `copy_fail`.
    pub fn with_copy_fail(mut self, p: f64) -> Self {
        self.copy_fail = p;
        self
    }

    /// Sets `rename_fail`.
    pub fn with_rename_fail(mut self, p: f64) -> Self {
        self.rename_fail = p;
        self
    }

    /// Delays operations with probability `probability` by up to `max`.
    pub fn with_latency(mut self, probability: f64, max: Duration) -> Self {
        self.latency = Some(LatencyConfig { probability, max });
        self
    }
}

/// The source of every injected error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InjectedFault {
    /// Which fault fired, e.g. `"put_fail_after"`.
    pub fault: &'static str,
    /// The path of the operation (the source path for copy/rename; the prefix
    /// for lists, empty if none).
    pub path: String,
}

impl fmt::Display for InjectedFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "injected fault {} at '{}'", self.fault, self.path)
    }
}

impl std::error::Error for InjectedFault {}

/// Whether `err` was injected by a [`FaultyStore`] (as opposed to coming from
/// the inner store).
pub fn is_injected(err: &object_store::Error) -> bool {
    match err {
        object_store::Error::Generic { store, source } => {
            *store == FAULTY_STORE_NAME && source.downcast_ref::<InjectedFault>().is_some()
        }
        _ => false,
    }
}

#[derive(Debug)]
struct FaultState {
    config: FaultConfig,
    rng: Mutex<StdRng>,
    enabled: AtomicBool,
    injected: AtomicU64,
    /// Every injected fault, in order.
    log: Mutex<Vec<InjectedFault>>,
    /// Scripted faults: (fault, path) pairs, each firing once on the next matching call.
    script: Mutex<Vec<(&'static str, String)>>,
}

impl FaultState {
    /// Runs `f` with the RNG, or returns `None` when faults are disabled.
    fn draw<R>(&self, f: impl FnOnce(&mut StdRng) -> R) -> Option<R> {
        if !self.enabled.load(Ordering::SeqCst) {
            return None;
        }
        let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        Some(f(&mut rng))
    }

    fn delay(&self, rng: &mut StdRng) -> Option<Duration> {
        let latency = self.config.latency?;
        if !roll(rng, latency.probability) {
            return None;
        }
        let max = u64::try_from(latency.max.as_nanos()).unwrap_or(u64::MAX);
        Some(Duration::from_nanos(rng.random_range(0..=max)))
    }

    /// Decides latency and a single fault with probability `p`.
    fn decide(&self, p: f64) -> (Option<Duration>, bool) {
        self.draw(|rng| {
            let delay = self.delay(rng);
            (delay, roll(rng, p))
        })
        .unwrap_or((None, false))
    }

    /// Whether a scripted `fault` is due at `path` (consumes it).
    fn scripted(&self, fault: &'static str, path: &str) -> bool {
        let mut script = self.script.lock().unwrap_or_else(|e| e.into_inner());
        match script.iter().position(|(f, p)| *f == fault && p == path) {
            Some(i) => {
                script.remove(i);
                true
            }
            None => false,
        }
    }

    fn error(&self, fault: &'static str, path: &str) -> object_store::Error {
        self.injected.fetch_add(1, Ordering::SeqCst);
        let injected = InjectedFault {
            fault,
            path: path.to_string(),
        };
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(injected.clone());
        object_store::Error::Generic {
            store: FAULTY_STORE_NAME,
            source: Box::new(injected),
        }
    }
}

fn roll(rng: &mut StdRng, p: f64) -> bool {
    // `random::<f64>()` is in [0, 1): p <= 0 (or NaN) never fires, p >= 1 always does.
    rng.random::<f64>() < p
}

async fn sleep(delay: Option<Duration>) {
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
}

/// An [`ObjectStore`] wrapper injecting faults and latency; see the
/// [module documentation](self) for the exact semantics.
#[derive(Debug)]
pub struct FaultyStore {
    inner: Arc<dyn ObjectStore>,
    state: Arc<FaultState>,
}

impl FaultyStore {
    /// Wraps `inner`, injecting faults per `config` from an RNG seeded with
    /// `seed`. Faults start enabled.
    pub fn new(inner: Arc<dyn ObjectStore>, seed: u64, config: FaultConfig) -> Self {
        Self {
            inner,
            state: Arc::new(FaultState {
                config,
                rng: Mutex::new(StdRng::seed_from_u64(seed)),
                enabled: AtomicBool::new(true),
                injected: AtomicU64::new(0),
                log: Mutex::new(Vec::new()),
                script: Mutex::new(Vec::new()),
            }),
        }
    }

    /// The wrapped store (bypasses fault injection).
    pub fn inner(&self) -> &Arc<dyn ObjectStore> {
        &self.inner
    }

    /// The fault configuration.
    pub fn config(&self) -> &FaultConfig {
        &self.state.config
    }

    /// Turns fault (and latency) injection on or off. While disabled, calls
    /// are forwarded unchanged and the RNG is not consumed.
    pub fn set_enabled(&self, enabled: bool) {
        self.state.enabled.store(enabled, Ordering::SeqCst);
    }

    /// Whether fault injection is currently enabled.
    pub fn is_enabled(&self) -> bool {
        self.state.enabled.load(Ordering::SeqCst)
    }

    /// Number of faults injected so far (errors actually returned or yielded).
    pub fn injected(&self) -> u64 {
        self.state.injected.load(Ordering::SeqCst)
    }

    /// Makes the next call at `path` that can raise `fault` (`"put_fail_before"`,
    /// `"put_fail_after"`, `"get_fail"`, `"delete_fail"`, `"copy_fail"`, `"rename_fail"`;
    /// for a copy or rename, `path` is the source) fail with it, once, on top of the random
    /// faults and even while they are disabled: for tests of one precise failure.
    pub fn fail_next(&self, fault: &'static str, path: &Path) {
        self.state
            .script
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((fault, path.to_string()));
    }

    /// Every fault injected so far, in order (what failed, and where).
    pub fn injected_faults(&self) -> Vec<InjectedFault> {
        self.state
            .log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Wraps a list stream with latency and a possible injected failure.
    fn faulty_list(
        &self,
        prefix: Option<&Path>,
        list: BoxStream<'static, Result<ObjectMeta>>,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        let p = self.state.config.list_fail;
        let (delay, fail_after) = self
            .state
            .draw(|rng| {
                let delay = self.state.delay(rng);
                let fail_after = roll(rng, p).then(|| {
                    if rng.random_bool(0.5) {
                        0
                    } else {
                        rng.random_range(1..=MAX_ITEMS_BEFORE_LIST_FAILURE)
                    }
                });
                (delay, fail_after)
            })
            .unwrap_or((None, None));

        let list = match fail_after {
            None => list,
            Some(n) => {
                let state = Arc::clone(&self.state);
                let path = prefix.map(|p| p.to_string()).unwrap_or_default();
                list.take(n)
                    .chain(stream::once(
                        async move { Err(state.error("list_fail", &path)) },
                    ))
                    .boxed()
            }
        };
        match delay {
            None => list,
            Some(delay) => stream::once(async move {
                tokio::time::sleep(delay).await;
                list
            })
            .flatten()
            .boxed(),
        }
    }
}

impl fmt::Display for FaultyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FaultyStore({})", self.inner)
    }
}

#[async_trait]
impl ObjectStore for FaultyStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        let config = &self.state.config;
        let (delay, before, after) = self
            .state
            .draw(|rng| {
                let delay = self.state.delay(rng);
                let before = roll(rng, config.put_fail_before);
                let after = roll(rng, config.put_fail_after);
                (delay, before, after)
            })
            .unwrap_or((None, false, false));
        sleep(delay).await;
        if before || self.state.scripted("put_fail_before", location.as_ref()) {
            return Err(self.state.error("put_fail_before", location.as_ref()));
        }
        let result = self.inner.put_opts(location, payload, opts).await?;
        if after || self.state.scripted("put_fail_after", location.as_ref()) {
            return Err(self.state.error("put_fail_after", location.as_ref()));
        }
        Ok(result)
    }

    /// Forwarded without faults or latency.
    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        let (delay, fail) = self.state.decide(self.state.config.get_fail);
        sleep(delay).await;
        if fail || self.state.scripted("get_fail", location.as_ref()) {
            return Err(self.state.error("get_fail", location.as_ref()));
        }
        self.inner.get_opts(location, options).await
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        let (delay, fail) = self.state.decide(self.state.config.get_fail);
        sleep(delay).await;
        if fail || self.state.scripted("get_fail", location.as_ref()) {
            return Err(self.state.error("get_fail", location.as_ref()));
        }
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        let inner = Arc::clone(&self.inner);
        let state = Arc::clone(&self.state);
        locations
            .then(move |location| {
                let inner = Arc::clone(&inner);
                let state = Arc::clone(&state);
                async move {
                    let location = location?;
                    let (delay, fail) = state.decide(state.config.delete_fail);
                    sleep(delay).await;
                    if fail || state.scripted("delete_fail", location.as_ref()) {
                        return Err(state.error("delete_fail", location.as_ref()));
                    }
                    inner.delete(&location).await?;
                    Ok(location)
                }
            })
            .boxed()
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        let list = self.inner.list(prefix);
        self.faulty_list(prefix, list)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        let list = self.inner.list_with_offset(prefix, offset);
        self.faulty_list(prefix, list)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        let (delay, fail) = self.state.decide(self.state.config.list_fail);
        sleep(delay).await;
        if fail {
            let path = prefix.map(|p| p.to_string()).unwrap_or_default();
            return Err(self.state.error("list_fail", &path));
        }
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        let (delay, fail) = self.state.decide(self.state.config.copy_fail);
        sleep(delay).await;
        if fail || self.state.scripted("copy_fail", from.as_ref()) {
            return Err(self.state.error("copy_fail", from.as_ref()));
        }
        self.inner.copy_opts(from, to, options).await
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> Result<()> {
        let (delay, fail) = self.state.decide(self.state.config.rename_fail);
        sleep(delay).await;
        if fail || self.state.scripted("rename_fail", from.as_ref()) {
            return Err(self.state.error("rename_fail", from.as_ref()));
        }
        self.inner.rename_opts(from, to, options).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::TryStreamExt;
    use object_store::memory::InMemory;
    use object_store::{PutMode, PutOptions};

    fn payload(data: &'static [u8]) -> PutPayload {
        Bytes::from_static(data).into()
    }

    fn faulty(seed: u64, config: FaultConfig) -> (Arc<InMemory>, FaultyStore) {
        let mem = Arc::new(InMemory::new());
        let store = FaultyStore::new(mem.clone(), seed, config);
        (mem, store)
    }

    #[tokio::test]
    async fn put_fail_after_applies_then_errors() -> Result<()> {
        let (mem, store) = faulty(1, FaultConfig::none().with_put_fail_after(1.0));
        let path = Path::from("a");
        let err = store.put(&path, payload(b"x")).await.err();
        assert!(err.as_ref().is_some_and(is_injected), "{err:?}");
        assert!(matches!(
            err,
            Some(object_store::Error::Generic {
                store: "FaultyStore",
                ..
            })
        ));
        let data = mem.get(&path).await?.bytes().await?;
        assert_eq!(data, Bytes::from_static(b"x"));
        assert_eq!(store.injected(), 1);
        assert_eq!(
            store.injected_faults(),
            vec![InjectedFault {
                fault: "put_fail_after",
                path: "a".into()
            }]
        );
        Ok(())
    }

    #[tokio::test]
    async fn put_fail_before_leaves_object_absent() -> Result<()> {
        let (mem, store) = faulty(1, FaultConfig::none().with_put_fail_before(1.0));
        let path = Path::from("a");
        let create = PutOptions::from(PutMode::Create);
        let err = store.put_opts(&path, payload(b"x"), create).await.err();
        assert!(err.as_ref().is_some_and(is_injected), "{err:?}");
        assert!(matches!(
            mem.head(&path).await,
            Err(object_store::Error::NotFound { .. })
        ));
        assert_eq!(store.injected(), 1);
        Ok(())
    }

    #[tokio::test]
    async fn already_exists_is_forwarded_for_create() -> Result<()> {
        let (_mem, store) = faulty(7, FaultConfig::none());
        let path = Path::from("a");
        let create = PutOptions::from(PutMode::Create);
        store.put_opts(&path, payload(b"1"), create.clone()).await?;
        let err = store.put_opts(&path, payload(b"2"), create).await.err();
        assert!(
            matches!(err, Some(object_store::Error::AlreadyExists { .. })),
            "{err:?}"
        );
        assert_eq!(store.injected(), 0);
        let data = store.get(&path).await?.bytes().await?;
        assert_eq!(data, Bytes::from_static(b"1"));
        Ok(())
    }

    #[tokio::test]
    async fn set_enabled_false_stops_faults() -> Result<()> {
        let config = FaultConfig::none()
            .with_put_fail_before(1.0)
            .with_get_fail(1.0)
            .with_list_fail(1.0)
            .with_delete_fail(1.0);
        let (_mem, store) = faulty(3, config);
        let path = Path::from("a");
        assert!(store.put(&path, payload(b"x")).await.is_err());
        assert_eq!(store.injected(), 1);

        store.set_enabled(false);
        assert!(!store.is_enabled());
        store.put(&path, payload(b"x")).await?;
        assert_eq!(store.get(&path).await?.bytes().await?, &b"x"[..]);
        let listed: Vec<ObjectMeta> = store.list(None).try_collect().await?;
        assert_eq!(listed.len(), 1);
        store.delete(&path).await?;
        assert_eq!(store.injected(), 1);

        store.set_enabled(true);
        assert!(
            store
                .get(&path)
                .await
                .err()
                .is_some_and(|e| is_injected(&e))
        );
        assert_eq!(store.injected(), 2);
        Ok(())
    }

    #[tokio::test]
    async fn list_fail_yields_injected_error() -> Result<()> {
        let (mem, store) = faulty(11, FaultConfig::none().with_list_fail(1.0));
        for name in ["p/a", "p/b", "p/c"] {
            mem.put(&Path::from(name), payload(b"x")).await?;
        }
        for _ in 0..10 {
            let items: Vec<Result<ObjectMeta>> = store.list(Some(&Path::from("p"))).collect().await;
            assert!(items.last().is_some_and(|r| r.as_ref().is_err()));
            assert!(items.iter().filter(|r| r.is_err()).count() == 1);
        }
        assert!(store.list_with_delimiter(None).await.is_err());
        assert_eq!(store.injected(), 11);
        Ok(())
    }

    /// Runs a fixed sequence of operations and records which ones failed.
    async fn fault_trace(seed: u64) -> Result<(Vec<bool>, u64)> {
        let config = FaultConfig {
            put_fail_before: 0.3,
            put_fail_after: 0.3,
            get_fail: 0.3,
            list_fail: 0.3,
            delete_fail: 0.3,
            copy_fail: 0.3,
            rename_fail: 0.3,
            latency: Some(LatencyConfig {
                probability: 0.2,
                max: Duration::from_millis(1),
            }),
        };
        let (mem, store) = faulty(seed, config);
        let mut trace = Vec::new();
        for i in 0..40 {
            let path = Path::from(format!("f/{i}"));
            mem.put(&path, payload(b"seed")).await?;
            trace.push(store.put(&path, payload(b"data")).await.is_err());
            trace.push(store.get(&path).await.is_err());
            trace.push(store.list_with_delimiter(None).await.is_err());
            let listed: Vec<Result<ObjectMeta>> = store.list(None).collect().await;
            trace.push(listed.iter().any(|r| r.is_err()));
            let copy = Path::from(format!("g/{i}"));
            trace.push(store.copy(&path, &copy).await.is_err());
            trace.push(store.delete(&path).await.is_err());
        }
        Ok((trace, store.injected()))
    }

    #[tokio::test]
    async fn same_seed_same_faults() -> Result<()> {
        let (a, injected_a) = fault_trace(42).await?;
        let (b, injected_b) = fault_trace(42).await?;
        assert_eq!(a, b);
        assert_eq!(injected_a, injected_b);
        assert!(a.iter().any(|failed| *failed));
        assert!(a.iter().any(|failed| !*failed));

        let (c, _) = fault_trace(43).await?;
        assert_ne!(a, c);
        Ok(())
    }

    #[tokio::test]
    async fn fail_next_fires_once_at_its_path_even_when_disabled() -> Result<()> {
        let (mem, store) = faulty(5, FaultConfig::none());
        store.set_enabled(false);
        let (a, b, c) = (Path::from("a"), Path::from("b"), Path::from("c"));
        for p in [&a, &b, &c] {
            mem.put(p, payload(b"x")).await?;
        }
        store.fail_next("delete_fail", &a);
        assert!(
            store.delete(&c).await.is_ok(),
            "another path is not affected"
        );
        let err = store.delete(&a).await.err();
        assert!(err.as_ref().is_some_and(is_injected), "{err:?}");
        assert!(
            mem.head(&a).await.is_ok(),
            "a failed delete deletes nothing"
        );
        store.delete(&a).await?;
        store.fail_next("copy_fail", &b);
        assert!(store.copy(&b, &a).await.is_err());
        store.copy(&b, &a).await?;
        assert_eq!(store.injected_faults().len(), 2);
        Ok(())
    }

    #[test]
    fn chaos_has_moderate_rates_and_no_latency() {
        let chaos = FaultConfig::chaos();
        assert_eq!(chaos.put_fail_before, 0.1);
        assert_eq!(chaos.get_fail, 0.1);
        assert!(chaos.latency.is_none());
        assert_eq!(FaultConfig::default(), FaultConfig::none());
    }
}
