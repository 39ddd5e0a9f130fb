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
        text = v.isoformat()
        # UTC instants as `strata scan` writes them.
        return text[: -len("+00:00")] + "Z" if text.endswith("+00:00") else text
    return v


def result(columns, rows):
    rows = [[plain(v) for v in r] for r in rows]
    rows.sort(key=lambda r: json.dumps(r, sort_keys=True))
    return {"columns": columns, "rows": rows}


def s3_endpoint():
    """The S3 endpoint of the tests (moto), from AWS_ENDPOINT_URL, or None."""
    return os.environ.get("AWS_ENDPOINT_URL")


def read_pyiceberg(path, snapshots, row_filter, tag):
    from pyiceberg.table import StaticTable

    props = {}
    if path.startswith("s3://") and s3_endpoint():
        props = {
            "s3.endpoint": s3_endpoint(),
            "s3.access-key-id": os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
            "s3.secret-access-key": os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
            "s3.region": os.environ.get("AWS_REGION", "us-east-1"),
        }
    table = StaticTable.from_metadata(path, properties=props)
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
    names = ["avro", "iceberg"]
    if path.startswith("s3://"):
        names.append("httpfs")
    for name in names:
        found = glob.glob(os.path.join(base, "extensions", "*", "*", f"{name}.duckdb_extension"))
        if not found:
            sys.exit(f"the DuckDB extension {name} is not installed under {base}")
        con.execute(f"LOAD '{found[0]}'")
    if path.startswith("s3://") and s3_endpoint():
        from urllib.parse import urlparse

        ep = urlparse(s3_endpoint())
        con.execute(
            "CREATE SECRET moto (TYPE s3, KEY_ID ?, SECRET ?, REGION ?, ENDPOINT ?, "
            "URL_STYLE 'path', USE_SSL ?)",
            [
                os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
                os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
                os.environ.get("AWS_REGION", "us-east-1"),
                ep.netloc,
                ep.scheme == "https",
            ],
        )
    out = {}
    for sid in snapshots:
        cur = con.execute(
            "SELECT * FROM iceberg_scan(?, snapshot_from_id => ?)", [path, int(sid)]
        )
        # Through Arrow: DuckDB's own conversion of timestamptz needs pytz.
        t = cur.fetch_arrow_table()
        out[str(sid)] = result(t.column_names, [list(r.values()) for r in t.to_pylist()])
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
