//! Two real `strata serve` processes on one PostgreSQL database (issue #5): concurrent
//! commits through both, every acknowledged commit in the log exactly once, versions
//! contiguous.
//!
//! Runs when `STRATA_TEST_POSTGRES_URL` is set (`scripts/test` starts PostgreSQL and sets
//! it); otherwise it prints a notice and passes.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use strata_catalog::model::{CreateTableRequest, ReadScope};
use strata_catalog::{Client, TableRef};
use strata_table::Table;

const CLIENTS: usize = 16;
const COMMITS_PER_CLIENT: usize = 4;

/// A running `strata serve`; killed (and reaped) on drop, also when the test fails.
struct ServeProcess {
    child: Child,
    url: String,
    log: Arc<Mutex<String>>,
}

impl ServeProcess {
    /// Spawns `strata serve --bind 127.0.0.1:0` and waits for the address it reports.
    fn spawn(store: &str, warehouse: &str, extra: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
            .args([
                "serve",
                "--bind",
                "127.0.0.1:0",
                "--store",
                store,
                "--warehouse",
                warehouse,
            ])
            .args(extra)
            .env_remove("STRATA_CATALOG")
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn strata serve");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let sink = Arc::clone(&log);
        // Keeps draining stderr so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if line.contains("strata catalog listening")
                    && let Some(addr) = listen_addr(&line)
                {
                    let _ = tx.send(addr);
                }
                let mut l = sink.lock().unwrap();
                l.push_str(&line);
                l.push('\n');
            }
        });
        let mut p = ServeProcess {
            child,
            url: String::new(),
            log,
        };
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(addr) => p.url = format!("http://{addr}"),
            Err(_) => panic!(
                "strata serve reported no listening address within 60 s\nstderr:\n{}",
                p.log()
            ),
        }
        p
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits for `/healthz` to answer.
    async fn wait_healthy(&mut self) {
        let client = Client::new(&self.url, None).unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if client.health().await.is_ok() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "strata serve exited with {status} before /healthz answered\nstderr:\n{}",
                    self.log()
                );
            }
            assert!(
                Instant::now() < deadline,
                "{}/healthz did not answer within 60 s\nstderr:\n{}",
                self.url,
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `127.0.0.1:PORT` out of the server's "listening" log line.
fn listen_addr(line: &str) -> Option<String> {
    let start = line.find("addr=")? + "addr=".len();
    let addr: String = line[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
        .collect();
    (addr.contains(':') && !addr.ends_with(':')).then_some(addr)
}

/// A unique name, so runs against one database do not collide.
fn unique(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

/// Runs `CLIENTS` writers over `clients` (round robin); returns (txn id, version) acknowledged.
async fn hammer(clients: Vec<Client>, table: TableRef, root: &str) -> Vec<(String, u64)> {
    let mut tasks = Vec::new();
    for i in 0..CLIENTS {
        let c = clients[i % clients.len()].clone();
        let table = table.clone();
        let root = std::path::PathBuf::from(root);
        tasks.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for j in 0..COMMITS_PER_CLIENT {
                // Plan on whatever version this client saw last (often stale).
                let base = c.load_table(&table).await.unwrap().current_version;
                let txn = uuid::Uuid::new_v4().to_string();
                // The object the add names (10 bytes for one row): the catalog checks it.
                let name = format!("c{i}-{j}.parquet");
                std::fs::write(root.join(&name), [b'x'; 10]).unwrap();
                let action = strata_format::testing::add(&name, 1);
                let v = c
                    .commit_actions(
                        &table,
                        base,
                        &txn,
                        "WRITE",
                        std::slice::from_ref(&action),
                        ReadScope::default(),
                    )
                    .await
                    .unwrap();
                // A retry of the same transaction gets the same answer.
                let again = c
                    .commit_actions(&table, base, &txn, "WRITE", &[action], ReadScope::default())
                    .await
                    .unwrap();
                assert_eq!(v, again, "retry of {txn}");
                acked.push((txn, v));
            }
            acked
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all
}

async fn check_log(location: &str, acked: &[(String, u64)]) {
    let expected = (CLIENTS * COMMITS_PER_CLIENT) as u64;
    assert_eq!(acked.len() as u64, expected);
    let versions: BTreeSet<u64> = acked.iter().map(|(_, v)| *v).collect();
    assert_eq!(
        versions.len() as u64,
        expected,
        "two commits acknowledged at one version"
    );
    let table = Table::open(location).await.unwrap();
    let latest = table.latest().await.unwrap();
    assert_eq!(
        latest.version(),
        expected,
        "versions 1..={expected} contiguous after version 0"
    );
    assert_eq!(latest.files().len() as u64, expected);
    let history = table.history(None).await.unwrap();
    let mut by_txn: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for h in &history {
        by_txn
            .entry(h.info.txn_id.as_str())
            .or_default()
            .push(h.version);
    }
    for (txn, v) in acked {
        assert_eq!(
            by_txn.get(txn.as_str()),
            Some(&vec![*v]),
            "txn {txn} exactly once, at {v}"
        );
    }
    let listed: Vec<u64> = history.iter().map(|h| h.version).rev().collect();
    assert_eq!(listed, (0..=expected).collect::<Vec<_>>());
}

/// Two `strata serve` OS processes (own pools, no shared memory but the database and the
/// warehouse) on one PostgreSQL; 16 clients split over them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_catalog_processes_on_one_postgres() {
    let Ok(store) = std::env::var("STRATA_TEST_POSTGRES_URL") else {
        eprintln!(
            "notice: two_catalog_processes_on_one_postgres: STRATA_TEST_POSTGRES_URL is not set; \
             skipping the PostgreSQL run"
        );
        return;
    };
    let warehouse = tempfile::tempdir().unwrap();
    let warehouse_path = warehouse.path().to_str().unwrap().to_string();

    // Bootstrap an admin token directly against the store (this also migrates it).
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["catalog", "token", "create", "--role", "admin", "--store"])
        .arg(&store)
        .env_remove("STRATA_CATALOG")
        .env_remove("STRATA_TOKEN")
        .output()
        .expect("spawn strata catalog token create");
    assert!(
        out.status.success(),
        "token create failed\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(!token.is_empty(), "token create printed no token");

    let mut first = ServeProcess::spawn(&store, &warehouse_path, &[]);
    let mut second = ServeProcess::spawn(&store, &warehouse_path, &[]);
    assert_ne!(first.url, second.url);
    first.wait_healthy().await;
    second.wait_healthy().await;

    let a = Client::new(&first.url, Some(token.clone())).unwrap();
    let b = Client::new(&second.url, Some(token)).unwrap();
    let ns = unique("ns");
    a.create_namespace(&ns, BTreeMap::new()).await.unwrap();
    let info = a
        .create_table(
            &ns,
            &CreateTableRequest {
                name: "t".to_string(),
                schema: serde_json::to_value(strata_format::testing::sample_schema()).unwrap(),
                partition_spec: None,
                properties: Default::default(),
                location: None,
            },
        )
        .await
        .unwrap();
    let table = TableRef::parse(&format!("{ns}.t")).unwrap();
    // The second process sees the table the first created.
    assert_eq!(b.load_table(&table).await.unwrap().current_version, 0);

    let acked = hammer(vec![a, b], table, &info.location).await;
    check_log(&info.location, &acked).await;
    eprintln!(
        "two_catalog_processes_on_one_postgres: {} commits acknowledged through {} and {}",
        acked.len(),
        first.url,
        second.url
    );

    // Both processes served commits and are still alive.
    for p in [&mut first, &mut second] {
        assert!(
            p.child.try_wait().unwrap().is_none(),
            "{} exited during the test\nstderr:\n{}",
            p.url,
            p.log()
        );
    }
    drop(first);
    drop(second);
}

/// `strata serve` confines locations: a memory:// warehouse is refused at start; tier
/// locations go in the table's folder or under `--allow-location`, in any spelling.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_confines_locations() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite://{}", dir.path().join("catalog.db").display());
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["serve", "--bind", "127.0.0.1:0", "--store", &store])
        .args(["--warehouse", "memory://wh"])
        .env_remove("STRATA_CATALOG")
        .output()
        .expect("spawn strata serve");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("memory://"),
        "{out:?}"
    );

    let warehouse = dir.path().join("warehouse");
    std::fs::create_dir_all(&warehouse).unwrap();
    let archive = dir.path().join("archive");
    let allowed = format!("file://{}", archive.display());
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args([
            "catalog", "token", "create", "--role", "admin", "--store", &store,
        ])
        .env_remove("STRATA_CATALOG")
        .env_remove("STRATA_TOKEN")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let mut serve = ServeProcess::spawn(
        &store,
        warehouse.to_str().unwrap(),
        &["--allow-location", &allowed],
    );
    serve.wait_healthy().await;
    let c = Client::new(&serve.url, Some(token)).unwrap();
    c.create_namespace("ns", BTreeMap::new()).await.unwrap();
    let req = |location: Option<String>| CreateTableRequest {
        name: "t".to_string(),
        schema: serde_json::to_value(strata_format::testing::sample_schema()).unwrap(),
        partition_spec: None,
        properties: Default::default(),
        location,
    };
    // A table outside the warehouse is refused; in the namespace folder it is created.
    let err = c
        .create_table("ns", &req(Some(archive.join("t").display().to_string())))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("400"), "{err}");
    c.create_table("ns", &req(None)).await.unwrap();
    let t = TableRef::parse("ns.t").unwrap();
    let tiers = |loc: String| strata_catalog::tiering::SetTiersRequest {
        tiers: vec![
            strata_catalog::tiering::TierSpec {
                name: "hot".into(),
                location: None,
                storage_class: None,
            },
            strata_catalog::tiering::TierSpec {
                name: "cold".into(),
                location: Some(loc),
                storage_class: None,
            },
        ],
        default_tier: None,
    };
    c.set_tiers(&t, &tiers(format!("{allowed}/ns/t")))
        .await
        .unwrap();
    for stray in [
        format!("file://{}/elsewhere", dir.path().display()),
        format!("{allowed}/%2e%2e/elsewhere"),
    ] {
        let err = c.set_tiers(&t, &tiers(stray.clone())).await.unwrap_err();
        assert!(err.to_string().contains("400"), "{stray}: {err}");
    }
    assert!(serve.child.try_wait().unwrap().is_none(), "{}", serve.log());
}
