#!/usr/bin/env python3
"""Write a safetensors file with a writer that shares no code with vidax.

Run from the repository root:

    /usr/bin/python3 scripts/golden/generate_safetensors.py [OUT_DIR]

Writes (by default into test/fixtures/):

* python-written.safetensors: the file, written by hand with `struct`,
  `json` and NumPy (the `safetensors` package is not needed);
* python-written.json: what a reader must get from it (the metadata, and
  every tensor's file dtype, vidax dtype, shape and values).

The file uses the freedoms of the format that vidax's own writer never
uses, so that the reader is tested on them: the header is written by
`json.dumps` with its default separators and ASCII escapes (non-ASCII names
and metadata come as \\uXXXX), "__metadata__" comes last, the header keys are
in reverse name order while the data are in a third order, the header is
padded with 3 spaces (its length is not a multiple of 8), a 6-byte BOOL
tensor comes first so the 4- and 8-byte tensors after it are misaligned, and
a zero-size tensor sits between two others. It holds every dtype vidax reads:
F32, I32, U32 and BOOL as they are, and F64, F16, BF16, I64, U8 and I16,
which vidax converts. The expected values of converted tensors are computed
with NumPy (float64 -> float32 by `astype`, round to nearest even; float16
-> float32 by `astype`), except BF16, which NumPy lacks: its bits are made
from float32 values by rounding to nearest even, and the expected value is
those bits shifted into a float32.

The script checks its file with check_safetensors.py before it finishes.
The output is deterministic (values from a NumPy generator seeded by a
CRC32 of the tensor name).
"""

from __future__ import annotations

import json
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_safetensors import read_safetensors  # noqa: E402
from golden_common import dumps_report, encode_value, library_versions, output_arg, rng_for, write_file  # noqa: E402

GENERATOR = "scripts/golden/generate_safetensors.py"
OUT_DIR = os.path.join("test", "fixtures")
VIDAX_DTYPE = {
    "F32": "float32", "F64": "float32", "F16": "float32", "BF16": "float32",
    "I32": "int32", "I64": "int32", "U8": "int32", "I16": "int32",
    "U32": "uint32", "BOOL": "bool",
}
METADATA = {
    "format": "pt",
    "config": json.dumps({"channels": [8, 16], "name": "tiny", "dropout": 0.1}),
    "step": "42",
    "note": "caf\u00e9 \u2713 \"quoted\"\n",
}


def normal32(name: str, shape) -> np.ndarray:
    return rng_for(name).standard_normal(shape).astype(np.float32)


def bf16_bits(x: np.ndarray) -> np.ndarray:
    """float32 -> bfloat16 bits, rounding to nearest even (finite inputs only)."""
    b = np.asarray(x, dtype="<f4").view("<u4").astype(np.uint64)
    return ((b + 0x7FFF + ((b >> 16) & 1)) >> 16).astype("<u2")


def tensors():
    """(name, file dtype, stored array, expected vidax array), in data order."""
    out = []

    def add(name, file_dtype, stored, expected=None):
        out.append((name, file_dtype, stored, stored if expected is None else expected))

    add("mask", "BOOL", np.array([[True, False, True], [False, False, True]]))
    add("down.0.conv.w", "F32", normal32("down.0.conv.w", (2, 3, 2, 2)))
    add("down.0.conv.b", "F32", np.array([0.25, -1.5], dtype="<f4"))
    add("scale", "F32", np.array(0.7071067811865476, dtype="<f4"))
    add("empty", "F32", np.zeros((0, 3), dtype="<f4"))
    with np.errstate(over="ignore"):
        f64 = np.array([0.1, -1 / 3, 1e40, -1e40, 1e-50, 1.5 * 2.0 ** -149, 2.0 ** 0.5], dtype="<f8")
        add("f64", "F64", f64, f64.astype(np.float32))
    add("special", "F32", np.array([np.nan, np.inf, -np.inf, -0.0, 2.0 ** -149, 3.4028234663852886e38], dtype="<f4"))
    add("steps", "I32", np.array([-2147483648, -1, 0, 7, 2147483647], dtype="<i4"))
    add("ids", "U32", np.array([0, 1, 2147483648, 4294967295], dtype="<u4"))
    f16 = np.array([1.0, -2.5, 65504.0, 2.0 ** -24, -np.inf, np.nan, -0.0, 0.333251953125], dtype="<f2")
    add("f16", "F16", f16, f16.astype(np.float32))
    bf_src = np.array([1.0, 3.14159, -0.1, 1e38, -3.0e-39], dtype="<f4")
    bits = bf16_bits(bf_src)
    add("bf16", "BF16", bits, (bits.astype("<u4") << 16).view("<f4"))
    i64 = np.array([[-2147483648, 0], [123456789, 2147483647]], dtype="<i8")
    add("i64", "I64", i64, i64.astype(np.int32))
    u8 = np.array([0, 128, 255], dtype="u1")
    add("u8", "U8", u8, u8.astype(np.int32))
    i16 = np.array([-32768, 1, 32767], dtype="<i2")
    add("i16", "I16", i16, i16.astype(np.int32))
    add("\u00e9mbed.table", "F32", normal32("\u00e9mbed.table", (3, 2)))
    return out


def write_safetensors(path: str, items) -> bytes:
    infos, chunks, offset = {}, [], 0
    for name, file_dtype, stored, _ in items:
        raw = stored.astype(stored.dtype.newbyteorder("<")).tobytes(order="C")
        infos[name] = {"dtype": file_dtype, "shape": list(stored.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    header = {name: infos[name] for name in sorted(infos, reverse=True)}
    header["__metadata__"] = METADATA
    header_bytes = json.dumps(header).encode("utf-8") + b"   "
    assert len(header_bytes) % 8 != 0, "the fixture should exercise an unaligned header"
    data = struct.pack("<Q", len(header_bytes)) + header_bytes + b"".join(chunks)
    write_file(path, data)
    return data


def expected_json(items) -> dict:
    return {
        "generator": GENERATOR,
        "versions": library_versions("numpy"),
        "metadata": METADATA,
        "tensors": {
            name: {
                "file_dtype": file_dtype,
                "dtype": VIDAX_DTYPE[file_dtype],
                "shape": list(expected.shape),
                "data": [encode_value(v) for v in expected.reshape(-1).tolist()],
            }
            for name, file_dtype, _, expected in items
        },
    }


def self_check(data: bytes, items) -> None:
    """Read the file back with check_safetensors.py: same metadata, names, dtypes, shapes, bytes."""
    _, _, metadata, read = read_safetensors(data)
    assert metadata == METADATA
    assert set(read) == {name for name, *_ in items}
    for name, file_dtype, stored, expected in items:
        got = read[name]
        assert got["dtype"] == file_dtype and got["shape"] == list(stored.shape), name
        assert got["raw"] == stored.astype(stored.dtype.newbyteorder("<")).tobytes(), name
        if file_dtype in ("F32", "I32", "U32", "BOOL", "BF16"):
            assert got["array"].tobytes() == expected.tobytes(), name


def main() -> None:
    out_dir = output_arg(OUT_DIR)
    items = tensors()
    data = write_safetensors(os.path.join(out_dir, "python-written.safetensors"), items)
    self_check(data, items)
    write_file(os.path.join(out_dir, "python-written.json"), dumps_report(expected_json(items)))
    print(f"wrote {len(items)} tensors ({len(data)} bytes) to {out_dir}/python-written.safetensors and python-written.json")


if __name__ == "__main__":
    main()
