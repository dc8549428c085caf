"""``save``/``load``: state dicts and nested checkpoints in safetensors, never pickle.

File layout: a standard safetensors file. Every array of the object (Tensors, NumPy/CuPy
arrays) is a safetensors tensor named by its dotted path (``fc1.weight``,
``optimizer.state.0.exp_avg``), so a plain state dict is readable by any safetensors reader.
Everything else (ints, floats, strings, lists, tuples, dicts with int keys, None) is a JSON tree
stored as one string in the header's ``__metadata__["lamina.tree"]``, in which each array
appears as ``{"__lamina__": "array", "key": <tensor name>}``. Loading parses JSON and raw
array bytes only; nothing is ever unpickled, so a malicious file cannot run code.
"""

from __future__ import annotations

import json
import os
import struct

from .. import backend as B
from ..autograd.tensor import Tensor
from .atomic import atomic_write

np = B.np

__all__ = ["save", "load", "read_metadata", "FORMAT"]

FORMAT = "lamina-1"
_TAG = "__lamina__"
_MAX_HEADER = 100_000_000  # safetensors' own limit


def _encode(obj, key: str, arrays: dict):
    if isinstance(obj, Tensor):
        obj = obj.array
    if isinstance(obj, B.ndarray_types):
        name = key or "tensor"
        if name in arrays:
            raise ValueError(f"save: two arrays map to the same name {name!r}; rename a key "
                             "(dotted paths must be unique)")
        a = B.to_host(obj)
        if a.dtype.kind not in "biuf":
            raise TypeError(f"save: array {name!r} has dtype {a.dtype}; only bool, integer "
                            "and floating arrays can be stored")
        arrays[name] = a if a.flags.c_contiguous else a.copy(order="C")  # keeps 0-d
        return {_TAG: "array", "key": name}
    if isinstance(obj, np.generic):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj

    def sub(k):
        return f"{key}.{k}" if key else str(k)

    if isinstance(obj, dict):
        if all(isinstance(k, str) for k in obj) and _TAG not in obj:
            return {k: _encode(v, sub(k), arrays) for k, v in obj.items()}
        return {_TAG: "dict", "items": [[_encode(k, "", {}), _encode(v, sub(k), arrays)]
                                        for k, v in obj.items()]}
    if isinstance(obj, list):
        return [_encode(v, sub(i), arrays) for i, v in enumerate(obj)]
    if isinstance(obj, tuple):
        return {_TAG: "tuple", "items": [_encode(v, sub(i), arrays) for i, v in enumerate(obj)]}
    raise TypeError(f"save: cannot store {key or 'the object'!r} of type {type(obj).__name__}; "
                    "expected arrays/Tensors, numbers, strings, None, lists, tuples or dicts")


def _decode(node, arrays: dict):
    if isinstance(node, list):
        return [_decode(v, arrays) for v in node]
    if not isinstance(node, dict):
        return node
    tag = node.get(_TAG)
    if tag == "array":
        return arrays[node["key"]]
    if tag == "tuple":
        return tuple(_decode(v, arrays) for v in node["items"])
    if tag == "dict":
        return {_hashable(_decode(k, arrays)): _decode(v, arrays) for k, v in node["items"]}
    return {k: _decode(v, arrays) for k, v in node.items()}


def _hashable(k):
    return tuple(_hashable(v) for v in k) if isinstance(k, (list, tuple)) else k


def save(obj, path, metadata: dict | None = None) -> None:
    """Write a state dict or a nested checkpoint to ``path`` (safetensors + JSON), atomically.

    Args:
        obj: a dict name -> array/Tensor (``model.state_dict()``), or any tree of dicts, lists
            and tuples whose leaves are arrays, Tensors, numbers, strings or None.
        path (str or PathLike): destination (``.safetensors`` by convention); written to a
            temporary file in the same directory, fsync'ed, then renamed over ``path``.
        metadata (dict[str, str], optional): extra strings for the header's ``__metadata__``.

    Raises:
        TypeError: a leaf of an unsupported type (the message names its path).
        ValueError: two arrays would get the same dotted name.

    Example:
        >>> lamina.save(model.state_dict(), "mlp.safetensors")
        >>> model.load_state_dict(lamina.load("mlp.safetensors"))
    """
    import safetensors.numpy

    arrays: dict = {}
    tree = _encode(obj, "", arrays)
    meta = {"format": "np", "lamina.format": FORMAT,
            "lamina.tree": json.dumps(tree, separators=(",", ":"))}
    for k, v in (metadata or {}).items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise TypeError(f"save: metadata must map str to str, got {k!r}: {type(v).__name__}")
        meta.setdefault(k, v)
    atomic_write(path, safetensors.numpy.save(arrays, metadata=meta))


def _describe(head: bytes) -> str:
    if head.startswith(b"PK\x03\x04"):
        return "it is a zip archive, e.g. a torch.save file holding a pickle"
    if head[:1] == b"\x80" or head[:1] in (b"(", b"c", b"}", b"]"):
        return "it looks like a Python pickle"
    return "its header is not a safetensors header"


def read_metadata(path) -> dict:
    """The ``__metadata__`` strings of a safetensors file, after checking that it is one.

    Raises:
        ValueError: the file is not safetensors (e.g. a pickle or a ``torch.save`` zip); it is
            only read as bytes, never unpickled.
    """
    path = os.fspath(path)
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(8)
        n = struct.unpack("<Q", head)[0] if len(head) == 8 else -1
        ok = 0 < n <= min(size - 8, _MAX_HEADER)
        header = f.read(n) if ok else b""
    try:
        parsed = json.loads(header.decode("utf-8")) if header[:1] == b"{" else None
    except (UnicodeDecodeError, json.JSONDecodeError):
        parsed = None
    if not isinstance(parsed, dict) and len(head) == 8 and n > size - 8 and n <= _MAX_HEADER:
        raise ValueError(f"load: {path!r} is truncated: its header announces {n} bytes but the "
                         f"file has {size} bytes in all; write it again (e.g. re-run training)")
    if not isinstance(parsed, dict):
        raise ValueError(
            f"load: expected a safetensors file, got {path!r} ({_describe(head)}); lamina reads "
            "only safetensors and never unpickles, since a pickle can run arbitrary code. "
            "Convert trusted PyTorch weights with torch.load(f, weights_only=True) and "
            "safetensors.torch.save_file.")
    return dict(parsed.get("__metadata__") or {})


def load(path, map_location=None, weights_only=None, **kwargs):
    """Read a file written by :func:`save` (or any safetensors file).

    Args:
        path (str or PathLike): the file.
        map_location, weights_only, **kwargs: ``torch.load``'s options, accepted so torch code
            runs unchanged and ignored: arrays load on the host, and safetensors holds only
            weights, so loading is always ``weights_only`` (nothing is unpickled).

    Returns:
        The saved tree (dicts, lists, tuples, NumPy arrays, numbers...). A safetensors file
        written elsewhere (no lamina metadata) gives a flat dict name -> NumPy array.

    Raises:
        ValueError: the file is not safetensors (pickles and ``torch.save`` zips are refused
            without being executed).
    """
    import safetensors.numpy

    meta = read_metadata(path)
    try:
        arrays = safetensors.numpy.load_file(os.fspath(path))
        tree = meta.get("lamina.tree")
        if tree is None:
            return dict(arrays)
        return _decode(json.loads(tree), arrays)
    except (ValueError, KeyError, TypeError, json.JSONDecodeError) as e:
        raise ValueError(f"load: {os.fspath(path)!r} is a damaged safetensors file ({e}); "
                         "write it again") from None
    except Exception as e:  # safetensors' SafetensorError (truncated or corrupt data)
        if type(e).__name__ != "SafetensorError":
            raise
        raise ValueError(f"load: {os.fspath(path)!r} is a damaged safetensors file ({e}); "
                         "write it again") from None
