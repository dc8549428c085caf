"""``Tensor``: an array of the active backend plus what reverse-mode autodiff needs.

Operators and most methods (``x + y``, ``x.sum(dim=1)``, ``x.view(-1, 784)``...) are attached by
:mod:`lamina.functional` so that every op lives in one place; this file holds the core only.
"""

from __future__ import annotations

from .. import backend as B
from ..errors import DTypeError
from .grad_mode import HOOKS, STATE

__all__ = ["Tensor", "Parameter", "RemovableHandle"]


class RemovableHandle:
    """Returned by ``register_hook``; ``remove()`` unregisters the hook."""

    def __init__(self, hooks: list, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


class Tensor:
    """An n-dimensional array that can record the operations applied to it.

    Args:
        data: an array of the active backend (NumPy or CuPy), used as is (no copy).
        requires_grad (bool): record ops on this tensor so ``backward`` can fill ``.grad``.
            Only floating tensors may require grad. Default False.

    Attributes:
        data: the underlying array. ``grad``: accumulated gradient array or None.
    """

    # class-level defaults: creating a tensor sets ``data`` only (ops create many tensors)
    grad = None
    _requires_grad = False
    _creator = None
    _out_idx = 0
    _hooks = None
    _retain = False
    name = None
    __array_priority__ = 1000  # NumPy defers ``ndarray op Tensor`` to the Tensor's reflected op

    def __init__(self, data, requires_grad: bool = False, name: str | None = None):
        if not isinstance(data, B.ndarray_types):
            data = B.np.asarray(data)
        self.data = data
        if name is not None:
            self.name = name
        if requires_grad:
            self.requires_grad = True

    # ------------------------------------------------------------------ basic properties
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        if flag and self.data.dtype.kind != "f":
            raise DTypeError(
                f"requires_grad: only floating tensors can require grad, got dtype "
                f"{self.data.dtype}; convert with .float() first")
        if not flag and self._creator is not None:
            raise RuntimeError("requires_grad: can only change the flag of leaf tensors; "
                               "use .detach() to get a tensor without history")
        self._requires_grad = bool(flag)

    def requires_grad_(self, flag: bool = True) -> "Tensor":
        """Set ``requires_grad`` in place and return self (leaf tensors only)."""
        self.requires_grad = flag
        return self

    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size_(self) -> int:  # pragma: no cover - alias kept private
        return self.data.size

    def size(self, dim: int | None = None):
        """PyTorch's ``size()``: the shape tuple, or one dimension's length."""
        return self.data.shape if dim is None else self.data.shape[dim]

    def numel(self) -> int:
        """Number of elements."""
        return int(self.data.size)

    def dim(self) -> int:
        """Number of dimensions (PyTorch spelling of ``ndim``)."""
        return self.data.ndim

    @property
    def is_leaf(self) -> bool:
        """True for tensors not produced by a recorded op."""
        return self._creator is None

    @property
    def grad_fn(self):
        """The ``Function`` that produced this tensor, or None for leaves."""
        return self._creator

    @property
    def device(self):
        from .device import device as _device
        return _device("cuda" if B.is_cupy_array(self.data) else "cpu")

    @property
    def is_cuda(self) -> bool:
        return B.is_cupy_array(self.data)

    # ------------------------------------------------------------------ conversion
    def numpy(self):
        """The data as a NumPy array (shares memory on the CPU). Raises if it requires grad
        inside a recorded graph? No: like ``detach().numpy()``, it never records."""
        return B.to_host(self.data)

    def item(self):
        """The single value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item: expected a tensor with one element, got shape {self.shape}")
        return self.data.reshape(()).item()

    def tolist(self):
        """Nested Python lists of the values."""
        return B.to_host(self.data).tolist()

    def __array__(self, dtype=None, copy=None):
        a = B.to_host(self.data)
        return a if dtype is None else a.astype(dtype, copy=False)

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise ValueError(f"bool: the truth value of a tensor with {self.data.size} elements "
                             "is ambiguous; use .any() or .all()")
        return bool(self.data.reshape(()))

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.data.dtype.kind not in "iub":
            raise TypeError("only integer tensors can be used as an index")
        return int(self.item())

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        body = B.np.array2string(B.to_host(self.data), separator=", ", precision=4,
                                 threshold=60, edgeitems=3, prefix="tensor(")
        extra = []
        if self.data.dtype != B.get_default_dtype() and self.data.dtype != B.np.int64:
            extra.append(f"dtype={self.data.dtype}")
        if self.is_cuda:
            extra.append("device='cuda'")
        if self._creator is not None:
            extra.append(f"grad_fn=<{type(self._creator).__name__}Backward>")
        elif self._requires_grad:
            extra.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extra) + ")"

    # ------------------------------------------------------------------ autograd API
    def backward(self, grad=None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad`` (reverse-mode, iterative).

        Args:
            grad: gradient of some scalar w.r.t. this tensor, same shape. Required unless this
                tensor has exactly one element (then 1 is used).
            retain_graph (bool): keep saved arrays so backward can run through the graph again.
                Default False: the graph's buffers are freed and a second backward raises.
        """
        (_RUN_BACKWARD or _load_engine())(self, grad, retain_graph)

    def detach(self) -> "Tensor":
        """A new leaf sharing this tensor's data, cut from the graph."""
        return Tensor(self.data)

    def detach_(self) -> "Tensor":
        """Cut this tensor from the graph in place."""
        self._creator = None
        self._requires_grad = False
        return self

    def register_hook(self, hook) -> RemovableHandle:
        """Call ``hook(grad)`` when this tensor's gradient is computed; a non-None return value
        replaces the gradient. Returns a handle whose ``remove()`` unregisters it."""
        if not self._requires_grad:
            raise RuntimeError("register_hook: cannot register a hook on a tensor that does not "
                               "require grad")
        self._track_for_hooks()
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)
        return RemovableHandle(self._hooks, hook)

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward (leaves always keep it)."""
        if not self._requires_grad:
            raise RuntimeError("retain_grad: tensor does not require grad")
        self._track_for_hooks()
        self._retain = True

    def _track_for_hooks(self) -> None:
        # the engine visits a non-leaf's hooks through its creator, so register there
        HOOKS.active = True
        c = self._creator
        if c is not None:
            import weakref
            c.__dict__.setdefault("_hooked", {})[self._out_idx] = weakref.ref(self)

    def zero_grad_(self) -> None:  # pragma: no cover - small helper
        self.grad = None

    # ------------------------------------------------------------------ devices
    def to(self, *args, **kwargs) -> "Tensor":
        """``to(device)``, ``to(dtype)`` or ``to(device, dtype)``; returns self when nothing
        changes. Moving devices or casting records the op for autograd."""
        from .device import parse_to_args
        device, dtype = parse_to_args(args, kwargs)
        out = self
        if device is not None:
            cur = "cuda" if self.is_cuda else "cpu"
            if device != cur:
                from .function import ToDevice
                out = ToDevice.apply(out, device=device)
        if dtype is not None and B.np.dtype(dtype) != out.dtype:
            out = out.astype(dtype)
        return out

    def cpu(self) -> "Tensor":
        return self.to("cpu")

    def cuda(self) -> "Tensor":
        return self.to("cuda")


class Parameter(Tensor):
    """A tensor that a ``Module`` registers as a learnable weight (``requires_grad=True``)."""

    def __init__(self, data, requires_grad: bool = True):
        if isinstance(data, Tensor):
            data = data.data
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


_RUN_BACKWARD = None  # engine.run_backward, bound on first use (the engine imports this file)


def _load_engine():
    global _RUN_BACKWARD
    from .engine import run_backward
    _RUN_BACKWARD = run_backward
    return run_backward


def _grad_enabled() -> bool:  # re-export for hot paths
    return STATE.grad_enabled
