"""Medians and Strata/other ratios of `bench/compare`'s raw JSON lines.

    python summarize.py RAW.jsonl [--table]

Reads lines `{"workload","system","metric","value","unit","round"}`; prints one JSON line per
(workload, metric, system) with the median over rounds (`"kind": "median"`), then one per
(workload, metric, other system) that Strata also measured with the Strata/other ratio
(`"kind": "ratio"`, system `"strata/<other>"`). A workload whose systems are Strata's own
configurations (W12: catalog-sqlite and catalog-postgres against path-addressed commits) gets
ratios against its baseline instead (`"catalog-sqlite/path"`). With --table, a plain-text table
instead.

For times (ms, s) and W14's requests and round trips a ratio below 1 means Strata is ahead; for MB/s and commits, above 1 means
Strata is ahead. `better` says which, per ratio line.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict

# W14 counts the requests and sequential round trips of an operation through the latency proxy.
LOWER_IS_BETTER = {"ms", "s", "round trips", "requests"}
HIGHER_IS_BETTER = {"MB/s", "commits", "commits/s"}
SYSTEM_ORDER = ["strata", "parquet-rs", "delta-rs", "pyiceberg", "duckdb", "pyarrow",
                "path", "catalog-sqlite", "catalog-postgres"]
# Workloads compared with one of their own systems rather than with Strata.
BASELINE = {"w12": "path"}


def median(v: list[float]) -> float:
    s = sorted(v)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2.0


def summarize(lines: list[dict]) -> list[dict]:
    groups: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    units: dict[tuple[str, str, str], str] = {}
    for r in lines:
        if r.get("kind") is not None:
            continue  # an earlier summary line
        k = (r["workload"], r["metric"], r["system"])
        groups[k].append(float(r["value"]))
        units[k] = r["unit"]
    rank = {s: i for i, s in enumerate(SYSTEM_ORDER)}
    keys = sorted(groups, key=lambda k: (k[0], k[1], rank.get(k[2], 99), k[2]))
    out = []
    medians = {}
    for k in keys:
        m = median(groups[k])
        medians[k] = m
        w, metric, system = k
        out.append(
            {
                "kind": "median",
                "workload": w,
                "system": system,
                "metric": metric,
                "value": round(m, 3),
                "unit": units[k],
                "rounds": len(groups[k]),
                "min": min(groups[k]),
                "max": max(groups[k]),
            }
        )
    for k in keys:
        w, metric, system = k
        unit = units[k]
        base = BASELINE.get(w)
        if base is None:
            # Strata against another system.
            ours, theirs, skip = "strata", system, system == "strata"
            num, den = medians.get((w, metric, "strata")), medians[k]
        else:
            # A system against the workload's baseline.
            ours, theirs, skip = system, base, system == base
            num, den = medians[k], medians.get((w, metric, base))
        if skip or num is None or den is None or unit not in LOWER_IS_BETTER | HIGHER_IS_BETTER or metric.endswith("_expected"):
            continue
        if den == 0:
            continue
        ratio = num / den
        if unit in LOWER_IS_BETTER:
            better = ours if ratio < 1 else theirs if ratio > 1 else "same"
        else:
            better = ours if ratio > 1 else theirs if ratio < 1 else "same"
        out.append(
            {
                "kind": "ratio",
                "workload": w,
                "system": f"{ours}/{theirs}",
                "metric": metric,
                "value": round(ratio, 3),
                "unit": "x",
                "better": better,
            }
        )
    return out


def fmt(v: float) -> str:
    if v >= 100:
        return f"{v:,.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def fmt_ratio(r: float) -> str:
    return f"{r:.3f}" if r < 0.1 else f"{r:.2f}"


def table(summary: list[dict]) -> str:
    """Rows: (workload, metric); columns: each system's median, then each Strata/other ratio."""
    systems, rows = [], {}
    for r in summary:
        if r["kind"] != "median":
            continue
        if r["system"] not in systems:
            systems.append(r["system"])
        rows.setdefault((r["workload"], r["metric"], r["unit"]), {})[r["system"]] = r["value"]
    ratios = {(r["workload"], r["metric"], r["system"]): r["value"] for r in summary if r["kind"] == "ratio"}
    rank = {s: i for i, s in enumerate(SYSTEM_ORDER)}
    systems.sort(key=lambda s: (rank.get(s, 99), s))
    pairs = sorted({name for (_, _, name) in ratios},
                   key=lambda n: tuple((rank.get(s, 99), s) for s in reversed(n.split("/", 1))))
    head = ["workload", "metric", "unit"] + systems + pairs
    body = []
    for (w, metric, unit), vals in rows.items():
        line = [w, metric, unit] + [fmt(vals[s]) if s in vals else "" for s in systems]
        line += [fmt_ratio(ratios[(w, metric, p)]) if (w, metric, p) in ratios else "" for p in pairs]
        body.append(line)
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(line) + " |" for line in body]
    return "\n".join(out)


def main() -> int:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    with open(args[0]) as f:
        lines = [json.loads(s) for s in f if s.strip()]
    summary = summarize(lines)
    if "--table" in sys.argv:
        print(table(summary))
    else:
        for r in summary:
            print(json.dumps(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
