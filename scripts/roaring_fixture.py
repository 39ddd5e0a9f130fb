#!/usr/bin/env python3
"""Regenerate the 64-bit Roaring test vectors in format-spec/tests/fixtures/roaring/.

The bytes come from pyroaring's BitMap64.serialize(), which calls CRoaring's
roaring64_bitmap_portable_serialize(): the "Extension for 64-bit implementations"
of https://github.com/RoaringBitmap/RoaringFormatSpec (u64 LE bucket count, then
per bucket in ascending order a u32 LE high-32-bit key and a standard 32-bit
portable Roaring bitmap of the low 32 bits). This is the layout used by Iceberg v3
and Delta Lake deletion vectors.

Usage:  .venv/bin/python scripts/roaring_fixture.py [--check]
  --check  do not write; exit 1 if the committed files differ from fresh output.
Requires: pip install pyroaring (fixtures were made with pyroaring 1.2.0, CRoaring v5.2.2).
"""
import hashlib
import pathlib
import sys

import pyroaring
from pyroaring import BitMap64

OUT = pathlib.Path(__file__).resolve().parent.parent / "format-spec/tests/fixtures/roaring"

SPARSE = [0, 1, 2, 1000, 65535, 65536, *range(70000, 70100),
          4294967295, 4294967296, 4294967297, 8589934592 + 5]
RUNS = [3, 7, *range(100000, 200000)]  # 100000..=199999


def sparse_bytes() -> bytes:
    # optimize=False: the constructor would otherwise run_optimize() by default and
    # turn 70000..70099 into a run container; keep this one array-only (cookie 12346).
    bm = BitMap64(SPARSE, optimize=False)
    return bytes(bm.serialize())


def runs_bytes() -> bytes:
    bm = BitMap64(RUNS, optimize=False)
    bm.run_optimize()  # run containers -> cookie 12347 with run-flag bitset
    return bytes(bm.serialize())


def main() -> int:
    check = "--check" in sys.argv[1:]
    print(f"pyroaring {pyroaring.__version__}, CRoaring {pyroaring.__croaring_version__}")
    ok = True
    for name, make, positions in (("pyroaring_sparse.bin", sparse_bytes, SPARSE),
                                  ("pyroaring_runs.bin", runs_bytes, RUNS)):
        data = make()
        assert list(BitMap64.deserialize(data)) == positions, name
        path = OUT / name
        if check:
            same = path.exists() and path.read_bytes() == data
            ok &= same
            print(f"{name}: {'OK' if same else 'DIFFERS'}")
        else:
            OUT.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            print(f"{name}: {len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
