"""Helpers shared by the golden-fixture generators in scripts/golden/.

Every generator imports this module, so the number encoding and the file
layout described in scripts/golden/README.md are written in one place:

* input helpers: `rng_for` (a NumPy generator seeded by the CRC32 of a case
  name), `f32` (float64 -> float32, round to nearest), `i32` (range-checked
  int32), `d64` (to float64);
* encoding: `json_number` (a float as a JSON number, or "nan" / "inf" /
  "-inf"), `encode_value` (the same for bool / int / float values),
  `tensor` (an array as {"shape", "dtype", "data"}), `case` (one case
  object);
* output: `library_versions`, `dumps_cases` (the deterministic case-file
  text), `dumps_report` (indented JSON), `write_file` (temp file + rename),
  `output_arg` (the optional output argument of every script);
* `CaseFile`, which gathers the cases of one fixture, rejects duplicate names
  and writes the file with a size limit;
* `deterministic_torch` (one thread, deterministic algorithms).

Nothing here computes reference values; a change here must leave every
committed fixture byte-identical.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import sys
import zlib

import numpy as np


# ---------------------------------------------------------------------------
# inputs
# ---------------------------------------------------------------------------

def rng_for(name: str) -> np.random.Generator:
    """A NumPy generator seeded by the CRC32 of `name`, so cases do not perturb each other."""
    return np.random.default_rng(zlib.crc32(name.encode("utf-8")))


def f32(x) -> np.ndarray:
    """float64 -> float32 (round to nearest)."""
    return np.asarray(x, dtype=np.float64).astype(np.float32)


def i32(x) -> np.ndarray:
    a = np.asarray(x)
    assert np.all(a >= np.iinfo(np.int32).min) and np.all(a <= np.iinfo(np.int32).max)
    return a.astype(np.int32)


def d64(a) -> np.ndarray:
    return np.asarray(a).astype(np.float64)


def deterministic_torch():
    """Single-threaded torch with deterministic algorithms; returns the torch module."""
    import torch

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    return torch


# ---------------------------------------------------------------------------
# encoding
# ---------------------------------------------------------------------------

def json_number(v):
    """A float as a JSON value: the number itself, or "nan", "inf", "-inf"."""
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


def encode_value(v):
    """A bool, integer or float as a JSON value (bool as true/false, floats as `json_number`)."""
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (np.integer, int)):
        return int(v)
    return json_number(v)


def tensor(a, dtype: str | None = None) -> dict:
    """Encode an array.  float arrays are rounded to float32 (exactly
    representable values are stored), int and bool arrays to int32."""
    a = np.asarray(a)
    if dtype is None:
        if a.dtype.kind == "f":
            dtype = "float32"
        elif a.dtype.kind in "iub":
            dtype = "int32"
        else:
            raise TypeError(f"unsupported dtype {a.dtype}")
    if dtype == "float32":
        with np.errstate(over="ignore"):  # overflow to +-inf is intended
            a = a.astype(np.float64).astype(np.float32)
        data = [json_number(v) for v in a.reshape(-1)]
    elif dtype == "int32":
        a = i32(a)
        data = [int(v) for v in a.reshape(-1)]
    else:
        raise ValueError(dtype)
    return {"shape": [int(s) for s in a.shape], "dtype": dtype, "data": data}


def case(name, op, inputs, params, expected, tolerance=None) -> dict:
    """One case: named input tensors, `expected` a tensor or an object of named
    tensors, and `tolerance` (left out when None)."""
    if isinstance(expected, dict):
        enc_expected = {k: tensor(v) for k, v in expected.items()}
    else:
        enc_expected = tensor(expected)
    out = {
        "name": name,
        "op": op,
        "inputs": {k: tensor(v) for k, v in inputs.items()},
        "params": params,
        "expected": enc_expected,
    }
    if tolerance is not None:
        out["tolerance"] = tolerance
    return out


# ---------------------------------------------------------------------------
# output
# ---------------------------------------------------------------------------

def library_versions(*names: str) -> dict:
    """{name: version} of the given modules, in that order."""
    return {name: importlib.import_module(name).__version__ for name in names}


def dumps_cases(generator: str, versions: dict, cases: list[dict]) -> str:
    """The case-file text: the header keys one per line, then one case per line
    in compact JSON. Never writes bare NaN or infinity."""
    lines = ["{"]
    for k, v in (("generator", generator), ("versions", versions)):
        lines.append(f"  {json.dumps(k)}: {json.dumps(v, allow_nan=False)},")
    lines.append('  "cases": [')
    lines.append(",\n".join("    " + json.dumps(c, allow_nan=False, separators=(",", ":")) for c in cases))
    lines.append("  ]")
    lines.append("}")
    text = "\n".join(lines) + "\n"
    json.loads(text)  # sanity
    return text


def dumps_report(obj) -> str:
    """Indented JSON (one space, non-ASCII kept) with a final newline."""
    return json.dumps(obj, indent=1, ensure_ascii=False, allow_nan=False) + "\n"


def write_file(path: str, data: str | bytes) -> int:
    """Write `data` (text as UTF-8) through a temporary file renamed over `path`,
    creating the folder; returns the number of bytes written."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(raw)
    os.replace(tmp, path)
    return len(raw)


def output_arg(default: str) -> str:
    """The script's first argument, or `default` when there is none."""
    return sys.argv[1] if len(sys.argv) > 1 else default


class CaseFile:
    """The cases of one fixture file and how to write it.

    `generator` is the script's path from the repository root (stored in the
    file), `default_path` where it writes without an argument, `libraries` the
    modules whose versions are recorded, `max_bytes` the size limit."""

    def __init__(self, generator: str, default_path: str, libraries: tuple[str, ...], max_bytes: int):
        self.generator = generator
        self.default_path = default_path
        self.libraries = tuple(libraries)
        self.max_bytes = max_bytes
        self.cases: list[dict] = []

    def add(self, name, op, inputs, params, expected, tolerance=None) -> None:
        assert all(c["name"] != name for c in self.cases), f"duplicate case {name}"
        self.cases.append(case(name, op, inputs, params, expected, tolerance))

    def write(self, path: str) -> int:
        text = dumps_cases(self.generator, library_versions(*self.libraries), self.cases)
        size = len(text.encode("utf-8"))
        assert size < self.max_bytes, f"fixture too large: {size} bytes"
        return write_file(path, text)

    def main(self, *builders) -> None:
        """Run `builders` (which add the cases), then write to the first argument or the default path."""
        for build in builders:
            build()
        out = output_arg(self.default_path)
        size = self.write(out)
        print(f"wrote {len(self.cases)} cases to {out} ({size} bytes)")
