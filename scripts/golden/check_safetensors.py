#!/usr/bin/env python3
"""Check a safetensors file with a reader that shares no code with vidax.

Run from the repository root:

    /usr/bin/python3 scripts/golden/check_safetensors.py FILE [--out REPORT.json]

The reader follows the format as the reference implementation
(huggingface/safetensors, safetensors/src/tensor.rs) validates it: an 8-byte
little-endian header length N of at most 100 MB, N bytes of UTF-8 JSON that
start with "{", an optional "__metadata__" object of strings, and tensors
whose data_offsets, sorted, cover the data buffer exactly (no gap, no
overlap, nothing after the last tensor), each spanning prod(shape) *
itemsize bytes. Any violation exits with status 1 and a message.

The report (printed, and written to --out) gives the file's SHA-256, the
metadata, whether the file is laid out exactly as the reference writer lays
it out (tensors by decreasing dtype alignment then name, compact JSON with
"__metadata__" first and the tensors in data order, header padded with
spaces to a multiple of 8 bytes), and for every tensor its dtype, shape,
offsets, the SHA-256 of its bytes, the float64 sum of its finite values and
its values (numbers as in scripts/golden/README.md: "nan", "inf", "-inf";
BOOL as true/false). Only NumPy is needed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from golden_common import dumps_report, encode_value, library_versions, write_file  # noqa: E402

MAX_HEADER_BYTES = 100_000_000

# NumPy dtype of each safetensors dtype this reader decodes (BF16 is decoded by hand).
NUMPY_DTYPES = {
    "BOOL": "u1", "U8": "u1", "I8": "i1", "I16": "<i2", "U16": "<u2", "F16": "<f2",
    "BF16": "<u2", "I32": "<i4", "U32": "<u4", "F32": "<f4", "F64": "<f8",
    "I64": "<i8", "U64": "<u8",
}
# The reference writer's `Dtype` enum order (increasing alignment); it writes the
# largest first, then by name.
ALIGNMENT_ORDER = ["BOOL", "U8", "I8", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "F64", "I64", "U64"]


class FormatError(ValueError):
    pass


def read_safetensors(data: bytes):
    """Parse and validate `data`; returns (header_len, header_text, metadata, tensors).

    `tensors` maps each name to a dict with dtype, shape, data_offsets, raw
    bytes and the decoded NumPy array."""
    if len(data) < 8:
        raise FormatError(f"file is {len(data)} bytes, shorter than the 8-byte header length")
    (n,) = struct.unpack("<Q", data[:8])
    if n > MAX_HEADER_BYTES:
        raise FormatError(f"header length {n} is over the {MAX_HEADER_BYTES}-byte limit")
    if 8 + n > len(data):
        raise FormatError(f"header length {n} goes beyond the end of the file ({len(data)} bytes)")
    try:
        text = data[8:8 + n].decode("utf-8")
    except UnicodeDecodeError as e:
        raise FormatError(f"header is not UTF-8: {e}") from None
    if not text.startswith("{"):
        raise FormatError("header does not start with '{'")
    try:
        header = json.loads(text)
    except json.JSONDecodeError as e:
        raise FormatError(f"header is not JSON: {e}") from None
    if not isinstance(header, dict):
        raise FormatError("header is not a JSON object")

    metadata = header.pop("__metadata__", {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise FormatError(f"__metadata__ is not an object of strings: {metadata!r}")

    entries = []
    for name, info in header.items():
        if not isinstance(info, dict):
            raise FormatError(f"{name}: header entry is not an object")
        dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
        if dtype not in NUMPY_DTYPES:
            raise FormatError(f"{name}: dtype {dtype!r} is not one this reader decodes")
        if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
            raise FormatError(f"{name}: bad shape {shape!r}")
        if (not isinstance(offsets, list) or len(offsets) != 2
                or not all(isinstance(o, int) and not isinstance(o, bool) and o >= 0 for o in offsets)
                or offsets[0] > offsets[1]):
            raise FormatError(f"{name}: bad data_offsets {offsets!r}")
        itemsize = np.dtype(NUMPY_DTYPES[dtype]).itemsize
        if offsets[1] - offsets[0] != math.prod(shape) * itemsize:
            raise FormatError(f"{name}: {dtype}{shape} needs {math.prod(shape) * itemsize} bytes, offsets span {offsets[1] - offsets[0]}")
        entries.append((name, dtype, shape, offsets))

    entries.sort(key=lambda e: (e[3][0], e[3][1]))
    end = 0
    for name, _, _, (b, e) in entries:
        if b != end:
            raise FormatError(f"{name}: begins at {b} but the previous tensor ends at {end} ({'overlap' if b < end else 'gap'})")
        end = e
    buffer = data[8 + n:]
    if end != len(buffer):
        raise FormatError(f"tensors cover {end} bytes but the data buffer is {len(buffer)} bytes")

    tensors = {}
    for name, dtype, shape, (b, e) in entries:
        raw = buffer[b:e]
        arr = np.frombuffer(raw, dtype=NUMPY_DTYPES[dtype]).reshape(shape)
        if dtype == "BF16":
            arr = (arr.astype("<u4") << 16).view("<f4")
        if dtype == "BOOL":
            if np.any(arr > 1):
                raise FormatError(f"{name}: BOOL bytes must be 0 or 1")
            arr = arr.astype(bool)
        tensors[name] = {"dtype": dtype, "shape": shape, "data_offsets": [b, e], "raw": raw, "array": arr}
    return n, text, metadata, tensors


def reference_header(metadata: dict, tensors: dict) -> str:
    """The header text the reference writer would produce for these tensors (unpadded)."""
    header = {}
    if metadata:
        header["__metadata__"] = {k: metadata[k] for k in sorted(metadata)}
    for name, t in sorted(tensors.items(), key=lambda kv: kv[1]["data_offsets"]):
        header[name] = {"dtype": t["dtype"], "shape": t["shape"], "data_offsets": t["data_offsets"]}
    return json.dumps(header, separators=(",", ":"), ensure_ascii=False)


def has_reference_layout(n: int, text: str, metadata: dict, tensors: dict) -> bool:
    in_data_order = sorted(tensors, key=lambda k: tensors[k]["data_offsets"])
    writer_order = sorted(tensors, key=lambda k: (-ALIGNMENT_ORDER.index(tensors[k]["dtype"]), k.encode("utf-8")))
    body = text.rstrip(" ")
    return n % 8 == 0 and len(text) - len(body) < 8 and in_data_order == writer_order and body == reference_header(metadata, tensors)


def report(data: bytes) -> dict:
    n, text, metadata, tensors = read_safetensors(data)
    out = {}
    for name in sorted(tensors, key=lambda k: k.encode("utf-8")):
        t = tensors[name]
        arr = t["array"]
        flat = arr.reshape(-1)
        finite = flat.astype(np.float64)[np.isfinite(flat.astype(np.float64))] if flat.size else np.zeros(0)
        out[name] = {
            "dtype": t["dtype"],
            "shape": t["shape"],
            "data_offsets": t["data_offsets"],
            "sha256": hashlib.sha256(t["raw"]).hexdigest(),
            "sum": float(np.sum(finite, dtype=np.float64)),
            "values": [encode_value(v) for v in flat.tolist()],
        }
    return {
        "checker": "scripts/golden/check_safetensors.py",
        "versions": library_versions("numpy"),
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "header_bytes": n,
        "reference_layout": has_reference_layout(n, text, metadata, tensors),
        "metadata": {k: metadata[k] for k in sorted(metadata)},
        "tensors": out,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file")
    parser.add_argument("--out", help="also write the report to this JSON file")
    args = parser.parse_args()
    with open(args.file, "rb") as f:
        data = f.read()
    try:
        rep = report(data)
    except FormatError as e:
        print(f"{args.file}: invalid safetensors file: {e}", file=sys.stderr)
        return 1
    text = dumps_report(rep)
    sys.stdout.write(text)
    if args.out:
        write_file(args.out, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
