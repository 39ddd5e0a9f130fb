"""Read a Strata table's generated Iceberg metadata with an independent Iceberg reader.

    python scripts/iceberg_read.py pyiceberg METADATA_JSON SNAPSHOT_ID[,...] [--filter EXPR] [--tag NAME]
    python scripts/iceberg_read.py duckdb METADATA_JSON SNAPSHOT_ID[,...]

Prints one JSON object: {"<snapshot id>": {"columns": [...], "rows": [[...], ...]}, ...},
rows sorted, values as JSON scalars. For `duckdb`, the Iceberg and Avro extensions are loaded
by path from the `duckdb_ext` package (PyPI `duckdb-ext-iceberg`, `duckdb-ext-avro`).
"""

import argparse
import decimal
import glob
import json
import os
import sys


def plain(v):
    if isinstance(v, decimal.Decimal):
        return str(v)
    if isinstance(v, bytes):
        return v.hex()
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return v


def result(columns, rows):
    rows = [[plain(v) for v in r] for r in rows]
    rows.sort(key=lambda r: json.dumps(r, sort_keys=True))
    return {"columns": columns, "rows": rows}


def read_pyiceberg(path, snapshots, row_filter, tag):
    from pyiceberg.table import StaticTable

    table = StaticTable.from_metadata(path)
    out = {}
    if tag:
        ref = table.snapshot_by_name(tag)
        if ref is None:
            sys.exit(f"no tag {tag}")
        snapshots = [ref.snapshot_id]
        out["tag"] = ref.snapshot_id
    for sid in snapshots:
        kwargs = {"snapshot_id": sid}
        if row_filter:
            kwargs["row_filter"] = row_filter
        t = table.scan(**kwargs).to_arrow()
        cols = t.column_names
        out[str(sid)] = result(cols, [list(r.values()) for r in t.to_pylist()])
    return out


def read_duckdb(path, snapshots):
    import duckdb

    con = duckdb.connect()
    import duckdb_ext

    base = list(duckdb_ext.__path__)[0]
    for name in ("avro", "iceberg"):
        found = glob.glob(os.path.join(base, "extensions", "*", "*", f"{name}.duckdb_extension"))
        if not found:
            sys.exit(f"the DuckDB extension {name} is not installed under {base}")
        con.execute(f"LOAD '{found[0]}'")
    out = {}
    for sid in snapshots:
        cur = con.execute(
            "SELECT * FROM iceberg_scan(?, snapshot_from_id => ?)", [path, int(sid)]
        )
        cols = [d[0] for d in cur.description]
        out[str(sid)] = result(cols, [list(r) for r in cur.fetchall()])
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("engine", choices=["pyiceberg", "duckdb"])
    p.add_argument("metadata")
    p.add_argument("snapshots")
    p.add_argument("--filter")
    p.add_argument("--tag")
    a = p.parse_args()
    snapshots = [int(s) for s in a.snapshots.split(",") if s]
    if a.engine == "pyiceberg":
        out = read_pyiceberg(a.metadata, snapshots, a.filter, a.tag)
    else:
        out = read_duckdb(a.metadata, snapshots)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
