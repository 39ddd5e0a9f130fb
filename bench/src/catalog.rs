//! W12 (issue 17 item 4): catalog throughput. 16 writer processes each make
//! `STRATA_BENCH_W12_COMMITS` (default 50) appends of 1,000 rows, in two shapes: all on one
//! table (`one_table`: contended, optimistic retries or the catalog's per-table queue) and each
//! on its own table of one namespace (`own_tables`). Systems, all on local disk: `path` (the
//! writers open the table's folder and commit to its log themselves), `catalog-sqlite` (a real
//! `strata serve` on an embedded SQLite store; writers commit through it with
//! `CatalogCommitter`) and `catalog-postgres` (the same on a throwaway PostgreSQL cluster,
//! started as `scripts/test` does; skipped with a note without PostgreSQL binaries, or
//! `STRATA_BENCH_POSTGRES_URL` names a server to use instead).
//!
//! The writers are this binary run as `strata-bench w12-writer TARGET TABLE ID N` (TABLE `-`:
//! TARGET is the table's folder; otherwise TARGET is the catalog's URL, TABLE `ns.table` and
//! the token in `STRATA_BENCH_W12_TOKEN`). Each opens its table and builds its batches, says
//! `ready`, and starts on `go`: the clock runs from `go` to the last writer's exit. Afterwards
//! every table's log must hold every commit and every row (and the catalog's pointer the
//! latest version), or the workload fails. Metrics per system and shape: commits/s, wall
//! seconds, CPU milliseconds per commit of the writer processes (start-up included) and, for
//! the catalog systems, of the `strata serve` process (PostgreSQL's own processes are not
//! counted), and for the catalog systems the wall time over `path`'s in the same round (the
//! issue's target: at most 1.2).
//!
//! `strata serve` is the `strata` binary next to this one (the same profile's folder), or
//! `STRATA_BENCH_STRATA_BIN`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand::rngs::StdRng;
use strata_catalog::model::CreateTableRequest;
use strata_catalog::{CatalogCommitter, Client, TableRef};
use strata_format::compact::parse_schema;
use strata_table::arrow_schema::to_arrow_schema;
use strata_table::{Table, TableLocation, TableOptions};

use crate::{BoxError, batch, create, emit, env_u64};

const WRITERS: u64 = 16;
const ROWS: u64 = 1000;
const TOKEN_ENV: &str = "STRATA_BENCH_W12_TOKEN";

/// Where the writers of one run commit.
enum Target {
    /// Table folders, committed to directly.
    Path(Vec<String>),
    /// Tables of a catalog: its URL, its token, `ns.table` per table, their locations, and
    /// the server's process id (for its CPU time).
    Catalog {
        url: String,
        token: String,
        tables: Vec<(TableRef, String)>,
        server_pid: u32,
    },
}

/// CPU seconds (user + system) from a `/proc/.../stat` line: fields `first` and `first + 1`
/// (1-based, counted after the command name), in clock ticks of 1/100 s (Linux's `USER_HZ`).
fn stat_cpu_s(path: &str, first: usize) -> Option<f64> {
    let text = std::fs::read_to_string(path).ok()?;
    // The command name is in parentheses and may hold spaces: count fields after it.
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state).
    let at = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
    Some((at(first)? + at(first + 1)?) as f64 / 100.0)
}

/// CPU seconds of this process's waited-for children (`cutime + cstime`).
fn children_cpu_s() -> Option<f64> {
    stat_cpu_s("/proc/self/stat", 16)
}

/// CPU seconds of process `pid` itself (`utime + stime`).
fn process_cpu_s(pid: u32) -> Option<f64> {
    stat_cpu_s(&format!("/proc/{pid}/stat"), 14)
}

/// Where one run's time went: wall seconds, and CPU seconds of the writers and the server.
struct RunTimes {
    wall: f64,
    writers_cpu: Option<f64>,
    server_cpu: Option<f64>,
}

/// One writer process: `n` appends of 1,000 rows after `go`; prints how many committed.
pub(crate) async fn writer(target: &str, table: &str, id: u64, n: u64) -> Result<(), BoxError> {
    let t = if table == "-" {
        Table::open(target).await?
    } else {
        let token = std::env::var(TOKEN_ENV).map_err(|_| format!("{TOKEN_ENV} is not set"))?;
        let client = Client::new(target, Some(token))?;
        let name = TableRef::parse(table)?;
        let info = client.load_table(&name).await?;
        let options = TableOptions::default()
            .with_commit_handler(Arc::new(CatalogCommitter::new(client, name)));
        Table::open_with(TableLocation::parse(&info.location)?, options).await?
    };
    let schema = to_arrow_schema(&parse_schema(crate::SCHEMA)?)?;
    let mut rng = StdRng::seed_from_u64(42 + id);
    let batches = (0..n)
        .map(|i| {
            batch(
                &schema,
                ((id * n + i) * ROWS) as i64,
                ROWS as usize,
                &mut rng,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    println!("ready");
    std::io::stdout().flush()?;
    let mut go = String::new();
    std::io::stdin().read_line(&mut go)?;
    if go.trim() != "go" {
        return Err("no `go` on stdin".into());
    }
    let mut landed = 0;
    for b in batches {
        t.append([b]).await?;
        landed += 1;
    }
    println!("{landed}");
    Ok(())
}

/// Runs `WRITERS` writer processes on `target` (writer `i` on table `i % tables`); returns the
/// wall seconds from `go` to the last exit, with the CPU time of the writers (start-up
/// included) and of the server over the same span.
fn run_writers(target: &Target, n: u64) -> Result<RunTimes, BoxError> {
    let server_pid = match target {
        Target::Catalog { server_pid, .. } => Some(*server_pid),
        Target::Path(_) => None,
    };
    let writers_before = children_cpu_s();
    let exe = std::env::current_exe()?;
    let mut children: Vec<(Child, BufReader<std::process::ChildStdout>)> = Vec::new();
    for id in 0..WRITERS {
        let mut cmd = Command::new(&exe);
        match target {
            Target::Path(uris) => {
                cmd.args(["w12-writer", &uris[id as usize % uris.len()], "-"]);
            }
            Target::Catalog {
                url, token, tables, ..
            } => {
                let (name, _) = &tables[id as usize % tables.len()];
                cmd.args(["w12-writer", url, &name.to_string()])
                    .env(TOKEN_ENV, token);
            }
        }
        let mut child = cmd
            .args([id.to_string(), n.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let out = child.stdout.take().ok_or("writer stdout")?;
        children.push((child, BufReader::new(out)));
    }
    for (i, (_, out)) in children.iter_mut().enumerate() {
        let mut line = String::new();
        out.read_line(&mut line)?;
        if line.trim() != "ready" {
            return Err(format!("writer {i} did not get ready (said {line:?})").into());
        }
    }
    let server_before = server_pid.and_then(process_cpu_s);
    let start = Instant::now();
    for (child, _) in &mut children {
        let mut stdin = child.stdin.take().ok_or("writer stdin")?;
        stdin.write_all(b"go\n")?;
    }
    let mut failed = Vec::new();
    for (i, (mut child, mut out)) in children.into_iter().enumerate() {
        let status = child.wait()?;
        let mut said = String::new();
        out.read_to_string(&mut said)?;
        if !status.success() || said.trim().parse::<u64>().ok() != Some(n) {
            failed.push(format!("writer {i}: {status}, said {:?}", said.trim()));
        }
    }
    let wall = start.elapsed().as_secs_f64();
    if !failed.is_empty() {
        return Err(format!("w12: {}", failed.join("; ")).into());
    }
    let delta = |before: Option<f64>, after: Option<f64>| Some(after? - before?);
    Ok(RunTimes {
        wall,
        writers_cpu: delta(writers_before, children_cpu_s()),
        server_cpu: delta(server_before, server_pid.and_then(process_cpu_s)),
    })
}

/// Every table's log holds `commits` commits of `ROWS` rows after its version 0.
async fn check_tables(locations: &[String], commits: u64) -> Result<(), BoxError> {
    for loc in locations {
        let latest = Table::open(loc).await?.latest().await?;
        let rows: u64 = latest
            .files()
            .values()
            .map(strata_format::dv::live_rows)
            .sum();
        if latest.version() != commits || rows != commits * ROWS {
            return Err(format!(
                "w12: {loc} has version {} and {rows} rows, expected {commits} commits of {ROWS} rows",
                latest.version()
            )
            .into());
        }
    }
    Ok(())
}

/// The catalog's pointer of every table is its latest version.
async fn check_catalog(
    client: &Client,
    tables: &[(TableRef, String)],
    v: u64,
) -> Result<(), BoxError> {
    for (name, _) in tables {
        let info = client.load_table(name).await?;
        if info.current_version != v {
            return Err(format!(
                "w12: the catalog says {name} is at version {}, expected {v}",
                info.current_version
            )
            .into());
        }
    }
    Ok(())
}

/// A `strata serve` process on `store`, killed on drop.
struct Serve {
    child: Child,
    url: String,
    token: String,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn strata_bin() -> Result<PathBuf, BoxError> {
    if let Ok(p) = std::env::var("STRATA_BENCH_STRATA_BIN") {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe()?;
    let p = exe.with_file_name("strata");
    if p.is_file() {
        Ok(p)
    } else {
        Err(format!(
            "w12: no `strata` binary at {} (build strata-cli in the same profile, or set \
             STRATA_BENCH_STRATA_BIN)",
            p.display()
        )
        .into())
    }
}

impl Serve {
    /// Bootstraps an admin token on `store` (which also migrates it), then starts the server.
    fn start(store: &str, warehouse: &Path) -> Result<Self, BoxError> {
        let bin = strata_bin()?;
        let out = Command::new(&bin)
            .args([
                "catalog", "token", "create", "--role", "admin", "--store", store,
            ])
            .env_remove("STRATA_CATALOG")
            .env_remove("STRATA_TOKEN")
            .output()?;
        if !out.status.success() {
            return Err(format!(
                "w12: token create failed: {}",
                String::from_utf8_lossy(&out.stderr)
            )
            .into());
        }
        let token = String::from_utf8(out.stdout)?.trim().to_string();
        let mut child = Command::new(&bin)
            .args([
                "serve",
                "--bind",
                "127.0.0.1:0",
                "--store",
                store,
                "--warehouse",
            ])
            .arg(warehouse)
            .env_remove("STRATA_CATALOG")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?;
        let stderr = child.stderr.take().ok_or("serve stderr")?;
        let (tx, rx) = std::sync::mpsc::channel();
        // Keeps draining stderr (the request log) so that the server never blocks on it.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if line.contains("strata catalog listening")
                    && let Some(addr) = listen_addr(&line)
                {
                    let _ = tx.send(addr);
                }
            }
        });
        let mut serve = Serve {
            child,
            url: String::new(),
            token,
        };
        let addr = rx
            .recv_timeout(Duration::from_secs(60))
            .map_err(|_| "w12: strata serve reported no address within 60 s")?;
        serve.url = format!("http://{addr}");
        Ok(serve)
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

/// A throwaway PostgreSQL cluster (as `scripts/test` starts one), stopped on drop.
struct Postgres {
    bin: PathBuf,
    dir: tempfile::TempDir,
    as_postgres: bool,
    url: String,
}

impl Postgres {
    fn command(&self, tool: &str) -> Command {
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(self.bin.join(tool));
            c
        } else {
            Command::new(self.bin.join(tool))
        }
    }

    /// `Ok(None)` with a note when no PostgreSQL binaries are installed.
    fn start() -> Result<Option<Self>, BoxError> {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .map(|d| {
                d.filter_map(|e| e.ok().map(|e| e.path().join("bin")))
                    .collect()
            })
            .unwrap_or_default();
        dirs.retain(|d| d.join("initdb").is_file() && d.join("pg_ctl").is_file());
        dirs.sort_by_key(|d| {
            d.parent()
                .and_then(|p| p.file_name())
                .and_then(|n| n.to_str())
                .and_then(|n| n.parse::<u32>().ok())
                .unwrap_or(0)
        });
        let Some(bin) = dirs.pop() else {
            eprintln!(
                "w12: note: no PostgreSQL under /usr/lib/postgresql; catalog-postgres skipped \
                 (or set STRATA_BENCH_POSTGRES_URL)"
            );
            return Ok(None);
        };
        let dir = tempfile::Builder::new().prefix("strata-w12-pg").tempdir()?;
        // initdb refuses to run as root: the server runs as `postgres` then.
        let as_postgres = Command::new("id").arg("-u").output()?.stdout == b"0\n";
        if as_postgres {
            let ok = Command::new("chown")
                .arg("postgres")
                .arg(dir.path())
                .status()?
                .success();
            if !ok {
                return Err("w12: cannot chown the PostgreSQL folder to `postgres`".into());
            }
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let pg = Postgres {
            bin,
            dir,
            as_postgres,
            url: format!("postgres://strata@127.0.0.1:{port}/strata_bench"),
        };
        let data = pg.dir.path().join("data");
        let run = |c: &mut Command, what: &str| -> Result<(), BoxError> {
            let out = c.output()?;
            if out.status.success() {
                Ok(())
            } else {
                Err(format!(
                    "w12: {what} failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                )
                .into())
            }
        };
        run(
            pg.command("initdb").arg("-D").arg(&data).args([
                "-U",
                "strata",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ]),
            "initdb",
        )?;
        // Durable like a real deployment (unlike scripts/test's cluster): fsync stays on.
        let opts = format!(
            "-c listen_addresses=127.0.0.1 -p {port} -k {} -c max_connections=300",
            pg.dir.path().display()
        );
        run(
            pg.command("pg_ctl")
                .arg("-D")
                .arg(&data)
                .arg("-l")
                .arg(pg.dir.path().join("server.log"))
                .args(["-w", "-t", "60", "-o", &opts, "start"]),
            "pg_ctl start",
        )?;
        run(
            pg.command("createdb").args([
                "-h",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-U",
                "strata",
                "strata_bench",
            ]),
            "createdb",
        )?;
        Ok(Some(pg))
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(&data)
            .args(["-m", "fast", "-w", "-t", "30", "stop"])
            .output();
    }
}

/// Creates the tables of one run through the catalog: `tables` tables in a new namespace.
async fn catalog_tables(serve: &Serve, tag: &str, tables: u64) -> Result<Target, BoxError> {
    let client = Client::new(&serve.url, Some(serve.token.clone()))?;
    let ns = format!("w12_{tag}_{}", std::process::id());
    client.create_namespace(&ns, BTreeMap::new()).await?;
    let schema = serde_json::to_value(parse_schema(crate::SCHEMA)?)?;
    let mut out = Vec::new();
    for i in 0..tables {
        let req = CreateTableRequest {
            name: format!("t{i}"),
            schema: schema.clone(),
            partition_spec: None,
            properties: BTreeMap::new(),
            location: None,
        };
        let info = client.create_table(&ns, &req).await?;
        out.push((TableRef::parse(&format!("{ns}.t{i}"))?, info.location));
    }
    Ok(Target::Catalog {
        url: serve.url.clone(),
        token: serve.token.clone(),
        tables: out,
        server_pid: serve.child.id(),
    })
}

/// One run of one system and shape: its times, after checking that everything landed.
async fn run(target: Target, n: u64) -> Result<RunTimes, BoxError> {
    let tables = match &target {
        Target::Path(uris) => uris.len() as u64,
        Target::Catalog { tables, .. } => tables.len() as u64,
    };
    let per_table = WRITERS / tables * n;
    let target = Arc::new(target);
    let t = Arc::clone(&target);
    let times = tokio::task::spawn_blocking(move || run_writers(&t, n)).await??;
    match target.as_ref() {
        Target::Path(uris) => check_tables(uris, per_table).await?,
        Target::Catalog {
            url, token, tables, ..
        } => {
            let locations: Vec<String> = tables.iter().map(|(_, l)| l.clone()).collect();
            check_tables(&locations, per_table).await?;
            let client = Client::new(url, Some(token.clone()))?;
            check_catalog(&client, tables, per_table).await?;
        }
    }
    Ok(times)
}

pub(crate) async fn w12() -> Result<(), BoxError> {
    let n = env_u64("STRATA_BENCH_W12_COMMITS", 50).max(1);
    let commits = (WRITERS * n) as f64;
    let dir = tempfile::tempdir()?;
    let sqlite_store = format!("sqlite://{}", dir.path().join("catalog.db").display());
    let sqlite = Serve::start(&sqlite_store, &dir.path().join("warehouse-sqlite"))?;
    let pg = match std::env::var("STRATA_BENCH_POSTGRES_URL") {
        Ok(url) => Some((None, url)),
        Err(_) => Postgres::start()?.map(|p| {
            let url = p.url.clone();
            (Some(p), url)
        }),
    };
    let postgres = match &pg {
        Some((_, url)) => Some(Serve::start(url, &dir.path().join("warehouse-postgres"))?),
        None => None,
    };
    for (shape, tables) in [("one_table", 1), ("own_tables", WRITERS)] {
        let mut path_wall = None;
        for system in ["path", "catalog-sqlite", "catalog-postgres"] {
            let target = match system {
                "path" => {
                    let mut uris = Vec::new();
                    for i in 0..tables {
                        let root = dir.path().join(format!("path-{shape}-{i}"));
                        create(&root, false).await?;
                        uris.push(root.to_str().ok_or("path")?.to_string());
                    }
                    Target::Path(uris)
                }
                "catalog-sqlite" => catalog_tables(&sqlite, shape, tables).await?,
                _ => match &postgres {
                    Some(serve) => catalog_tables(serve, shape, tables).await?,
                    None => continue,
                },
            };
            let times = run(target, n).await?;
            let wall = times.wall;
            for (metric, cpu) in [
                ("writers_cpu_ms_per_commit", times.writers_cpu),
                ("server_cpu_ms_per_commit", times.server_cpu),
            ] {
                if let Some(cpu) = cpu {
                    let name = format!("{shape}_{metric}");
                    emit("w12", system, &name, cpu * 1000.0 / commits, "ms");
                }
            }
            eprintln!("w12: {shape} {system}: {commits} commits in {wall:.2} s");
            emit(
                "w12",
                system,
                &format!("{shape}_commits_per_s"),
                commits / wall,
                "commits/s",
            );
            emit("w12", system, &format!("{shape}_wall_s"), wall, "s");
            match path_wall {
                None => path_wall = Some(wall),
                Some(p) => emit(
                    "w12",
                    system,
                    &format!("{shape}_wall_over_path"),
                    wall / p,
                    "x",
                ),
            }
        }
    }
    drop(postgres);
    drop(pg);
    drop(sqlite);
    Ok(())
}
