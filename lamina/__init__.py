"""lamina: a neural-network library written from first principles on NumPy.

Layers, bottom to top (imports point down only): backend -> autograd -> functional -> nn ->
optim -> data -> train/metrics/io -> models/applications -> cli.
"""

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

__all__ = [*_autograd_all, "manual_seed", "set_default_dtype", "get_default_dtype",
           "ShapeError", "DTypeError", "functional", "backend", "cuda"]


def __getattr__(name):
    # Higher layers load on first use so `import lamina` stays light and imports point down.
    import importlib
    lazy = {"nn", "optim", "data", "datasets", "train", "metrics", "io", "models", "testing",
            "applications", "cli"}
    if name in lazy:
        return importlib.import_module(f"lamina.{name}")
    if name in ("save", "load"):
        return getattr(importlib.import_module("lamina.io"), name)
    if name == "summary":
        return importlib.import_module("lamina.nn").summary
    raise AttributeError(f"module 'lamina' has no attribute {name!r}")
