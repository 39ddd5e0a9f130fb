#!/usr/bin/env python3
"""Dependency-free decoder for 64-bit Roaring bitmaps in "portable" serialization.

Format (https://github.com/RoaringBitmap/RoaringFormatSpec, section "Extension for
64-bit implementations"), all integers little-endian:

    u64 bucket_count
    bucket_count x { u32 key (high 32 bits); 32-bit portable RoaringBitmap (low 32 bits) }

A 32-bit portable RoaringBitmap (same spec, "Standard 32-bit Roaring Bitmap") is:
  1. cookie: u32 == 12346 (SERIAL_COOKIE_NO_RUNCONTAINER) followed by u32 container
     count; or low u16 == 12347 (SERIAL_COOKIE) with high u16 = count - 1, followed by
     ceil(count / 8) bytes of "is run container" flags (LSB first);
  2. descriptive header: per container u16 key, u16 cardinality - 1;
  3. offset header: per container u32 offset, present iff cookie is 12346 or
     count >= 4 (NO_OFFSET_THRESHOLD) -- skipped here since containers are contiguous;
  4. containers: run = u16 n_runs + n_runs x (u16 start, u16 length - 1);
     array (cardinality <= 4096) = cardinality x u16;
     bitset (cardinality > 4096) = 1024 x u64, bit j of word i => value 64*i + j.

This is the layout of Iceberg v3 / Delta Lake deletion vectors (after their own
framing). Usage: python roaring_decode.py FILE [OFFSET SIZE]  -> JSON list on stdout.
"""
import json
import struct
import sys

SERIAL_COOKIE_NO_RUNCONTAINER = 12346
SERIAL_COOKIE = 12347
NO_OFFSET_THRESHOLD = 4


class _Reader:
    def __init__(self, data: bytes, pos: int = 0):
        self.data, self.pos = data, pos

    def take(self, fmt: str):
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.data):
            raise ValueError(f"truncated input at byte {self.pos}")
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return values


def _decode32(r: _Reader) -> list[int]:
    """Decode one 32-bit portable RoaringBitmap at r.pos; advances r past it."""
    (cookie,) = r.take("<I")
    if cookie == SERIAL_COOKIE_NO_RUNCONTAINER:
        (count,) = r.take("<I")
        run_flags = bytes((count + 7) // 8)
        has_offsets = True
    elif cookie & 0xFFFF == SERIAL_COOKIE:
        count = (cookie >> 16) + 1
        run_flags = bytes(r.take(f"<{(count + 7) // 8}B"))
        has_offsets = count >= NO_OFFSET_THRESHOLD
    else:
        raise ValueError(f"bad cookie {cookie:#x} at byte {r.pos - 4}")
    header = r.take(f"<{2 * count}H")
    if has_offsets:
        r.take(f"<{count}I")  # offsets are redundant for sequential reading
    out: list[int] = []
    for i in range(count):
        key, cardinality = header[2 * i], header[2 * i + 1] + 1
        base = key << 16
        if run_flags[i // 8] >> (i % 8) & 1:
            (n_runs,) = r.take("<H")
            runs = r.take(f"<{2 * n_runs}H")
            for start, length in zip(runs[::2], runs[1::2]):
                out.extend(range(base + start, base + start + length + 1))
        elif cardinality <= 4096:
            out.extend(base + v for v in r.take(f"<{cardinality}H"))
        else:
            for w, word in enumerate(r.take("<1024Q")):
                while word:
                    low = word & -word
                    out.append(base + 64 * w + low.bit_length() - 1)
                    word ^= low
    return out


def decode(data: bytes) -> list[int]:
    """Return the sorted positions stored in a 64-bit portable Roaring bitmap."""
    r = _Reader(bytes(data))
    (buckets,) = r.take("<Q")
    out: list[int] = []
    for _ in range(buckets):
        (high,) = r.take("<I")
        out.extend((high << 32) | low for low in _decode32(r))
    if r.pos != len(r.data):
        raise ValueError(f"{len(r.data) - r.pos} trailing bytes after bitmap")
    return out


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 4):
        print("usage: roaring_decode.py FILE [OFFSET SIZE]", file=sys.stderr)
        return 2
    with open(argv[1], "rb") as f:
        data = f.read()
    if len(argv) == 4:
        offset, size = int(argv[2], 0), int(argv[3], 0)
        data = data[offset:offset + size]
    print(json.dumps(decode(data)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
