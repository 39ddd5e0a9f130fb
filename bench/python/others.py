"""W1-W5 of the Strata benchmark on delta-rs (deltalake), pyiceberg, DuckDB and bare pyarrow;
W8 on DuckDB; W9, W10 and W11 on delta-rs; W13 (CSV and NDJSON files to Parquet) on DuckDB and
pyarrow.

Run by `bench/compare` once per (round, system):

    python others.py --system delta-rs --work DIR [--round N] w1 w2 w3 w4 w5

DIR is what `strata-bench prepare DIR` wrote: `dataset.parquet` (W3's rows, seed 42, generated
by the Rust harness, so W3/W4 ingest and scan exactly Strata's values), `manifest.json` (row
count, in-memory MB, the 1% time bound) and `strata-w3/` (Strata's W3 table, whose data files
DuckDB and pyarrow scan in W4). W1, W2 and W5 take consecutive slices of the same rows.

Prints one JSON line per measurement, as `strata-bench` does:
`{"workload","system","metric","value","unit"}`. A workload a system has no equivalent for
prints nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import pyarrow.parquet as pq

SYSTEMS = ("delta-rs", "pyiceberg", "duckdb", "pyarrow")
W1_COMMITS, W1_ROWS = 300, 1000
W2_COMMITS, W2_ROWS = 2000, 10
W4_REPS = 5
W5_PROCESSES, W5_APPENDS, W5_ROWS = 4, 50, 1000
ZSTD_LEVEL = 3  # Strata's default codec: zstd level 3

SYSTEM = ""


def emit(workload: str, metric: str, value: float, unit: str) -> None:
    print(
        json.dumps(
            {
                "workload": workload,
                "system": SYSTEM,
                "metric": metric,
                "value": round(value * 1000.0) / 1000.0,
                "unit": unit,
            }
        ),
        flush=True,
    )


def median(v: list[float]) -> float:
    # The same element `strata-bench` reports: v[len/2] of the sorted list.
    return sorted(v)[len(v) // 2]


def percentile(v: list[float], p: float) -> float:
    s = sorted(v)
    return s[int(round((len(s) - 1) * p))]


def commit_metrics(ms: list[float]) -> None:
    last = ms[len(ms) - len(ms) // 10 :]
    emit("w1", "commit_mean", sum(ms) / max(len(ms), 1), "ms")
    emit("w1", "commit_median", median(ms), "ms")
    emit("w1", "commit_p95", percentile(ms, 0.95), "ms")
    emit("w1", "commit_median_last_10pct", median(last), "ms")


class Work:
    """The prepared inputs in DIR."""

    def __init__(self, d: Path):
        self.dir = d
        self.manifest = json.loads((d / "manifest.json").read_text())
        self.rows: int = self.manifest["rows"]
        self.mb: float = self.manifest["mb"]
        self.cutoff_us: int = self.manifest["cutoff_us"]
        self._small: pa.Table | None = None
        self._full: pa.Table | None = None

    def small(self) -> pa.Table:
        """The first 300,000 rows (W1, W2, W5)."""
        if self._small is None:
            f = pq.ParquetFile(self.dir / "dataset.parquet")
            parts, n = [], 0
            for b in f.iter_batches(batch_size=65_536):
                parts.append(b)
                n += b.num_rows
                if n >= W1_COMMITS * W1_ROWS:
                    break
            self._small = pa.Table.from_batches(parts).combine_chunks()
        return self._small

    def full(self) -> pa.Table:
        """W3's rows, in memory."""
        if self._full is None:
            t = pq.read_table(self.dir / "dataset.parquet")
            self._full = t.slice(0, self.rows)
        return self._full

    def schema(self) -> pa.Schema:
        return self.small().schema

    def cutoff(self) -> pa.Scalar:
        return pa.scalar(self.cutoff_us, type=pa.timestamp("us", tz="UTC"))

    def fresh(self, name: str) -> Path:
        p = self.dir / "runs" / name
        if p.exists():
            shutil.rmtree(p)
        p.parent.mkdir(parents=True, exist_ok=True)
        return p


# ---------------------------------------------------------------------------------------------
# delta-rs


def delta_props():
    from deltalake import WriterProperties

    return WriterProperties(compression="ZSTD", compression_level=ZSTD_LEVEL)


def delta_create(path: Path, schema: pa.Schema):
    from deltalake import DeltaTable

    return DeltaTable.create(str(path), schema)


def delta_w1(w: Work) -> None:
    from deltalake import write_deltalake

    data = w.small()
    dt = delta_create(w.fresh("w1-delta"), data.schema)
    props = delta_props()
    ms = []
    for i in range(W1_COMMITS):
        b = data.slice(i * W1_ROWS, W1_ROWS)
        start = time.perf_counter()
        # The handle is reused: write_deltalake commits against its snapshot and updates it.
        write_deltalake(dt, b, mode="append", writer_properties=props)
        ms.append((time.perf_counter() - start) * 1000.0)
    commit_metrics(ms)


def delta_w2(w: Work) -> None:
    from deltalake import DeltaTable, write_deltalake

    path = w.dir / "w2-delta"
    if not (path / "_built").exists():  # built once, reused by later rounds (not timed)
        if path.exists():
            shutil.rmtree(path)
        data = w.small()
        dt = delta_create(path, data.schema)
        props = delta_props()
        for i in range(W2_COMMITS):
            write_deltalake(dt, data.slice(i * W2_ROWS, W2_ROWS), mode="append", writer_properties=props)
        (path / "_built").touch()
    mid = W2_COMMITS // 2
    # delta-rs resolves a timestamp with the commit files' modification times: take one between
    # those of versions `mid` and `mid + 1`.
    log = path / "_delta_log"
    t0 = (log / f"{mid:020d}.json").stat().st_mtime_ns
    t1 = (log / f"{mid + 1:020d}.json").stat().st_mtime_ns
    mid_ts = datetime.fromtimestamp((t0 + t1) / 2 / 1e9, tz=timezone.utc)

    def latest():
        dt = DeltaTable(str(path))
        assert dt.version() == W2_COMMITS

    def version():
        dt = DeltaTable(str(path), version=mid)
        assert dt.version() == mid

    def at_time():
        dt = DeltaTable(str(path))
        dt.load_as_version(mid_ts)
        assert dt.version() == mid, dt.version()

    for metric, f in (("open_latest", latest), ("open_version_mid", version), ("open_timestamp_mid", at_time)):
        emit("w2", metric, timed_median_ms(f, 5), "ms")


def delta_w3(w: Work) -> None:
    from deltalake import write_deltalake

    data = w.full()
    path = w.fresh("w3-delta")
    dt = delta_create(path, data.schema)
    start = time.perf_counter()
    write_deltalake(dt, data, mode="append", writer_properties=delta_props())
    s = time.perf_counter() - start
    emit("w3", "ingest_seconds", s, "s")
    emit("w3", "ingest_throughput", w.mb / s, "MB/s")
    shutil.rmtree(path)


def delta_w4(w: Work) -> None:
    from deltalake import DeltaTable, write_deltalake

    path = w.dir / "w4-delta"
    if not (path / "_built").exists():  # W3's rows written once, reused (not timed)
        if path.exists():
            shutil.rmtree(path)
        dt = delta_create(path, w.schema())
        write_deltalake(dt, w.full(), mode="append", writer_properties=delta_props())
        (path / "_built").touch()
    dt = DeltaTable(str(path))
    cutoff = w.cutoff()

    def full():
        t = dt.to_pyarrow_dataset().to_table(columns=["value"])
        return pc.sum(t["value"]).as_py()

    def selective():
        t = dt.to_pyarrow_dataset().to_table(columns=["value"], filter=pc.field("ts") < cutoff)
        return t.num_rows

    scan_metrics(w, full, selective)


def folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def delta_w9(w: Work) -> None:
    """W9: the deletes of `strata-bench w9` (0.1% slices of `value`, spread over every file) on
    a copy of W3's rows in a Delta table, written once (not timed)."""
    from deltalake import DeltaTable, write_deltalake

    base = w.dir / "w9-delta-base"
    if not (base / "_built").exists():
        if base.exists():
            shutil.rmtree(base)
        dt = delta_create(base, w.schema())
        write_deltalake(dt, w.full(), mode="append", writer_properties=delta_props())
        (base / "_built").touch()
    run = w.dir / "w9-delta-run"
    if run.exists():
        shutil.rmtree(run)
    shutil.copytree(base, run)
    dt = DeltaTable(str(run))
    reps = max(1, min(9, int(os.environ.get("STRATA_BENCH_W9_DELETES", "3"))))
    ms, written, deleted = [], [], 0
    for k in range(reps):
        before = folder_bytes(run)
        start = time.perf_counter()
        m = dt.delete(f"value >= {k}.0 AND value < {k + 1}.0", writer_properties=delta_props())
        ms.append((time.perf_counter() - start) * 1000)
        written.append((folder_bytes(run) - before) / 1e6)
        deleted += int(m.get("num_deleted_rows", 0))
    emit("w9", "rows_deleted_per_delete", deleted / reps, "rows")
    emit("w9", "delete_ms", median(ms), "ms")
    emit("w9", "delete_mb_written", median(written), "MB")
    shutil.rmtree(run)


def merge_source(w: Work) -> pa.Table:
    """W10's source, as `strata-bench w10` builds it: 50,000 updates (every (rows/50,000)th row,
    `value` + 1000) and 50,000 inserts (the first 50,000 rows with `id` + rows)."""
    full = w.full()
    every = max(1, w.rows // 50_000)
    mask = pc.equal(pc.subtract(full["id"], pc.multiply(pc.divide(full["id"], every), every)), 0)
    updates = full.filter(mask)
    updates = updates.set_column(3, "value", pc.add(updates["value"], 1000.0))
    first = full.slice(0, min(50_000, full.num_rows))
    inserts = first.set_column(0, "id", pc.add(first["id"], w.rows))
    return pa.concat_tables([updates.cast(full.schema), inserts.cast(full.schema)]).combine_chunks()


def delta_w10(w: Work) -> None:
    """W10: the MERGE of `strata-bench w10` (upsert on `id`) into a fresh copy of W3's rows in a
    Delta table each round (copy not timed)."""
    from deltalake import DeltaTable, write_deltalake

    base = w.dir / "w10-delta-base"
    if not (base / "_built").exists():
        if base.exists():
            shutil.rmtree(base)
        dt = delta_create(base, w.schema())
        write_deltalake(dt, w.full(), mode="append", writer_properties=delta_props())
        (base / "_built").touch()
    source = merge_source(w)
    reps = max(1, min(9, int(os.environ.get("STRATA_BENCH_W10_MERGES", "3"))))
    ms, written, counts = [], [], set()
    for _ in range(reps):
        run = w.dir / "w10-delta-run"
        if run.exists():
            shutil.rmtree(run)
        shutil.copytree(base, run)
        dt = DeltaTable(str(run))
        before = folder_bytes(run)
        start = time.perf_counter()
        m = (
            dt.merge(
                source=source,
                predicate="t.id = s.id",
                source_alias="s",
                target_alias="t",
                writer_properties=delta_props(),
            )
            .when_matched_update_all()
            .when_not_matched_insert_all()
            .execute()
        )
        ms.append((time.perf_counter() - start) * 1000)
        written.append((folder_bytes(run) - before) / 1e6)
        counts.add((int(m.get("num_target_rows_updated", 0)), int(m.get("num_target_rows_inserted", 0))))
        shutil.rmtree(run)
    if len(counts) != 1:
        raise RuntimeError(f"the merges disagree: {counts}")
    updated, inserted = counts.pop()
    emit("w10", "rows_updated", updated, "rows")
    emit("w10", "rows_inserted", inserted, "rows")
    emit("w10", "merge_ms", median(ms), "ms")
    emit("w10", "merge_mb_written", median(written), "MB")


W11_SCANS = 3


def w11_sizes() -> tuple[int, int, int]:
    commits = max(1, int(os.environ.get("STRATA_BENCH_W11_COMMITS", "10000")))
    per = max(1, int(os.environ.get("STRATA_BENCH_W11_ROWS", "1000")))
    scans = max(1, min(9, int(os.environ.get("STRATA_BENCH_W11_SCANS", str(W11_SCANS)))))
    return commits, per, scans


def same_sum(a: float, b: float) -> bool:
    """Sums of the same values added in another order differ in the last bits only."""
    return abs(a - b) <= 1e-9 * max(abs(a), abs(b), 1.0)


def delta_w11(w: Work) -> None:
    """W11: `strata-bench w11` on delta-rs. The first commits x rows rows of the data set, one
    `write_deltalake(mode="append")` per slice of `STRATA_BENCH_W11_ROWS` rows, built once per
    work folder (the run that builds it reports `append_total_s`); each run copies that table
    (not timed), scans it, runs `optimize.compact()` (default target size, 100 MB; zstd level
    3 like every delta-rs write here), and scans it again."""
    from deltalake import DeltaTable, write_deltalake

    commits, per, reps = w11_sizes()
    total = commits * per
    if total > w.rows:
        raise RuntimeError(f"W11 needs {commits} x {per} = {total} rows; the data set has {w.rows} (--rows)")
    base, marker = w.dir / "w11-delta-base", w.dir / "w11-delta-base.json"
    want = {"commits": commits, "rows_per_commit": per, "source_rows": w.rows}
    built = json.loads(marker.read_text()) if marker.exists() else {}
    if built.get("table") != want or not base.exists():
        marker.unlink(missing_ok=True)
        if base.exists():
            shutil.rmtree(base)
        data = w.full().slice(0, total).combine_chunks()
        slices = [data.slice(i * per, per) for i in range(commits)]
        dt = delta_create(base, data.schema)
        props = delta_props()
        start = time.perf_counter()
        for b in slices:
            # The handle is reused, as in W1: each write commits against its snapshot.
            write_deltalake(dt, b, mode="append", writer_properties=props)
        s = time.perf_counter() - start
        emit("w11", "append_total_s", s, "s")
        emit("w11", "append_mean_ms", s * 1000.0 / commits, "ms")
        marker.write_text(json.dumps({"table": want, "append_total_s": s}))

    run = w.dir / "w11-delta-run"
    if run.exists():
        shutil.rmtree(run)
    shutil.copytree(base, run)

    def scans(dt) -> tuple[float, int, float]:
        ms, seen = [], None
        for _ in range(reps):
            start = time.perf_counter()
            t = dt.to_pyarrow_dataset().to_table(columns=["value"])
            got = (t.num_rows, pc.sum(t["value"]).as_py() or 0.0)
            ms.append((time.perf_counter() - start) * 1000.0)
            if seen is not None and (seen[0] != got[0] or not same_sum(seen[1], got[1])):
                raise RuntimeError(f"delta-rs W11: scans disagree: {seen} then {got}")
            seen = got
        return median(ms), seen[0], seen[1]

    dt = DeltaTable(str(run))
    files_before = len(dt.file_uris())
    before_ms, rows_before, sum_before = scans(dt)
    if rows_before != total:
        raise RuntimeError(f"delta-rs W11: the table holds {rows_before} rows, {total} were appended")
    size = folder_bytes(run)
    start = time.perf_counter()
    m = dt.optimize.compact(writer_properties=delta_props())
    optimize_ms = (time.perf_counter() - start) * 1000.0
    written = (folder_bytes(run) - size) / 1e6
    dt = DeltaTable(str(run))
    files_after = len(dt.file_uris())
    removed, added = int(m.get("numFilesRemoved", 0)), int(m.get("numFilesAdded", 0))
    if files_before - removed + added != files_after:
        raise RuntimeError(f"delta-rs W11: compact removed {removed}, added {added}, but {files_before} became {files_after}")
    after_ms, rows_after, sum_after = scans(dt)
    if rows_after != rows_before or not same_sum(sum_before, sum_after):
        raise RuntimeError(
            f"delta-rs W11: compact changed the rows: {rows_before} rows sum {sum_before} before, "
            f"{rows_after} rows sum {sum_after} after"
        )
    emit("w11", "rows", rows_before, "rows")
    emit("w11", "value_sum", sum_before, "sum")
    emit("w11", "files_before", files_before, "files")
    emit("w11", "files_after", files_after, "files")
    emit("w11", "scan_before_ms", before_ms, "ms")
    emit("w11", "optimize_ms", optimize_ms, "ms")
    emit("w11", "optimize_mb_written", written, "MB")
    emit("w11", "scan_after_ms", after_ms, "ms")
    shutil.rmtree(run)


def delta_w5(w: Work) -> None:
    from deltalake import DeltaTable

    path = w.fresh("w5-delta")
    delta_create(path, w.schema())
    run_writers(w, path)
    # Version 0 is the table's creation: every later version is one append.
    emit("w5", "commits_landed", DeltaTable(str(path)).version(), "commits")


def delta_writer(w: Work, target: str, wid: int) -> tuple[int, int]:
    from deltalake import DeltaTable, write_deltalake

    dt = DeltaTable(target)
    props = delta_props()
    data = w.small()
    ok = failed = 0
    for i in range(W5_APPENDS):
        b = data.slice(((wid * W5_APPENDS + i) * W5_ROWS) % (data.num_rows - W5_ROWS), W5_ROWS)
        try:
            write_deltalake(dt, b, mode="append", writer_properties=props)
            ok += 1
        except Exception as e:  # noqa: BLE001 - a lost commit is what W5 counts
            print(f"delta-rs writer {wid}: {type(e).__name__}: {e}", file=sys.stderr)
            failed += 1
    return ok, failed


# ---------------------------------------------------------------------------------------------
# pyiceberg (SqlCatalog on SQLite, warehouse on local disk)


def iceberg_catalog(w: Work):
    from pyiceberg.catalog.sql import SqlCatalog

    d = w.dir / "iceberg"
    d.mkdir(exist_ok=True)
    (d / "warehouse").mkdir(exist_ok=True)
    cat = SqlCatalog(
        "bench",
        uri=f"sqlite:///{d / 'catalog.db'}",
        warehouse=f"file://{d / 'warehouse'}",
    )
    try:
        cat.create_namespace("bench")
    except Exception:  # noqa: BLE001 - already there
        pass
    return cat


ICEBERG_PROPS = {
    "write.parquet.compression-codec": "zstd",
    "write.parquet.compression-level": str(ZSTD_LEVEL),
}


def iceberg_fresh(w: Work, name: str):
    cat = iceberg_catalog(w)
    ident = ("bench", name)
    try:
        cat.purge_table(ident)
    except Exception:  # noqa: BLE001 - not there
        pass
    return cat, cat.create_table(ident, schema=w.schema(), properties=ICEBERG_PROPS)


def iceberg_w1(w: Work) -> None:
    data = w.small()
    _, t = iceberg_fresh(w, "w1")
    ms = []
    for i in range(W1_COMMITS):
        b = data.slice(i * W1_ROWS, W1_ROWS)
        start = time.perf_counter()
        t.append(b)
        ms.append((time.perf_counter() - start) * 1000.0)
    commit_metrics(ms)


def iceberg_w2(w: Work) -> None:
    # Off by default: each pyiceberg append deep-copies the table metadata (all snapshots) a
    # dozen times or more, so building 2,000 commits is quadratic: ~0.5-1 s per append at 300
    # snapshots on this machine, over an hour for the 2,000. STRATA_COMPARE_ICEBERG_W2=1 runs it.
    if os.environ.get("STRATA_COMPARE_ICEBERG_W2") != "1":
        print("pyiceberg: W2 skipped (set STRATA_COMPARE_ICEBERG_W2=1 to build 2,000 commits)", file=sys.stderr)
        return
    cat = iceberg_catalog(w)
    ident = ("bench", "w2")
    marker = w.dir / "iceberg" / "w2-built"
    if not marker.exists():  # built once, reused by later rounds (not timed)
        data = w.small()
        _, t = iceberg_fresh(w, "w2")
        for i in range(W2_COMMITS):
            t.append(data.slice(i * W2_ROWS, W2_ROWS))
        marker.touch()
    mid = W2_COMMITS // 2
    t = cat.load_table(ident)
    snaps = t.metadata.snapshots
    assert len(snaps) == W2_COMMITS, len(snaps)
    mid_snap = snaps[mid - 1]  # the table is created without a snapshot: snapshot k = append k
    mid_ts = mid_snap.timestamp_ms

    # "Open" = load the metadata and list the snapshot's data files (what opening a Strata or
    # Delta table gives); the metadata load alone is reported as well.
    def files(t, snapshot_id=None) -> int:
        return sum(1 for _ in t.scan(snapshot_id=snapshot_id).plan_files())

    def latest():
        t = cat.load_table(ident)
        assert files(t) == W2_COMMITS

    def latest_meta():
        cat.load_table(ident).current_snapshot()

    def version():
        t = cat.load_table(ident)
        s = t.metadata.snapshots[mid - 1]
        assert files(t, s.snapshot_id) == mid

    def at_time():
        t = cat.load_table(ident)
        s = t.snapshot_as_of_timestamp(mid_ts)
        assert s is not None and files(t, s.snapshot_id) == mid

    emit("w2", "open_latest", timed_median_ms(latest, 5), "ms")
    emit("w2", "open_version_mid", timed_median_ms(version, 5), "ms")
    emit("w2", "open_timestamp_mid", timed_median_ms(at_time, 5), "ms")
    emit("w2", "open_latest_metadata_only", timed_median_ms(latest_meta, 5), "ms")


def iceberg_w3(w: Work) -> None:
    data = w.full()
    cat, t = iceberg_fresh(w, "w3")
    start = time.perf_counter()
    t.append(data)
    s = time.perf_counter() - start
    emit("w3", "ingest_seconds", s, "s")
    emit("w3", "ingest_throughput", w.mb / s, "MB/s")
    cat.purge_table(("bench", "w3"))


def iceberg_w4(w: Work) -> None:
    from pyiceberg.expressions import LessThan

    cat = iceberg_catalog(w)
    ident = ("bench", "w4")
    marker = w.dir / "iceberg" / "w4-built"
    if not marker.exists():
        _, t = iceberg_fresh(w, "w4")
        t.append(w.full())
        marker.touch()
    t = cat.load_table(ident)
    bound = datetime.fromtimestamp(w.cutoff_us / 1e6, tz=timezone.utc).isoformat()

    def full():
        a = t.scan(selected_fields=("value",)).to_arrow()
        return pc.sum(a["value"]).as_py()

    def selective():
        return t.scan(row_filter=LessThan("ts", bound), selected_fields=("value",)).to_arrow().num_rows

    scan_metrics(w, full, selective)


def iceberg_w5(w: Work) -> None:
    iceberg_fresh(w, "w5")
    run_writers(w, w.dir / "iceberg")
    t = iceberg_catalog(w).load_table(("bench", "w5"))
    emit("w5", "commits_landed", len(t.metadata.snapshots), "commits")


def iceberg_writer(w: Work, _target: str, wid: int) -> tuple[int, int]:
    t = iceberg_catalog(w).load_table(("bench", "w5"))
    data = w.small()
    ok = failed = 0
    for i in range(W5_APPENDS):
        b = data.slice(((wid * W5_APPENDS + i) * W5_ROWS) % (data.num_rows - W5_ROWS), W5_ROWS)
        try:
            t.append(b)
            ok += 1
        except Exception as e:  # noqa: BLE001 - a lost commit is what W5 counts
            print(f"pyiceberg writer {wid}: {type(e).__name__}: {str(e)[:200]}", file=sys.stderr)
            failed += 1
            t = t.refresh()
    return ok, failed


# ---------------------------------------------------------------------------------------------
# DuckDB and bare pyarrow: W3 writes one parquet file; W4 scans Strata's W3 data files.


def duckdb_w3(w: Work) -> None:
    import duckdb

    data = w.full()
    con = duckdb.connect()
    con.register("data", data)
    out = w.fresh("w3-duckdb.parquet")
    start = time.perf_counter()
    con.execute(f"COPY data TO '{out}' (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL {ZSTD_LEVEL})")
    s = time.perf_counter() - start
    emit("w3", "ingest_seconds", s, "s")
    emit("w3", "ingest_throughput", w.mb / s, "MB/s")
    out.unlink()


def duckdb_w4(w: Work) -> None:
    import duckdb

    con = duckdb.connect()
    files = ", ".join(f"'{f}'" for f in w.manifest["strata_files"])
    cutoff_s = w.cutoff_us / 1e6

    def full():
        return con.execute(f"SELECT sum(value) FROM read_parquet([{files}])").fetchone()[0]

    def selective():
        q = f"SELECT count(value) FROM read_parquet([{files}]) WHERE ts < to_timestamp({cutoff_s})"
        return con.execute(q).fetchone()[0]

    scan_metrics(w, full, selective)


W8_REPS = 5


def duckdb_w8(w: Work) -> None:
    """W8's queries on the files of W8's Strata tables (`strata-bench w8-prepare DIR/w8`)."""
    import duckdb

    manifest = json.loads((w.dir / "w8" / "w8.json").read_text())
    con = duckdb.connect()
    for q in manifest["queries"]:
        sql = q["sql"]
        con.execute(sql).fetchall()  # warm-up, as strata-bench does
        ms = []
        for _ in range(W8_REPS):
            start = time.perf_counter()
            con.execute(sql).fetchall()
            ms.append((time.perf_counter() - start) * 1000.0)
        emit("w8", f"{q['name']}_ms", median(ms), "ms")


def w13_inputs(w: Work):
    """W13's files (`strata-bench w13-prepare DIR/w13`): (format, path, MB, rows)."""
    m = json.loads((w.dir / "w13" / "w13.json").read_text())
    return [(fmt, m[fmt], m[f"{fmt}_bytes"] / 1e6, m["rows"]) for fmt in ("csv", "ndjson")]


def w13_emit(fmt: str, s: float, mb: float, out: Path, rows: int) -> None:
    n = pq.ParquetFile(out).metadata.num_rows
    if n != rows:
        raise SystemExit(f"w13 {fmt}: {n} rows written, expected {rows}")
    emit("w13", f"{fmt}_seconds", s, "s")
    emit("w13", f"{fmt}_throughput", mb / s, "MB/s")
    emit("w13", f"{fmt}_rows", n, "rows")
    emit("w13", f"{fmt}_parquet_mb", out.stat().st_size / 1e6, "MB")
    out.unlink()


def duckdb_w13(w: Work) -> None:
    """COPY (SELECT * FROM read_csv / read_json(FILE)) TO ... (FORMAT parquet), zstd level 3."""
    import duckdb

    for fmt, path, mb, rows in w13_inputs(w):
        con = duckdb.connect()
        out = w.fresh(f"w13-duckdb-{fmt}.parquet")
        reader = "read_csv" if fmt == "csv" else "read_json"
        start = time.perf_counter()
        con.execute(
            f"COPY (SELECT * FROM {reader}('{path}')) TO '{out}' "
            f"(FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL {ZSTD_LEVEL})"
        )
        s = time.perf_counter() - start
        con.close()
        w13_emit(fmt, s, mb, out, rows)


def pyarrow_w13(w: Work) -> None:
    """pyarrow.csv.read_csv / pyarrow.json.read_json, then pq.write_table, zstd level 3."""
    import pyarrow.csv as pacsv
    import pyarrow.json as pajson

    for fmt, path, mb, rows in w13_inputs(w):
        out = w.fresh(f"w13-pyarrow-{fmt}.parquet")
        start = time.perf_counter()
        t = pacsv.read_csv(path) if fmt == "csv" else pajson.read_json(path)
        pq.write_table(t, out, compression="zstd", compression_level=ZSTD_LEVEL)
        s = time.perf_counter() - start
        del t
        w13_emit(fmt, s, mb, out, rows)


def pyarrow_w3(w: Work) -> None:
    data = w.full()
    out = w.fresh("w3-pyarrow.parquet")
    start = time.perf_counter()
    pq.write_table(data, out, compression="zstd", compression_level=ZSTD_LEVEL)
    s = time.perf_counter() - start
    emit("w3", "ingest_seconds", s, "s")
    emit("w3", "ingest_throughput", w.mb / s, "MB/s")
    out.unlink()


def pyarrow_w4(w: Work) -> None:
    files = w.manifest["strata_files"]
    cutoff = w.cutoff()

    def full():
        t = pads.dataset(files, format="parquet").to_table(columns=["value"])
        return pc.sum(t["value"]).as_py()

    def selective():
        d = pads.dataset(files, format="parquet")
        return d.to_table(columns=["value"], filter=pc.field("ts") < cutoff).num_rows

    scan_metrics(w, full, selective)


# ---------------------------------------------------------------------------------------------
# shared


def timed_median_ms(f, reps: int) -> float:
    ms = []
    for _ in range(reps):
        start = time.perf_counter()
        f()
        ms.append((time.perf_counter() - start) * 1000.0)
    return median(ms)


def scan_metrics(w: Work, full, selective) -> None:
    """W4: `full` returns sum(value), `selective` the rows with ts below the 1% bound."""
    full_ms, sel_ms = [], []
    expected_rows = (w.cutoff_us - w.manifest["t0_us"] + w.manifest["step_us"] - 1) // w.manifest["step_us"]
    for _ in range(W4_REPS):
        start = time.perf_counter()
        total = full()
        full_ms.append((time.perf_counter() - start) * 1000.0)
        start = time.perf_counter()
        n = selective()
        sel_ms.append((time.perf_counter() - start) * 1000.0)
        if n != expected_rows:
            raise RuntimeError(f"{SYSTEM} W4: 1% scan returned {n} rows, expected {expected_rows}")
        if total is None or total <= 0:
            raise RuntimeError(f"{SYSTEM} W4: full scan sum {total}")
    emit("w4", "full_scan_sum", median(full_ms), "ms")
    emit("w4", "scan_first_1pct", median(sel_ms), "ms")


WRITERS = {"delta-rs": delta_writer, "pyiceberg": iceberg_writer}


def run_writers(w: Work, target: Path) -> None:
    """W5: W5_PROCESSES processes of this script, each W5_APPENDS appends of W5_ROWS rows."""
    start = time.perf_counter()
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "--system", SYSTEM, "--work", str(w.dir), "--w5-writer", str(i), str(target)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(W5_PROCESSES)
    ]
    results = [(p, p.communicate()[0]) for p in procs]
    wall = time.perf_counter() - start
    failed_procs, failed_appends, loops = 0, 0, []
    for p, out in results:
        if p.returncode != 0:
            failed_procs += 1
            continue
        r = json.loads(out.strip().splitlines()[-1])
        failed_appends += r["failed"]
        loops.append(r["loop_seconds"])
    emit("w5", "wall_seconds", wall, "s")
    emit("w5", "commits_expected", W5_PROCESSES * W5_APPENDS, "commits")
    emit("w5", "writers_failed", failed_procs, "processes")
    emit("w5", "appends_failed", failed_appends, "appends")
    if loops:
        # Python start-up and imports are in wall_seconds; this is the slowest append loop alone.
        emit("w5", "slowest_writer_loop_seconds", max(loops), "s")


def writer_main(w: Work, wid: int, target: str) -> None:
    w.small()  # load the rows before the loop
    start = time.perf_counter()
    ok, failed = WRITERS[SYSTEM](w, target, wid)
    print(json.dumps({"ok": ok, "failed": failed, "loop_seconds": time.perf_counter() - start}))


RUNS = {
    "delta-rs": {"w1": delta_w1, "w2": delta_w2, "w3": delta_w3, "w4": delta_w4, "w5": delta_w5, "w9": delta_w9, "w10": delta_w10, "w11": delta_w11},
    "pyiceberg": {"w1": iceberg_w1, "w2": iceberg_w2, "w3": iceberg_w3, "w4": iceberg_w4, "w5": iceberg_w5},
    "duckdb": {"w3": duckdb_w3, "w4": duckdb_w4, "w8": duckdb_w8, "w13": duckdb_w13},
    "pyarrow": {"w3": pyarrow_w3, "w4": pyarrow_w4, "w13": pyarrow_w13},
}


def main() -> int:
    global SYSTEM
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--system", required=True, choices=SYSTEMS)
    ap.add_argument("--work", required=True, type=Path, help="the directory `strata-bench prepare` wrote")
    ap.add_argument("--w5-writer", nargs=2, metavar=("ID", "TARGET"), help=argparse.SUPPRESS)
    ap.add_argument("workloads", nargs="*", default=["w1", "w2", "w3", "w4", "w5"])
    a = ap.parse_args()
    SYSTEM = a.system
    w = Work(a.work)
    if a.w5_writer:
        writer_main(w, int(a.w5_writer[0]), a.w5_writer[1])
        return 0
    for name in a.workloads:
        f = RUNS[SYSTEM].get(name)
        if f is not None:
            f(w)
    return 0


if __name__ == "__main__":
    sys.exit(main())
