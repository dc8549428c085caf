"""The one place lamina imports an array library by name.

Every other module gets its array module from here: ``np`` is the host (CPU) module, and
``get_array_module(*arrays)`` returns NumPy or CuPy depending on where the arrays live. Random
draws come from one seeded ``Generator`` per device (``manual_seed`` fixes them all), and the
default floating dtype (float32 unless changed with ``set_default_dtype``) lives here too.
"""

from __future__ import annotations

import numpy as np

try:  # CuPy is optional: only a GPU machine has it.
    import cupy as _cupy  # type: ignore
except Exception:  # pragma: no cover - exercised only where CuPy is installed
    _cupy = None

__all__ = [
    "np",
    "cupy",
    "get_array_module",
    "is_cupy_array",
    "cuda_available",
    "to_host",
    "to_device_array",
    "default_dtype",
    "set_default_dtype",
    "get_default_dtype",
    "manual_seed",
    "rng",
    "get_rng_state",
    "set_rng_state",
    "is_floating",
    "ndarray_types",
]

cupy = _cupy
ndarray_types: tuple = (np.ndarray,) if _cupy is None else (np.ndarray, _cupy.ndarray)


def is_cupy_array(a) -> bool:
    """True when ``a`` is a CuPy array."""
    return _cupy is not None and isinstance(a, _cupy.ndarray)


def get_array_module(*arrays):
    """Return the array module (``numpy`` or ``cupy``) that holds ``arrays``.

    Any CuPy array among them selects CuPy; otherwise NumPy.
    """
    if _cupy is not None:
        for a in arrays:
            if isinstance(a, _cupy.ndarray):
                return _cupy
    return np


def cuda_available() -> bool:
    """True when CuPy is importable and sees at least one GPU."""
    if _cupy is None:
        return False
    try:
        return _cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # pragma: no cover - depends on the driver
        return False


def to_host(a):
    """Return ``a`` as a NumPy array (copies from the GPU when it is a CuPy array)."""
    if is_cupy_array(a):
        return _cupy.asnumpy(a)
    return np.asarray(a)


def to_device_array(a, device: str):
    """Move array ``a`` to ``device`` (``"cpu"`` or ``"cuda"``); raises if CUDA is missing."""
    if device == "cpu":
        return to_host(a)
    if device.startswith("cuda"):
        if not cuda_available():
            raise RuntimeError(
                "to('cuda'): CuPy with a visible GPU is required; install cupy matching your CUDA "
                "toolkit (e.g. `pip install cupy-cuda12x`) or stay on device 'cpu'"
            )
        return _cupy.asarray(a)
    raise ValueError(f"device: expected 'cpu' or 'cuda', got {device!r}")


# ----------------------------------------------------------------------------- dtypes
_default_dtype = np.dtype(np.float32)


def set_default_dtype(dtype) -> None:
    """Set the floating dtype used for new tensors (``float32`` by default; ``float64`` allowed)."""
    global _default_dtype
    d = np.dtype(dtype)
    if d.kind != "f":
        raise TypeError(f"set_default_dtype: expected a floating dtype, got {d}")
    _default_dtype = d


def get_default_dtype():
    """The floating dtype new tensors get when none is given."""
    return _default_dtype


default_dtype = get_default_dtype


def is_floating(dtype) -> bool:
    """True for floating-point dtypes (the only ones that can require grad)."""
    return np.dtype(dtype).kind == "f"


# ----------------------------------------------------------------------------- random
_rngs: dict = {"cpu": np.random.default_rng(0)}
_seed = 0


def manual_seed(seed: int) -> None:
    """Seed every random draw lamina makes (init, shuffling, dropout, sampling), on every device."""
    global _seed
    _seed = int(seed)
    _rngs.clear()
    _rngs["cpu"] = np.random.default_rng(_seed)
    if _cupy is not None:  # pragma: no cover - GPU only
        _cupy.random.seed(_seed)


def rng(device: str = "cpu"):
    """The seeded random ``Generator`` of ``device`` (NumPy's or CuPy's)."""
    g = _rngs.get(device)
    if g is None:
        if device == "cpu":
            g = np.random.default_rng(_seed)
        else:  # pragma: no cover - GPU only
            g = _cupy.random.default_rng(_seed)
        _rngs[device] = g
    return g


def get_rng_state() -> dict:
    """A JSON-serialisable snapshot of the CPU generator (for exact resumption)."""
    return {"seed": _seed, "bit_generator": _rngs["cpu"].bit_generator.state}


def set_rng_state(state: dict) -> None:
    """Restore a snapshot taken by :func:`get_rng_state`."""
    global _seed
    _seed = int(state.get("seed", 0))
    g = np.random.default_rng(_seed)
    g.bit_generator.state = state["bit_generator"]
    _rngs["cpu"] = g
