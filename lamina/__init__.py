"""lamina: a neural-network library written from first principles on NumPy.

Layers, bottom to top (imports point down only): backend -> autograd -> functional -> nn ->
optim -> data -> train/metrics/io -> models/applications -> cli.
"""

import builtins
import os

from . import backend
from .autograd import *  # noqa: F401,F403
from .autograd import __all__ as _autograd_all
from .backend import get_default_dtype, manual_seed, set_default_dtype
from .errors import DTypeError, ShapeError

__version__ = "0.1.0"

# dtype names, PyTorch style (lamina.float32 ...)
float16 = backend.np.dtype("float16")
float32 = backend.np.dtype("float32")
float64 = backend.np.dtype("float64")
int32 = backend.np.dtype("int32")
int64 = backend.np.dtype("int64")
long = int64
bool_ = backend.np.dtype("bool")
uint8 = backend.np.dtype("uint8")
# PyTorch's short aliases (``lamina.float`` is float32, ``lamina.int`` int32, as in torch)
float = float32  # noqa: A001
double = float64
half = float16
int = int32  # noqa: A001
bool = bool_  # noqa: A001
int16 = backend.np.dtype("int16")
int8 = backend.np.dtype("int8")
short = int16


class _CudaNamespace:
    """``lamina.cuda.is_available()`` as in PyTorch (True only with CuPy and a GPU)."""

    @staticmethod
    def is_available() -> bool:
        return backend.cuda_available()

    @staticmethod
    def manual_seed(seed: int) -> None:
        backend.manual_seed(seed)


cuda = _CudaNamespace()

from . import functional  # noqa: E402  (attaches operators and methods to Tensor)
from .functional import *  # noqa: E402,F401,F403
from .autograd.function import result_type  # noqa: E402,F401  (torch.result_type)

globals().pop("format", None)  # the submodule functional.format, not a public name


class inference_mode(set_grad_enabled):  # noqa: F405
    """``torch.inference_mode(mode=True)``: a context manager and decorator.

    lamina has no separate inference tensors, so this is :class:`no_grad` when ``mode`` is
    True and leaves the grad mode as it is when False.

    Args:
        mode (bool): disable gradient recording (default True).
    """

    def __init__(self, mode=True):
        super().__init__(False)
        self.active = builtins.bool(mode)

    def __enter__(self):
        self.mode = False if self.active else is_grad_enabled()  # noqa: F405
        return super().__enter__()


def is_tensor(obj) -> bool:
    """True when ``obj`` is a lamina :class:`Tensor` (or a subclass, e.g. Parameter)."""
    return isinstance(obj, Tensor)  # noqa: F405


def is_floating_point(t) -> bool:
    """True when the tensor's dtype is a floating type."""
    return t.dtype.kind == "f"


def get_rng_state():
    """The seeded CPU generator's state as a 1-D uint8 Tensor (as ``torch.get_rng_state``).

    The bytes are the JSON of :func:`lamina.backend.get_rng_state`; pass the tensor back to
    :func:`set_rng_state` and the following draws repeat exactly.

    Returns:
        Tensor: ``(n,)`` uint8.
    """
    import json
    raw = json.dumps(backend.get_rng_state()).encode()
    return Tensor(backend.np.frombuffer(raw, dtype=backend.np.uint8).copy())  # noqa: F405


def set_rng_state(new_state) -> None:
    """Restore a state from :func:`get_rng_state` (a uint8 Tensor, or the backend's dict)."""
    import json
    if isinstance(new_state, dict):
        backend.set_rng_state(new_state)
        return
    arr = new_state.array if isinstance(new_state, Tensor) else new_state  # noqa: F405
    backend.set_rng_state(json.loads(bytes(backend.np.asarray(arr, dtype=backend.np.uint8))))


def set_num_threads(n) -> None:
    """Use ``n`` threads, as ``torch.set_num_threads``: for NumPy's BLAS/OpenMP pools (through
    ``threadpoolctl``) and for lamina's own copy and window kernels
    (:func:`lamina.backend.kernels.set_num_threads`). See ``docs/performance.md`` for the
    threading policy.

    Raises:
        ImportError: threadpoolctl is not installed (``pip install threadpoolctl``).
    """
    global _thread_limiter
    from threadpoolctl import threadpool_limits
    from .backend import kernels
    n = builtins.int(n)
    if n < 1:
        raise ValueError(f"set_num_threads: expected n >= 1, got {n}")
    _thread_limiter = threadpool_limits(limits=n)
    kernels.set_num_threads(n)


def compile(fn, *, modules=None, cache_size=8):  # noqa: A001 - torch.compile's name
    """Capture and replay ``fn``'s op schedule: :func:`lamina.nn.compiled.compile`."""
    from .nn.compiled import compile as _compile
    return _compile(fn, modules=modules, cache_size=cache_size)


def get_num_threads():
    """Threads the BLAS library uses (``os.cpu_count()`` when threadpoolctl is absent)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return os.cpu_count() or 1
    nums = [i["num_threads"] for i in threadpool_info() if i.get("user_api") == "blas"]
    return builtins.max(nums) if nums else (os.cpu_count() or 1)


_thread_limiter = None

__all__ = [*_autograd_all, "manual_seed", "set_default_dtype", "get_default_dtype",
           "ShapeError", "DTypeError", "functional", "backend", "cuda", "inference_mode",
           "is_tensor", "is_floating_point", "get_rng_state", "set_rng_state",
           "set_num_threads", "get_num_threads", "compile"]


def __getattr__(name):
    # Higher layers load on first use so `import lamina` stays light and imports point down.
    import importlib
    lazy = {"nn", "optim", "data", "datasets", "train", "metrics", "io", "models", "testing",
            "applications", "cli", "utils"}
    if name in lazy:
        return importlib.import_module(f"lamina.{name}")
    if name in ("save", "load"):
        return getattr(importlib.import_module("lamina.io"), name)
    if name == "summary":
        return importlib.import_module("lamina.nn").summary
    raise AttributeError(f"module 'lamina' has no attribute {name!r}")
