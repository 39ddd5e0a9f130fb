"""Read a Strata table's generated Iceberg metadata with an independent Iceberg reader.

    python scripts/iceberg_read.py pyiceberg METADATA_JSON SNAPSHOT_ID[,...] [--filter EXPR] [--tag NAME]
    python scripts/iceberg_read.py duckdb METADATA_JSON SNAPSHOT_ID[,...]
    python scripts/iceberg_read.py ENGINE NAMESPACE.TABLE SNAPSHOT_ID[,...] --rest URL --token T

With --rest, the table is loaded from an Iceberg REST catalog (`strata serve`'s `/iceberg`):
pyiceberg's RestCatalog, or DuckDB's `ATTACH ... (TYPE iceberg, ENDPOINT ...)` with a bearer
token secret; the output then also holds "tables" (every table the catalog lists, as
"namespace.table") and, for pyiceberg, "metadata-location".

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


def s3_props():
    if not s3_endpoint():
        return {}
    return {
        "s3.endpoint": s3_endpoint(),
        "s3.access-key-id": os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
        "s3.secret-access-key": os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
        "s3.region": os.environ.get("AWS_REGION", "us-east-1"),
    }


def read_pyiceberg(path, snapshots, row_filter, tag, rest=None, token=None):
    out = {}
    if rest:
        from pyiceberg.catalog.rest import RestCatalog

        catalog = RestCatalog("strata", uri=rest, token=token, **s3_props())
        out["tables"] = sorted(
            ".".join(ident)
            for ns in catalog.list_namespaces()
            for ident in catalog.list_tables(ns)
        )
        table = catalog.load_table(path)
        out["metadata-location"] = table.metadata_location
    else:
        from pyiceberg.table import StaticTable

        props = s3_props() if path.startswith("s3://") else {}
        table = StaticTable.from_metadata(path, properties=props)
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


def read_duckdb(path, snapshots, rest=None, token=None):
    import duckdb

    con = duckdb.connect()
    import duckdb_ext

    base = list(duckdb_ext.__path__)[0]
    names = ["avro", "iceberg"]
    # A REST catalog is reached over HTTP (httpfs), whatever the warehouse.
    if path.startswith("s3://") or rest:
        names.append("httpfs")
    for name in names:
        found = glob.glob(os.path.join(base, "extensions", "*", "*", f"{name}.duckdb_extension"))
        if not found:
            sys.exit(f"the DuckDB extension {name} is not installed under {base}")
        con.execute(f"LOAD '{found[0]}'")
    if (path.startswith("s3://") or rest) and s3_endpoint():
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
    if rest:
        con.execute("CREATE SECRET strata (TYPE iceberg, TOKEN ?)", [token])
        con.execute(
            "ATTACH 'strata' AS strata (TYPE iceberg, SECRET strata, ENDPOINT ?)", [rest]
        )
        out["tables"] = sorted(
            f"{schema}.{name}"
            for (db, schema, name, *_rest) in con.execute("SHOW ALL TABLES").fetchall()
            if db == "strata"
        )
        ns, table = path.split(".", 1)
    for sid in snapshots:
        if rest:
            cur = con.execute(
                f'SELECT * FROM strata."{ns}"."{table}" AT (VERSION => {int(sid)})'
            )
        else:
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
    p.add_argument("--rest", help="Iceberg REST catalog URL; METADATA is then NAMESPACE.TABLE")
    p.add_argument("--token", help="bearer token of the REST catalog")
    a = p.parse_args()
    snapshots = [int(s) for s in a.snapshots.split(",") if s]
    if a.engine == "pyiceberg":
        out = read_pyiceberg(a.metadata, snapshots, a.filter, a.tag, a.rest, a.token)
    else:
        out = read_duckdb(a.metadata, snapshots, a.rest, a.token)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
