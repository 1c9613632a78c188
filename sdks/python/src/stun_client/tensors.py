"""numpy arrays to and from Stun's tensor wire form, and the check of inputs against a model's signature.

Wire form (docs/API.md "Tensor JSON"): ``{"dtype", "dims", "data"}`` with ``data`` the standard base64
of the raw little-endian bytes (bool one byte each), or for ``string`` a list of strings.
"""

from __future__ import annotations

import base64
import binascii
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Union

import numpy as np
import numpy.typing as npt

from ._wire import Dtype, TensorInfo, TensorJson
from .errors import InputMismatchError

__all__ = [
    "DTYPES",
    "TensorLike",
    "check_inputs",
    "decode_tensor",
    "dtype_of",
    "encode_tensor",
    "load_npy",
    "numpy_dtype",
    "save_npy",
    "tensor_from_values",
    "tensor_to_values",
    "write_outputs",
]

#: Anything an input may be: a numpy array, a (nested) list, or a scalar.
TensorLike = Union[npt.ArrayLike, "np.ndarray[Any, Any]"]

_NUMPY: dict[str, str] = {
    "float32": "<f4",
    "float16": "<f2",
    "float64": "<f8",
    "int8": "i1",
    "int16": "<i2",
    "int32": "<i4",
    "int64": "<i8",
    "uint8": "u1",
    "uint16": "<u2",
    "uint32": "<u4",
    "uint64": "<u8",
    "bool": "?",
}
DTYPES: tuple[str, ...] = (*_NUMPY.keys(), "string")
MAX_RANK = 8


def _bad(code: str, message: str) -> InputMismatchError:
    return InputMismatchError(code, message)


def numpy_dtype(dtype: str) -> np.dtype[Any]:
    """The numpy dtype of a Stun dtype (little-endian); ``string`` is ``object`` (an array of str)."""
    if dtype == "string":
        return np.dtype(object)
    if dtype not in _NUMPY:
        raise _bad("TENSOR_INVALID", f"unknown dtype {dtype!r}; expected one of {', '.join(DTYPES)}")
    return np.dtype(_NUMPY[dtype])


def dtype_of(array: np.ndarray[Any, Any]) -> Dtype:
    """The Stun dtype of a numpy array (``U``/``O`` arrays of str are ``string``)."""
    kind, size = array.dtype.kind, array.dtype.itemsize
    if kind == "b":
        return "bool"
    if kind in "UO":
        return "string"
    name = {"f": "float", "i": "int", "u": "uint"}.get(kind)
    candidate = f"{name}{size * 8}" if name else ""
    if candidate in _NUMPY:
        return candidate  # type: ignore[return-value]
    raise _bad("TENSOR_INVALID", f"numpy dtype {array.dtype} has no Stun dtype (use one of {', '.join(DTYPES)})")


def encode_tensor(array: TensorLike, dtype: str | None = None, name: str = "tensor") -> TensorJson:
    """An array (or list) as the wire's tensor JSON. ``dtype`` converts lists and scalars; a numpy array
    must already have it (no silent casts)."""
    arr = _as_array(array, dtype, name)
    d = dtype_of(arr) if dtype is None else dtype
    dims = [int(n) for n in arr.shape]
    if len(dims) > MAX_RANK:
        raise _bad("TENSOR_INVALID", f'input "{name}": rank {len(dims)} is over {MAX_RANK}')
    if d == "string":
        values = [str(v) for v in arr.reshape(-1).tolist()]
        if not all(isinstance(v, str) for v in arr.reshape(-1).tolist()):
            raise _bad("TENSOR_INVALID", f'input "{name}": dtype string takes str elements')
        return {"dtype": "string", "dims": dims, "data": values}
    raw = np.ascontiguousarray(arr, dtype=numpy_dtype(d)).tobytes()
    return {"dtype": d, "dims": dims, "data": base64.b64encode(raw).decode("ascii")}  # type: ignore[typeddict-item]


def _as_array(value: TensorLike, dtype: str | None, name: str) -> np.ndarray[Any, Any]:
    if isinstance(value, np.ndarray):
        if dtype is not None:
            have = dtype_of(value)
            if have != dtype:
                raise _bad(
                    "INPUT_DTYPE_MISMATCH",
                    f'input "{name}" is a {have} array but the model takes {dtype}: convert it first, e.g. .astype(np.{_np_name(dtype)})',
                )
        return value
    if dtype == "string":
        arr = np.array(value, dtype=object)
        return arr
    try:
        loose = np.asarray(value)
    except ValueError as e:  # ragged nesting
        raise _bad("TENSOR_INVALID", f'input "{name}": {e}') from None
    if loose.dtype.kind in "UO" and dtype is None:
        return np.array(value, dtype=object)
    if loose.dtype.kind not in "biuf":
        raise _bad("TENSOR_INVALID", f'input "{name}": elements of type {loose.dtype} are not numbers')
    if dtype is None:
        return loose.astype(np.float32) if loose.dtype.kind == "f" else loose
    target = numpy_dtype(dtype)
    if target.kind in "iu":
        if loose.dtype.kind == "f" and not bool(np.all(np.equal(np.mod(loose, 1), 0))):
            raise _bad("TENSOR_INVALID", f'input "{name}": non-integer values for dtype {dtype}')
        info = np.iinfo(target)
        if loose.size and (int(loose.min()) < info.min or int(loose.max()) > info.max):
            raise _bad("TENSOR_INVALID", f'input "{name}": values out of range [{info.min}, {info.max}] for dtype {dtype}')
    if target.kind == "b" and loose.size and not bool(np.all((loose == 0) | (loose == 1))):
        raise _bad("TENSOR_INVALID", f'input "{name}": dtype bool takes True/False or 0/1')
    return loose.astype(target)


def _np_name(dtype: str) -> str:
    return "bool_" if dtype == "bool" else dtype


def decode_tensor(t: TensorJson, name: str = "tensor") -> np.ndarray[Any, Any]:
    """The wire's tensor JSON as a numpy array (native byte order, a fresh copy)."""
    dims = [int(n) for n in t["dims"]]
    count = math.prod(dims)
    if t["dtype"] == "string":
        data = t["data"]
        if not isinstance(data, list) or len(data) != count:
            raise ValueError(f'tensor "{name}": expected {count} strings')
        return np.array(data, dtype=object).reshape(dims)
    dt = numpy_dtype(t["dtype"])
    data_b64 = t["data"]
    if not isinstance(data_b64, str):
        raise ValueError(f'tensor "{name}": data is not base64')
    try:
        raw = base64.b64decode(data_b64, validate=True)
    except binascii.Error as e:
        raise ValueError(f'tensor "{name}": bad base64 ({e})') from None
    if len(raw) != count * dt.itemsize:
        raise ValueError(f'tensor "{name}": {len(raw)} bytes for {count} {t["dtype"]} elements')
    return np.frombuffer(raw, dtype=dt).reshape(dims).astype(dt.newbyteorder("="))


def check_inputs(inputs: Mapping[str, TensorLike], signature: Sequence[TensorInfo]) -> dict[str, TensorJson]:
    """Encodes ``inputs`` after checking them against the model's declared inputs: every input given,
    no unknown names, dtype equal, rank equal, fixed dimensions equal, each symbolic dimension one size
    across all inputs. Raises :class:`InputMismatchError` (a ``ValueError``) before anything is sent."""
    declared = {s["name"]: s for s in signature}
    unknown = [n for n in inputs if n not in declared]
    if unknown:
        raise _bad("INPUT_UNKNOWN", f"the model has no input {unknown[0]!r} (its inputs: {', '.join(declared) or 'none'})")
    missing = [n for n in declared if n not in inputs]
    if missing:
        raise _bad("INPUT_MISSING", f"input {missing[0]!r} is missing (the model takes: {', '.join(declared)})")
    bound: dict[str, tuple[int, str]] = {}
    out: dict[str, TensorJson] = {}
    for name, value in inputs.items():
        info = declared[name]
        arr = _as_array(value, info["dtype"], name)
        shape, want = list(arr.shape), info["shape"]
        if len(shape) != len(want):
            raise _bad("INPUT_SHAPE_MISMATCH", f'input "{name}" has rank {len(shape)} (shape {shape}) but the model takes rank {len(want)} {want}')
        for axis, (have, dim) in enumerate(zip(shape, want, strict=True)):
            if isinstance(dim, int) and dim >= 0 and have != dim:
                raise _bad("INPUT_SHAPE_MISMATCH", f'input "{name}" has shape {shape} but the model takes {want} (axis {axis})')
            if isinstance(dim, str):
                seen = bound.setdefault(dim, (have, name))
                if seen[0] != have:
                    raise _bad("INPUT_SHAPE_MISMATCH", f'dimension "{dim}" is {seen[0]} in input "{seen[1]}" but {have} in input "{name}"')
        out[name] = encode_tensor(arr, info["dtype"], name)
    return out


def encode_unchecked(inputs: Mapping[str, TensorLike]) -> dict[str, TensorJson]:
    """Encodes inputs without a signature (dtype from each array; lists of floats are float32)."""
    return {name: encode_tensor(value, None, name) for name, value in inputs.items()}


def tensor_from_values(obj: Any, dtype: str | None = None, name: str = "tensor") -> np.ndarray[Any, Any]:
    """An array from JSON: ``{"dtype", "dims", "data": [numbers]}`` (``data`` flat or nested, or base64)
    or a plain (nested) list, which takes ``dtype`` (default float32 for numbers)."""
    if isinstance(obj, dict):
        d = obj.get("dtype", dtype)
        data = obj.get("data")
        if isinstance(data, str) and d is not None and "dims" in obj:
            return decode_tensor({"dtype": d, "dims": obj["dims"], "data": data}, name)
        if data is None:
            raise _bad("TENSOR_INVALID", f'input "{name}": no "data"')
        arr = _as_array(data, d, name)
        if "dims" in obj:
            dims = [int(n) for n in obj["dims"]]
            if math.prod(dims) != arr.size:
                raise _bad("INPUT_SIZE_MISMATCH", f'input "{name}": dims {dims} hold {math.prod(dims)} elements but the data has {arr.size}')
            arr = arr.reshape(dims)
        return arr
    return _as_array(obj, dtype, name)


def tensor_to_values(array: np.ndarray[Any, Any]) -> dict[str, Any]:
    """An array as ``{"dtype", "dims", "data": [flat values]}`` (int64 as ints, not strings)."""
    return {"dtype": dtype_of(array), "dims": list(array.shape), "data": array.reshape(-1).tolist()}


def load_npy(path: str | os.PathLike[str]) -> np.ndarray[Any, Any]:
    """Reads a ``.npy`` file (no pickles)."""
    arr: np.ndarray[Any, Any] = np.load(Path(path), allow_pickle=False)
    return arr


def save_npy(path: str | os.PathLike[str], array: np.ndarray[Any, Any]) -> None:
    """Writes a ``.npy`` file (no pickles)."""
    np.save(Path(path), array, allow_pickle=False)


def write_outputs(directory: str | os.PathLike[str], outputs: Mapping[str, np.ndarray[Any, Any]]) -> dict[str, Path]:
    """Writes each output as ``DIR/NAME.npy`` (unsafe characters as ``_``); returns name → path."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    used: set[str] = set()
    written: dict[str, Path] = {}
    for name, arr in outputs.items():
        base = "".join(c if c.isalnum() or c in "._-" else "_" for c in name).lstrip(".") or "_"
        file, n = f"{base}.npy", 2
        while file.lower() in used:
            file, n = f"{base}_{n}.npy", n + 1
        used.add(file.lower())
        path = d / file
        if arr.dtype == object:
            np.save(path, arr.astype(str), allow_pickle=False)
        else:
            np.save(path, arr, allow_pickle=False)
        written[name] = path
    return written
