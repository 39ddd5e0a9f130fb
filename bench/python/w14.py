"""W14: operations through the 30 ms latency proxy, Strata's CLI against delta-rs and pyiceberg.

Run by `bench/compare` once per (round, system), after it started moto and
`scripts/s3_proxy.py --delay-ms 30` in front of it and created a bucket for the run:

    python w14.py --system strata|delta-rs|pyiceberg --work DIR --moto URL --proxy URL \\
                  --bucket BUCKET [--cli STRATA]

Setup (once per run and system, not timed, straight to moto, not through the proxy): a table
`id int64, v string` built by N one-row appends (N = STRATA_BENCH_W14_COMMITS, default 50; ids
0..N-1), so that there is history:
  - strata: `strata create` then N `strata append` of a one-row CSV;
  - delta-rs: `DeltaTable.create` then N `write_deltalake(mode="append")`, with the object
    store's conditional put (`conditional_put=etag`, which moto honours) as the commit's
    put-if-absent;
  - pyiceberg: a `SqlCatalog` (a local SQLite file: the catalog pyiceberg needs to commit at
    all, part of its cost) with the warehouse `s3://BUCKET/w14/iceberg`, pyarrow's S3 file IO.
After append N/2 the setup waits 2.1 s, and the timestamp of the "open at a timestamp" operation
is 1 s after that append ended, so every system resolves it to version N/2 whatever the
granularity of its clock (commit time or the object's Last-Modified).

Timed, each from a FRESH process talking to S3 only through the proxy (a user's command or a
job: opening the table is part of every operation), one of each per round:
  commit             append one row (strata append; delta-rs open + write_deltalake; pyiceberg
                     load_table + append)
  open_latest_count  open the latest version and count its rows (from the log's statistics)
  open_version_mid   open version N/2 and count its rows
  open_timestamp_mid open the version current at the middle timestamp and count its rows
  scan_1pct          rows `id < k`, k = max(1, N/100), returned as rows (one file of N: the
                     smallest selective scan this table allows)
Every answer is checked (row counts, rows returned); an operation that fails is reported on
stderr and gives no figures.

Per operation it prints JSON lines `{"workload": "w14", "system", "metric", "value", "unit"}`:
  <op>_wall        ms: wall time of the fresh process, from spawn to exit
  <op>_op          ms: the operation alone, timed inside the process (delta-rs and pyiceberg:
                   after the interpreter start and imports; strata: the CLI process's wall time
                   again, start-up included, so Strata's figure is an upper bound)
  <op>_sequential  round trips: the proxy's longest chain of non-overlapping requests
  <op>_requests    requests: every request the proxy forwarded
  commit_write_requests  requests: the commit's PUT, POST and DELETE requests
and `process_start_wall` (ms): a fresh process that only starts (`strata --version`; the
interpreter importing what the operations import), the floor under every `_wall` figure.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

SYSTEMS = ("strata", "delta-rs", "pyiceberg")
OPS = ("commit", "open_latest_count", "open_version_mid", "open_timestamp_mid", "scan_1pct")
MID_PAUSE_S = 2.1  # after append N/2: the timestamp is 1 s into this pause
CREDS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1"}


def emit(system: str, metric: str, value: float, unit: str) -> None:
    print(json.dumps({"workload": "w14", "system": system, "metric": metric,
                      "value": round(value * 1000.0) / 1000.0, "unit": unit}), flush=True)


def warn(msg: str) -> None:
    print(f"w14: {msg}", file=sys.stderr, flush=True)


def clean_env(state_dir: Path) -> dict:
    """The environment of every process: the fake keys, the region, no instance metadata, no
    profile or credentials file of this machine's user."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") or k in ("AWS_EC2_METADATA_DISABLED",)}
    empty = state_dir / "aws-empty"
    empty.touch()
    env.update(CREDS)
    env.update({"AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
                "AWS_CONFIG_FILE": str(empty), "AWS_SHARED_CREDENTIALS_FILE": str(empty)})
    return env


# ---------------------------------------------------------------------------------------------
# The proxy's accounting


def proxy_call(proxy: str, path: str, post: bool = False) -> dict:
    req = urllib.request.Request(proxy + path, method="POST" if post else "GET")
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)


def proxy_stats_then_reset(proxy: str) -> dict:
    stats = proxy_call(proxy, "/__proxy/stats")
    proxy_call(proxy, "/__proxy/reset", post=True)
    return stats


# ---------------------------------------------------------------------------------------------
# The table's parameters, kept per run (bucket) and system


class Run:
    def __init__(self, a):
        self.system = a.system
        self.moto, self.proxy, self.bucket, self.cli = a.moto.rstrip("/"), a.proxy.rstrip("/"), a.bucket, a.cli
        self.dir = a.work / "w14" / a.bucket / a.system
        self.dir.mkdir(parents=True, exist_ok=True)
        self.state_file = self.dir / "state.json"
        self.env = clean_env(self.dir)
        self.commits = int(os.environ.get("STRATA_BENCH_W14_COMMITS", "50"))
        if self.commits < 2:
            raise SystemExit("w14: STRATA_BENCH_W14_COMMITS must be at least 2")
        self.mid = self.commits // 2
        self.k = max(1, self.commits // 100)
        self.uri = {"strata": f"s3://{a.bucket}/w14/strata", "delta-rs": f"s3://{a.bucket}/w14/delta",
                    "pyiceberg": "w14.t"}[a.system]

    def state(self) -> dict | None:
        return json.loads(self.state_file.read_text()) if self.state_file.exists() else None

    def save(self, st: dict) -> None:
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(st))
        os.replace(tmp, self.state_file)


def one_row_csv(path: Path, i: int) -> Path:
    path.write_text(f"id,v\n{i},v{i}\n")
    return path


# ---------------------------------------------------------------------------------------------
# Strata: the CLI


def strata(run: Run, endpoint: str, args: list[str]) -> subprocess.CompletedProcess:
    env = dict(run.env, AWS_ENDPOINT_URL=endpoint, AWS_ALLOW_HTTP="true")
    return subprocess.run([run.cli, *args], env=env, capture_output=True, text=True, timeout=600)


def strata_ok(p: subprocess.CompletedProcess, what: str) -> str:
    if p.returncode != 0:
        raise RuntimeError(f"strata {what}: exit {p.returncode}: {p.stderr.strip()[-500:]}")
    return p.stdout


def strata_setup(run: Run) -> dict:
    strata_ok(strata(run, run.moto, ["create", run.uri, "--schema", "id:int64,v:string", "-q"]), "create")
    mid_ts = None
    for i in range(run.commits):
        strata_ok(strata(run, run.moto, ["append", run.uri, str(one_row_csv(run.dir / "setup.csv", i)), "-q"]), "append")
        if i + 1 == run.mid:
            mid_ts = time.time() + 1.0
            time.sleep(MID_PAUSE_S)
    return {"mid_ts": mid_ts}


def rfc3339(ts: float) -> str:
    t = time.gmtime(ts)
    return time.strftime("%Y-%m-%dT%H:%M:%S", t) + f".{int((ts % 1) * 1000):03d}Z"


def strata_op(run: Run, st: dict, op: str, next_id: int) -> tuple[float, int]:
    """Runs one operation as one CLI process through the proxy: (wall ms, the answer)."""
    if op == "commit":
        args = ["append", run.uri, str(one_row_csv(run.dir / "row.csv", next_id)), "-q"]
    elif op == "open_latest_count":
        args = ["count", run.uri, "-o", "json"]
    elif op == "open_version_mid":
        args = ["count", run.uri, "--version", str(run.mid), "-o", "json"]
    elif op == "open_timestamp_mid":
        args = ["count", run.uri, "--as-of", rfc3339(st["mid_ts"]), "-o", "json"]
    else:
        args = ["scan", run.uri, "--where", f"id < {run.k}", "-o", "json"]
    start = time.perf_counter()
    p = strata(run, run.proxy, args)
    wall = (time.perf_counter() - start) * 1000.0
    out = strata_ok(p, " ".join(args[:1] + args[2:]))
    if op == "commit":
        return wall, 1
    if op == "scan_1pct":
        return wall, len(json.loads(out))
    return wall, int(json.loads(out)["count"])


# ---------------------------------------------------------------------------------------------
# delta-rs and pyiceberg: the operations run in a child process (python w14.py --child OP ...)


def delta_options(endpoint: str) -> dict:
    return {"AWS_ENDPOINT_URL": endpoint, "AWS_ALLOW_HTTP": "true", **CREDS, "conditional_put": "etag"}


def iceberg_catalog(run_dir: Path, bucket: str, endpoint: str):
    from pyiceberg.catalog.sql import SqlCatalog

    return SqlCatalog(
        "w14",
        uri=f"sqlite:///{run_dir / 'catalog.db'}",
        warehouse=f"s3://{bucket}/w14/iceberg",
        **{"s3.endpoint": endpoint, "s3.access-key-id": CREDS["AWS_ACCESS_KEY_ID"],
           "s3.secret-access-key": CREDS["AWS_SECRET_ACCESS_KEY"], "s3.region": CREDS["AWS_REGION"]},
    )


def arrow_row(i: int):
    import pyarrow as pa

    schema = pa.schema([pa.field("id", pa.int64(), nullable=False), pa.field("v", pa.string())])
    return pa.table({"id": [i], "v": [f"v{i}"]}, schema=schema)


def delta_setup(run: Run) -> dict:
    from deltalake import DeltaTable, write_deltalake

    so = delta_options(run.moto)
    dt = DeltaTable.create(run.uri, arrow_row(0).schema, storage_options=so)
    mid_ts = None
    for i in range(run.commits):
        write_deltalake(dt, arrow_row(i), mode="append")
        if i + 1 == run.mid:
            mid_ts = time.time() + 1.0
            time.sleep(MID_PAUSE_S)
    assert dt.version() == run.commits, dt.version()
    return {"mid_ts": mid_ts}


def iceberg_setup(run: Run) -> dict:
    cat = iceberg_catalog(run.dir, run.bucket, run.moto)
    cat.create_namespace_if_not_exists("w14")
    t = cat.create_table(("w14", "t"), schema=arrow_row(0).schema)
    mid_ts = None
    for i in range(run.commits):
        t.append(arrow_row(i))
        if i + 1 == run.mid:
            mid_ts = time.time() + 1.0
            time.sleep(MID_PAUSE_S)
    snaps = t.metadata.snapshots
    assert len(snaps) == run.commits, len(snaps)
    # The table is created without a snapshot: snapshot k is append k. A user addresses a
    # snapshot by its id.
    return {"mid_ts": mid_ts, "mid_snapshot": snaps[run.mid - 1].snapshot_id}


def child(system: str, op: str, p: dict) -> None:
    """One operation in this (fresh) process; prints {"op_ms", "value"}. The imports come first
    and are not in op_ms."""
    import pyarrow  # noqa: F401  (both systems hand out Arrow tables)

    if system == "delta-rs":
        from datetime import datetime, timezone

        from deltalake import DeltaTable, write_deltalake

        so = delta_options(p["endpoint"])
        if op == "noop":
            f = lambda: 0  # noqa: E731
        elif op == "commit":
            row = arrow_row(p["next_id"])

            def f():
                dt = DeltaTable(p["uri"], storage_options=so)
                write_deltalake(dt, row, mode="append")
                return 1
        elif op == "open_latest_count":
            f = lambda: DeltaTable(p["uri"], storage_options=so).count()  # noqa: E731
        elif op == "open_version_mid":
            f = lambda: DeltaTable(p["uri"], version=p["mid"], storage_options=so).count()  # noqa: E731
        elif op == "open_timestamp_mid":
            when = datetime.fromtimestamp(p["mid_ts"], tz=timezone.utc)

            def f():
                dt = DeltaTable(p["uri"], storage_options=so)
                dt.load_as_version(when)
                return dt.count()
        else:
            f = lambda: DeltaTable(p["uri"], storage_options=so).to_pyarrow_table(  # noqa: E731
                filters=[("id", "<", p["k"])]).num_rows
    else:
        from pyiceberg.catalog.sql import SqlCatalog  # noqa: F401
        from pyiceberg.expressions import LessThan

        run_dir, bucket, ident = Path(p["dir"]), p["bucket"], ("w14", "t")

        def load():
            return iceberg_catalog(run_dir, bucket, p["endpoint"]).load_table(ident)

        if op == "noop":
            f = lambda: 0  # noqa: E731
        elif op == "commit":
            row = arrow_row(p["next_id"])

            def f():
                load().append(row)
                return 1
        elif op == "open_latest_count":
            f = lambda: load().scan().count()  # noqa: E731
        elif op == "open_version_mid":
            f = lambda: load().scan(snapshot_id=p["mid_snapshot"]).count()  # noqa: E731
        elif op == "open_timestamp_mid":
            def f():
                t = load()
                s = t.snapshot_as_of_timestamp(int(p["mid_ts"] * 1000))
                return t.scan(snapshot_id=s.snapshot_id).count()
        else:
            f = lambda: load().scan(row_filter=LessThan("id", p["k"])).to_arrow().num_rows  # noqa: E731
    start = time.perf_counter()
    value = f()
    print(json.dumps({"op_ms": (time.perf_counter() - start) * 1000.0, "value": value}), flush=True)


def python_op(run: Run, st: dict, op: str, next_id: int) -> tuple[float, float, int]:
    """(wall ms of the fresh process, ms of the operation inside it, the answer)."""
    params = {"endpoint": run.proxy if op != "noop" else run.moto, "uri": run.uri, "mid": run.mid,
              "k": run.k, "mid_ts": st["mid_ts"], "mid_snapshot": st.get("mid_snapshot"),
              "next_id": next_id, "dir": str(run.dir), "bucket": run.bucket}
    start = time.perf_counter()
    p = subprocess.run([sys.executable, __file__, "--child", op, "--system", run.system, json.dumps(params)],
                       env=run.env, capture_output=True, text=True, timeout=600)
    wall = (time.perf_counter() - start) * 1000.0
    lines = [s for s in p.stdout.splitlines() if s.startswith("{")]
    if not lines:
        raise RuntimeError(f"{run.system} {op}: exit {p.returncode}: {p.stderr.strip()[-800:]}")
    if p.returncode != 0:
        # deltalake has aborted while the interpreter exits, after the operation succeeded and
        # printed its answer (others.py met it too): the answer counts, the abort is reported.
        warn(f"{run.system} {op}: the process exited with status {p.returncode} after printing its answer "
             f"({p.stderr.strip()[-200:]}); figures kept")
    r = json.loads(lines[-1])
    return wall, r["op_ms"], int(r["value"])


# ---------------------------------------------------------------------------------------------


def expected(run: Run, st: dict, op: str) -> int:
    return {"commit": 1, "open_latest_count": run.commits + st["extra"], "open_version_mid": run.mid,
            "open_timestamp_mid": run.mid, "scan_1pct": run.k}[op]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--system", required=True, choices=SYSTEMS)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("params", nargs="?", help=argparse.SUPPRESS)
    ap.add_argument("--work", type=Path)
    ap.add_argument("--moto", help="moto's endpoint (setup goes straight to it)")
    ap.add_argument("--proxy", help="the latency proxy's endpoint (every timed operation)")
    ap.add_argument("--bucket")
    ap.add_argument("--cli", help="the strata binary (system strata)")
    a = ap.parse_args()
    if a.child:
        child(a.system, a.child, json.loads(a.params))
        return 0
    if not (a.work and a.moto and a.proxy and a.bucket) or (a.system == "strata" and not a.cli):
        ap.error("--work, --moto, --proxy and --bucket are required (and --cli for strata)")
    run = Run(a)
    st = run.state()
    if st is None:
        warn(f"{run.system}: building the table ({run.commits} one-row appends, not timed)")
        start = time.perf_counter()
        setup = {"strata": strata_setup, "delta-rs": delta_setup, "pyiceberg": iceberg_setup}[run.system]
        st = dict(setup(run), extra=0)
        run.save(st)
        warn(f"{run.system}: built in {time.perf_counter() - start:.1f} s")

    # The floor under every wall figure: a process that starts and does nothing.
    if run.system == "strata":
        start = time.perf_counter()
        strata_ok(subprocess.run([run.cli, "--version"], env=run.env, capture_output=True, text=True), "--version")
        emit(run.system, "process_start_wall", (time.perf_counter() - start) * 1000.0, "ms")
    else:
        try:
            wall, _, _ = python_op(run, st, "noop", 0)
            emit(run.system, "process_start_wall", wall, "ms")
        except RuntimeError as e:
            warn(str(e))

    failed = 0
    for op in OPS:
        next_id = run.commits + st["extra"]
        proxy_call(run.proxy, "/__proxy/reset?" + urllib.parse.urlencode({"label": f"{run.system} {op}"}), post=True)
        try:
            if run.system == "strata":
                wall, value = strata_op(run, st, op, next_id)
                op_ms = wall
            else:
                wall, op_ms, value = python_op(run, st, op, next_id)
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            warn(f"{run.system} {op} failed: {e}")
            proxy_stats_then_reset(run.proxy)
            failed += 1
            if op == "commit":
                st = run.state()  # a commit that may or may not have landed: count from the log
            continue
        stats = proxy_stats_then_reset(run.proxy)
        if op == "commit":
            st["extra"] += 1
            run.save(st)
        want = expected(run, st, op)
        if value != want:
            warn(f"{run.system} {op}: answered {value}, expected {want}: not reported")
            failed += 1
            continue
        emit(run.system, f"{op}_wall", wall, "ms")
        emit(run.system, f"{op}_op", op_ms, "ms")
        emit(run.system, f"{op}_sequential", stats["sequential"], "round trips")
        emit(run.system, f"{op}_requests", stats["requests"], "requests")
        if op == "commit":
            # The writes alone (PUT, and POST: pyarrow's multipart uploads under pyiceberg).
            by = stats.get("byMethod", {})
            emit(run.system, "commit_write_requests", sum(by.get(m, 0) for m in ("PUT", "POST", "DELETE")), "requests")
    emit(run.system, "table_versions", run.commits + st["extra"], "versions")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
