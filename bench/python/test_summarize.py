"""Checks of summarize.py: medians over rounds, Strata/other ratios and which side is ahead.

    python -m unittest discover -s bench/python   (plain Python, no venv needed)
"""

import unittest

from summarize import summarize, table


def line(system, metric, value, unit, workload="w1", rnd=1):
    return {"workload": workload, "system": system, "metric": metric, "value": value, "unit": unit, "round": rnd}


class SummarizeTest(unittest.TestCase):
    def test_median_over_rounds_and_ratio_for_times(self):
        raw = [line("strata", "commit_median", v, "ms", rnd=i) for i, v in enumerate([2.0, 1.0, 9.0])]
        raw += [line("delta-rs", "commit_median", v, "ms", rnd=i) for i, v in enumerate([20.0, 30.0, 10.0])]
        out = summarize(raw)
        med = {r["system"]: r for r in out if r["kind"] == "median"}
        self.assertEqual(med["strata"]["value"], 2.0)
        self.assertEqual((med["strata"]["min"], med["strata"]["max"], med["strata"]["rounds"]), (1.0, 9.0, 3))
        self.assertEqual(med["delta-rs"]["value"], 20.0)
        (ratio,) = [r for r in out if r["kind"] == "ratio"]
        self.assertEqual(ratio["system"], "strata/delta-rs")
        self.assertAlmostEqual(ratio["value"], 0.1)
        self.assertEqual(ratio["better"], "strata")

    def test_throughput_higher_is_better_and_even_round_count(self):
        raw = [line("strata", "ingest_throughput", v, "MB/s", "w3", i) for i, v in enumerate([100.0, 140.0])]
        raw += [line("pyarrow", "ingest_throughput", 150.0, "MB/s", "w3")]
        out = summarize(raw)
        strata = [r for r in out if r["kind"] == "median" and r["system"] == "strata"][0]
        self.assertEqual(strata["value"], 120.0)
        (ratio,) = [r for r in out if r["kind"] == "ratio"]
        self.assertAlmostEqual(ratio["value"], 0.8)
        self.assertEqual(ratio["better"], "pyarrow")

    def test_no_ratio_without_strata_or_for_counts_and_percentages(self):
        raw = [
            line("delta-rs", "slowest_writer_loop_seconds", 3.0, "s", "w5"),
            line("strata", "commits_expected", 200.0, "commits", "w5"),
            line("delta-rs", "commits_expected", 200.0, "commits", "w5"),
            line("strata", "scan_first_1pct_bytes", 0.7, "%", "w4"),
            line("duckdb", "scan_first_1pct_bytes", 0.9, "%", "w4"),
        ]
        self.assertEqual([r for r in summarize(raw) if r["kind"] == "ratio"], [])

    def test_earlier_summary_lines_are_ignored_and_table_has_ratio_columns(self):
        raw = [line("strata", "open_latest", 6.0, "ms", "w2"), line("delta-rs", "open_latest", 12.0, "ms", "w2")]
        out = summarize(raw)
        self.assertEqual(summarize(raw + out), out)
        t = table(out).splitlines()
        self.assertIn("strata/delta-rs", t[0])
        self.assertTrue(t[2].endswith("| 0.50 |"), t[2])

    def test_w12_systems_are_compared_with_path_not_strata(self):
        raw = [line("path", "one_table_wall_s", v, "s", "w12", i) for i, v in enumerate([10.0, 12.0, 11.0])]
        raw += [line("catalog-sqlite", "one_table_wall_s", v, "s", "w12", i) for i, v in enumerate([13.0, 11.0, 12.0])]
        raw += [line("catalog-postgres", "one_table_commits_per_s", 50.0, "commits/s", "w12")]
        raw += [line("path", "one_table_commits_per_s", 100.0, "commits/s", "w12")]
        raw += [line("catalog-sqlite", "one_table_wall_over_path", 1.3, "x", "w12")]
        out = summarize(raw)
        ratios = {(r["metric"], r["system"]): r for r in out if r["kind"] == "ratio"}
        self.assertEqual(set(ratios), {("one_table_wall_s", "catalog-sqlite/path"),
                                       ("one_table_commits_per_s", "catalog-postgres/path")})
        wall = ratios[("one_table_wall_s", "catalog-sqlite/path")]
        self.assertAlmostEqual(wall["value"], 12.0 / 11.0, places=3)
        self.assertEqual(wall["better"], "path")
        rate = ratios[("one_table_commits_per_s", "catalog-postgres/path")]
        self.assertAlmostEqual(rate["value"], 0.5)
        self.assertEqual(rate["better"], "path")
        head = table(out).splitlines()[0]
        self.assertIn("catalog-sqlite/path", head)
        self.assertNotIn("strata/", head)

    def test_w14_round_trips_and_requests_are_lower_is_better(self):
        raw = [line("strata", "commit_sequential", v, "round trips", "w14", i) for i, v in enumerate([5.0, 6.0, 5.0])]
        raw += [line("delta-rs", "commit_sequential", v, "round trips", "w14", i) for i, v in enumerate([12.0, 11.0, 12.0])]
        raw += [line("strata", "commit_requests", 15.0, "requests", "w14")]
        raw += [line("pyiceberg", "commit_requests", 10.0, "requests", "w14")]
        raw += [line("strata", "table_versions", 53.0, "versions", "w14")]
        raw += [line("delta-rs", "table_versions", 53.0, "versions", "w14")]
        out = summarize(raw)
        ratios = {(r["metric"], r["system"]): r for r in out if r["kind"] == "ratio"}
        self.assertEqual(set(ratios), {("commit_sequential", "strata/delta-rs"),
                                       ("commit_requests", "strata/pyiceberg")})
        seq = ratios[("commit_sequential", "strata/delta-rs")]
        self.assertAlmostEqual(seq["value"], 5.0 / 12.0, places=3)
        self.assertEqual(seq["better"], "strata")
        req = ratios[("commit_requests", "strata/pyiceberg")]
        self.assertAlmostEqual(req["value"], 1.5)
        self.assertEqual(req["better"], "pyiceberg")


if __name__ == "__main__":
    unittest.main()
