"""``Tensor``: an array of the active backend plus what reverse-mode autodiff needs.

Operators and most methods (``x + y``, ``x.sum(dim=1)``, ``x.view(-1, 784)``...) are attached by
:mod:`lamina.functional` so that every op lives in one place; this file holds the core only.
"""

from __future__ import annotations

from .. import backend as B
from ..errors import DTypeError
from .grad_mode import HOOKS, STATE

__all__ = ["Tensor", "Parameter", "RemovableHandle", "INPLACE_USED", "POST_HOOKS_USED"]


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

    ``Tensor(2, 3)`` (only ints) is PyTorch's legacy constructor: a zero-filled tensor of that
    shape in the default dtype. ``Tensor(data)`` wraps an array as is; to copy data and infer a
    dtype the PyTorch way, call :func:`lamina.tensor`.

    Attributes:
        array: the underlying backend array (what ops read and write).
        data (Tensor): a detached tensor sharing ``array`` (PyTorch's ``.data``).
        grad (Tensor | None): the accumulated gradient, filled by ``backward``.
    """

    # class-level defaults: creating a tensor sets ``array`` only (ops create many tensors)
    _grad = None
    _version = 0  # bumped by every in-place op (see lamina.autograd.inplace)
    _requires_grad = False
    _creator = None
    _out_idx = 0
    _hooks = None
    _post_hooks = None  # register_post_accumulate_grad_hook (leaves only)
    _retain = False
    name = None
    __array_priority__ = 1000  # NumPy defers ``ndarray op Tensor`` to the Tensor's reflected op

    def __init__(self, data=None, *size, requires_grad: bool = False, name: str | None = None,
                 dtype=None):
        if size or type(data) is int or data is None:
            data = _legacy_zeros(data, size, dtype)
        elif isinstance(data, Tensor):
            data = data.array
        elif not isinstance(data, B.ndarray_types):
            py = type(data) in (list, tuple, float)
            data = B.np.asarray(data)
            if py and dtype is None and data.dtype.kind == "f":  # as torch: floats -> default
                data = data.astype(B.get_default_dtype())
        if dtype is not None and data.dtype != dtype:
            data = data.astype(dtype)
        self.array = data
        if name is not None:
            self.name = name
        if requires_grad:
            self.requires_grad = True
        if CREATED[0] is not None:
            CREATED[0][id(self)] = self

    # ------------------------------------------------------------------ data and grad
    @property
    def data(self) -> "Tensor":
        """A tensor sharing this one's storage, detached from the graph (PyTorch's ``.data``):
        ``p.data.mul_(0.5)`` changes ``p`` without recording. Assigning a tensor or an array
        replaces the storage (shape and dtype may change)."""
        t = _new(Tensor)
        t.array = self.array
        if CREATED[0] is not None:
            CREATED[0][id(t)] = t
        return t

    @data.setter
    def data(self, value) -> None:
        self.array = _as_array(value, "data")

    @property
    def grad(self):
        """The accumulated gradient as a Tensor of this tensor's shape, or None. ``backward``
        adds into it; ``p.grad.zero_()``, ``p.grad = None`` and assigning a tensor work as in
        PyTorch."""
        return self._grad

    @grad.setter
    def grad(self, value) -> None:
        if value is None:
            self._grad = None
            return
        g = _as_array(value, "grad")
        if g.shape != self.array.shape:
            raise RuntimeError(f"grad: assigned grad has shape {tuple(g.shape)}, but the tensor "
                               f"has shape {tuple(self.array.shape)}")
        if g.dtype != self.array.dtype:
            raise TypeError(f"grad: assigned grad has dtype {g.dtype}, but the tensor has dtype "
                            f"{self.array.dtype}; convert it with .to({self.array.dtype})")
        if isinstance(value, Tensor):
            self._grad = value
        else:
            t = _new(Tensor)
            t.array = g
            self._grad = t

    # ------------------------------------------------------------------ basic properties
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        if flag and self.array.dtype.kind != "f":
            raise DTypeError(
                f"requires_grad: only floating tensors can require grad, got dtype "
                f"{self.array.dtype}; convert with .float() first")
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
        return self.array.shape

    @property
    def dtype(self):
        return self.array.dtype

    @property
    def ndim(self) -> int:
        return self.array.ndim

    @property
    def size_(self) -> int:  # pragma: no cover - alias kept private
        return self.array.size

    def size(self, dim: int | None = None):
        """PyTorch's ``size()``: the shape tuple, or one dimension's length."""
        return self.array.shape if dim is None else self.array.shape[dim]

    def numel(self) -> int:
        """Number of elements."""
        return int(self.array.size)

    def dim(self) -> int:
        """Number of dimensions (PyTorch spelling of ``ndim``)."""
        return self.array.ndim

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
        return _device("cuda" if B.is_cupy_array(self.array) else "cpu")

    @property
    def is_cuda(self) -> bool:
        return B.is_cupy_array(self.array)

    # ------------------------------------------------------------------ conversion
    def numpy(self):
        """The data as a NumPy array (shares memory on the CPU). Raises if it requires grad
        inside a recorded graph? No: like ``detach().numpy()``, it never records."""
        if VALUE_READ[0] is not None:
            VALUE_READ[0]("numpy()", self)
        return B.to_host(self.array)

    def item(self):
        """The single value of a one-element tensor as a Python number."""
        if self.array.size != 1:
            raise ValueError(f"item: expected a tensor with one element, got shape {self.shape}")
        if VALUE_READ[0] is not None:
            VALUE_READ[0]("item()", self)
        return self.array.reshape(()).item()

    def tolist(self):
        """Nested Python lists of the values."""
        if VALUE_READ[0] is not None:
            VALUE_READ[0]("tolist()", self)
        return B.to_host(self.array).tolist()

    def __array__(self, dtype=None, copy=None):
        if VALUE_READ[0] is not None:
            VALUE_READ[0]("numpy.asarray()", self)
        a = B.to_host(self.array)
        return a if dtype is None else a.astype(dtype, copy=False)

    def __len__(self) -> int:
        if self.array.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.array.shape[0]

    def __bool__(self) -> bool:
        if self.array.size != 1:
            raise ValueError(f"bool: the truth value of a tensor with {self.array.size} elements "
                             "is ambiguous; use .any() or .all()")
        if VALUE_READ[0] is not None:
            VALUE_READ[0]("bool()", self)
        return bool(self.array.reshape(()))

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.array.dtype.kind not in "iub":
            raise TypeError("only integer tensors can be used as an index")
        return int(self.item())

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        body = B.np.array2string(B.to_host(self.array), separator=", ", precision=4,
                                 threshold=60, edgeitems=3, prefix="tensor(")
        extra = []
        if self.array.dtype != B.get_default_dtype() and self.array.dtype != B.np.int64:
            extra.append(f"dtype={self.array.dtype}")
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
        return Tensor(self.array)

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

    def register_post_accumulate_grad_hook(self, hook) -> RemovableHandle:
        """Call ``hook(self)`` once per backward, as soon as this leaf's ``.grad`` holds its
        final value for that backward (PyTorch's hook of the same name).

        The engine accumulates such a leaf the moment the last function that feeds it has run,
        so the hook fires during the graph pass: a leaf used early in the forward fires late.
        ``register_hook`` hooks of the leaf run before the accumulation, as in PyTorch. The
        return value is ignored. A leaf that gets no gradient in a backward does not fire.

        Args:
            hook (callable): ``hook(tensor) -> None``; may read or replace ``tensor.grad``.

        Returns:
            RemovableHandle: ``remove()`` unregisters the hook.

        Example:
            >>> w = lamina.randn(3, requires_grad=True)
            >>> h = w.register_post_accumulate_grad_hook(lambda t: print(t.grad.shape))
        """
        if self._creator is not None:
            raise RuntimeError("register_post_accumulate_grad_hook: post accumulate grad hooks "
                               "cannot be registered on non-leaf tensors; use register_hook")
        if not self._requires_grad:
            raise RuntimeError("register_post_accumulate_grad_hook: cannot register a hook on "
                               "a tensor that does not require grad")
        POST_HOOKS_USED[0] = True
        if self._post_hooks is None:
            self._post_hooks = []
        self._post_hooks.append(hook)
        return RemovableHandle(self._post_hooks, hook)

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward (leaves always keep it)."""
        if not self._requires_grad:
            raise RuntimeError("retain_grad: tensor does not require grad")
        self._track_for_hooks()
        self._retain = True

    def _track_for_hooks(self) -> None:
        # the engine visits a non-leaf's hooks through its creator, so register there (a
        # leaf's hooks run where its gradient is accumulated, with no engine-wide flag)
        c = self._creator
        if c is not None:
            import weakref
            hooked = c.__dict__.get("_hooked")
            if hooked is None:
                hooked = c.__dict__["_hooked"] = {}
                HOOKS.track(c)
            hooked[self._out_idx] = weakref.ref(self)

    def zero_grad_(self) -> None:  # pragma: no cover - small helper
        self._grad = None

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
            data = data.array
        if data is None:
            data = B.np.empty((0,), B.get_default_dtype())
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


_new = object.__new__
# [True] once any in-place op ran (lamina.autograd.inplace); until then every version is 0
INPLACE_USED = [False]
# lamina.compile's tracer: called as f(what, tensor) when Python reads a tensor's values
VALUE_READ: list = [None]
# lamina.compile's tracer: a dict that collects the Tensors constructed while it traces
CREATED: list = [None]
# [True] once a post-accumulate-grad hook was registered: the engine then counts, per backward,
# the edges that still owe each hooked leaf a gradient (lamina.autograd.engine)
POST_HOOKS_USED = [False]


def _as_array(value, what):
    if isinstance(value, Tensor):
        return value.array
    if isinstance(value, B.ndarray_types):
        return value
    raise TypeError(f"{what}: expected a Tensor, got {type(value).__name__}; wrap it with "
                    f"lamina.tensor(...)")


def _legacy_zeros(first, size, dtype):
    """``Tensor(2, 3)``: PyTorch's legacy constructor, zero-filled instead of uninitialized."""
    dims = ((first,) if first is not None else ()) + size
    if not all(type(d) is int for d in dims):
        raise TypeError(f"Tensor: expected Tensor(data) or Tensor(*sizes) with int sizes, got "
                        f"{dims}; for data with options call lamina.tensor(data, dtype=..., "
                        f"requires_grad=...)")
    return B.np.zeros(dims, dtype if dtype is not None else B.get_default_dtype())


_RUN_BACKWARD = None  # engine.run_backward, bound on first use (the engine imports this file)


def _load_engine():
    global _RUN_BACKWARD
    from .engine import run_backward
    _RUN_BACKWARD = run_backward
    return run_backward


def _grad_enabled() -> bool:  # re-export for hot paths
    return STATE.grad_enabled
