"""The tracer behind :func:`lamina.deploy.export_onnx`: a model's recorded autograd graph becomes
an ONNX graph, one converter per op (``lamina.deploy._ops`` holds the registry).

The model runs twice, on the example input and on a second input whose dynamic axes are one
longer (and whose values differ). Both recorded graphs are walked in lockstep from the outputs:
an op's attribute that differs between the two runs (a reshape target, a slice end) is a
function of a dynamic axis and is written relative to the input's shape; a constant that
differs was computed from the input outside the graph (a NumPy mask) and cannot be exported,
so the walk stops with an error naming the layer instead of baking one batch into the file.
"""

from __future__ import annotations

import sys

from .. import backend as B
from ..autograd.tensor import Tensor
from ..errors import op_error
from ._lengths import derived_constant

np = B.np

__all__ = ["GraphBuilder", "OpView", "CONVERTERS", "register"]

CONVERTERS: dict = {}


def register(*names):
    """Decorator: ``fn(g, op) -> list of output names`` converts the lamina ops ``names``."""
    def deco(fn):
        for n in names:
            CONVERTERS[n] = fn
        return fn
    return deco


class OpView:
    """One recorded op seen by its converter: the two runs' Function objects and arrays.

    Attributes: ``fn``/``fn2`` (the two Function objects), ``ins`` (ONNX names of the inputs,
    None for a None input), ``xs``/``xs2`` (input arrays of each run, None where None),
    ``ys``/``ys2`` (output arrays), ``layer`` (the module path that ran it).
    """

    def __init__(self, fn, fn2, ins, xs, xs2, ys, ys2, layer):
        self.fn, self.fn2, self.ins, self.xs, self.xs2 = fn, fn2, ins, xs, xs2
        self.ys, self.ys2, self.layer = ys, ys2, layer

    @property
    def name(self) -> str:
        return type(self.fn).__name__

    def attr(self, key, default=None):
        """``(value in run 1, value in run 2)`` of a Function attribute."""
        return getattr(self.fn, key, default), getattr(self.fn2, key, default)

    def fail(self, expected: str, got: str):
        where = f" in layer '{self.layer}'" if self.layer else ""
        return op_error("export_onnx", expected, f"{got} (op {self.name}{where})")


def _arr(x):
    return x.array if isinstance(x, Tensor) else x


def _view_index(x, a, ax):
    """``t`` when ``a`` is exactly the view ``x.take(t, axis=ax)`` (same memory), else None."""
    rest = lambda v: tuple(s for i, s in enumerate(v) if i != ax)  # noqa: E731
    if a.shape != rest(x.shape) or (a.size > 1 and a.strides != rest(x.strides)):
        return None
    off = a.__array_interface__["data"][0] - x.__array_interface__["data"][0]
    step = x.strides[ax]
    if step <= 0 or off < 0 or off % step or off // step >= x.shape[ax]:
        return None
    t = off // step
    return t if np.array_equal(np.take(x, t, axis=ax), a) else None


class GraphBuilder:
    """Collects ONNX nodes and initializers while walking two traced graphs.

    Args:
        helper: the ``onnx.helper`` module. TensorProto: ``onnx.TensorProto``.
        numpy_helper: ``onnx.numpy_helper``.
    """

    def __init__(self, onnx):
        self.onnx = onnx
        self.helper = onnx.helper
        self.nodes, self.inits = [], []
        self.names: dict = {}       # id(tensor or array) -> ONNX name
        self.keep: list = []        # keeps traced objects alive so ids stay unique
        self.consts: dict = {}      # ONNX name -> constant array (for folding)
        self.layer_of: dict = {}    # id(Function) -> module path
        self.by_array: dict = {}    # id(array) -> the traced module output holding it
        self.axis_sizes: dict = {}  # (size in run 1, size in run 2) -> (input name, axis)
        self.input_arrays: list = []  # (input name, array in run 1, array in run 2)
        self.cache: dict = {}       # helper nodes built once (lengths read from an input)
        self._count = 0

    # ------------------------------------------------------------------ names and nodes
    def fresh(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def const(self, array, hint: str = "const") -> str:
        """An initializer holding ``array`` (float64 stays only where it came as float64)."""
        a = np.asarray(array)
        if a.dtype == np.bool_:
            a = a.astype(np.bool_)
        name = self.fresh(hint)
        self.inits.append(self.onnx.numpy_helper.from_array(np.array(a, order="C"), name))
        self.consts[name] = a
        return name

    def ints(self, values, hint: str = "shape") -> str:
        return self.const(np.asarray(list(values), dtype=np.int64), hint)

    def node(self, op_type: str, inputs, n_out: int = 1, **attrs):
        """Append a node; returns its output name (or list of names when ``n_out > 1``)."""
        outs = [self.fresh(op_type.lower()) for _ in range(n_out)]
        ins = ["" if i is None else i for i in inputs]
        while ins and ins[-1] == "":
            ins.pop()
        self.nodes.append(self.helper.make_node(op_type, ins, outs, **attrs))
        return outs[0] if n_out == 1 else outs

    def bind(self, obj, name: str) -> None:
        self.names[id(obj)] = name
        self.keep.append(obj)

    # ------------------------------------------------------------------ the walk
    def resolve(self, t, t2) -> str:
        """ONNX name of tensor ``t`` (run 1) / ``t2`` (run 2), emitting what it needs."""
        old = sys.getrecursionlimit()
        sys.setrecursionlimit(max(old, 20000))
        try:
            return self._resolve(t, t2)
        finally:
            sys.setrecursionlimit(old)

    def _known(self, t):
        if id(t) in self.names:
            return self.names[id(t)]
        a = _arr(t)
        if a is not None and id(a) in self.names:
            return self.names[id(a)]
        return None

    def _resolve(self, t, t2):
        known = self._known(t)
        if known is not None:
            return known
        fn = t._creator if isinstance(t, Tensor) else None
        if fn is None:
            return self._leaf(t, t2)
        fn2 = t2._creator if isinstance(t2, Tensor) else None
        if fn2 is None or type(fn2) is not type(fn):
            raise op_error("export_onnx", "the same graph for inputs of two sizes",
                           f"op {type(fn).__name__} against "
                           f"{type(fn2).__name__ if fn2 else 'a constant'}"
                           f"{self._where(fn)}: the model's forward depends on the input's "
                           "size or values outside lamina's ops")
        self._emit(fn, fn2, t, t2)
        return self._known(t)

    def _where(self, fn):
        layer = self.layer_of.get(id(fn))
        return f" in layer '{layer}'" if layer else ""

    def _leaf(self, t, t2):
        src = self.by_array.get(id(_arr(t)))
        src2 = self.by_array.get(id(_arr(t2)))
        if src is not None and src2 is not None and src is not t:  # a detached module output
            return self._resolve(src, src2)
        a, a2 = np.asarray(_arr(t)), np.asarray(_arr(t2))
        name = self._dynamic(a, a2, arange=False)
        if name is not None:
            if isinstance(t, Tensor):
                self.bind(t, name)
            return name
        if a.shape != a2.shape or not np.array_equal(a, a2, equal_nan=True):
            raise op_error("export_onnx", "constants that do not depend on the input",
                           f"a constant of shape {a.shape} that changed with the input "
                           f"({a2.shape}): computed outside lamina's ops (NumPy, .item(), "
                           "a Python loop over the batch), so it cannot be exported")
        name = self.const(a, "init")
        if isinstance(t, Tensor):
            self.bind(t, name)
        return name

    def _filled(self, a, a2):
        """A constant filled with one value whose shape follows the inputs' dynamic axes
        (``zeros(N, H)`` initial states): ``ConstantOfShape`` of a shape read at run time."""
        if a.shape == a2.shape or a.ndim != a2.ndim or not a.size or not a2.size:
            return None
        v = a.flat[0]
        if not (np.all(a == v) and np.all(a2 == v)):
            return None
        dims = []
        for s, s2 in zip(a.shape, a2.shape):
            if s == s2:
                dims.append(self.ints([s]))
            elif (s, s2) in self.axis_sizes:
                src, ax = self.axis_sizes[(s, s2)]
                dims.append(self.node("Gather", [self.node("Shape", [src]), self.ints([ax])],
                                      axis=0))
            else:
                return None
        shape = self.node("Concat", dims, axis=0)
        value = self.onnx.numpy_helper.from_array(np.asarray([v], a.dtype))
        return self.node("ConstantOfShape", [shape], value=value)

    def _dynamic(self, a, a2, arange=True):
        """ONNX name of a constant that changed with the input but is a known function of it
        (filled shapes, ``arange(T)``, masks of a lengths input, views of an input), or None."""
        return (self._filled(a, a2) or (arange and self._arange(a, a2))
                or derived_constant(self, a, a2) or self._input_view(a, a2))

    def _input_view(self, a, a2):
        """A NumPy view ``x[:, t]`` of a graph input taken with a Python integer (a loop over
        a static axis, as teacher forcing does): ``Gather(x, t, axis)``."""
        for name, x, x2 in self.input_arrays:
            if a.ndim != x.ndim - 1 or a.dtype != x.dtype or not np.shares_memory(a, x) \
                    or not np.shares_memory(a2, x2):
                continue
            for ax in range(x.ndim):
                if x.shape[ax] != x2.shape[ax]:
                    continue   # a dynamic axis: its length is not a constant index range
                t = _view_index(x, a, ax)
                if t is not None and t == _view_index(x2, a2, ax):
                    return self.node("Gather", [name, self.const(np.asarray(t, np.int64))],
                                     axis=ax)
        return None

    def _arange(self, a, a2):
        """``arange(T)`` (possibly with leading 1s, as position ids) where T is a dynamic axis:
        ``Range(0, T, 1)`` read at run time."""
        if a.shape == a2.shape or a.dtype.kind not in "iu" or a.ndim != a2.ndim:
            return None
        n, n2 = a.shape[-1], a2.shape[-1]
        if a.size != n or a2.size != n2 or (n, n2) not in self.axis_sizes:
            return None
        if not (np.array_equal(a.reshape(-1), np.arange(n))
                and np.array_equal(a2.reshape(-1), np.arange(n2))):
            return None
        src, ax = self.axis_sizes[(n, n2)]
        dt = self.helper.np_dtype_to_tensor_dtype(a.dtype)
        size = self.node("Cast", [self.node("Gather", [self.node("Shape", [src]),
                                                       self.const(np.asarray(ax, np.int64))],
                                            axis=0)], to=dt)
        r = self.node("Range", [self.const(np.asarray(0, a.dtype)), size,
                                self.const(np.asarray(1, a.dtype))])
        if a.ndim > 1:
            r = self.node("Reshape", [r, self.ints(list(a.shape[:-1]) + [-1])])
        return r

    def _emit(self, fn, fn2, t, t2):
        raw = getattr(fn, "inputs", ())
        raw2 = getattr(fn2, "inputs", ())
        ins, xs, xs2 = [], [], []
        for x, x2 in zip(raw, raw2):
            if x is None:
                ins.append(None)
                xs.append(None)
                xs2.append(None)
            elif isinstance(x, Tensor):
                ins.append(self._resolve(x, x2))
                xs.append(x.array)
                xs2.append(x2.array)
            elif self._known(x) is not None:  # a graph input passed as its raw array
                ins.append(self._known(x))
                xs.append(x)
                xs2.append(x2)
            else:  # a Python scalar or a raw array: a constant operand
                a, a2 = np.asarray(x), np.asarray(x2)
                dyn = self._dynamic(a, a2)
                if dyn is not None:
                    ins.append(dyn)
                    xs.append(a)
                    xs2.append(a2)
                    continue
                if a.shape != a2.shape or not np.array_equal(a, a2):
                    raise op_error("export_onnx", "constant operands",
                                   f"an operand of {type(fn).__name__} that changed with the "
                                   f"input{self._where(fn)}")
                if a.dtype.kind == "f" and a.ndim == 0:
                    ref = next((np.asarray(_arr(o)).dtype for o in raw
                                if isinstance(o, Tensor) and _arr(o).dtype.kind == "f"), None)
                    a = a.astype(ref or B.get_default_dtype())
                elif a.dtype.kind == "i" and a.ndim == 0:
                    ref = next((np.asarray(_arr(o)).dtype for o in raw if isinstance(o, Tensor)),
                               None)
                    a = a.astype(ref or a.dtype)
                ins.append(self.const(a, "scalar"))
                xs.append(a)
                xs2.append(a)
        outs = self._outputs(fn, t)
        outs2 = self._outputs(fn2, t2)
        name = type(fn).__name__
        if all(n is None or n in self.consts for n in ins):
            for o in outs:   # every input is a constant (weights): fold the op
                if o is not None:
                    self.bind(o, self.const(o.array, "folded"))
            return
        conv = CONVERTERS.get(name)
        if conv is None:
            raise op_error("export_onnx", "an op with an ONNX converter",
                           f"op '{name}'{self._where(fn)} has none (lamina.deploy."
                           "supported_ops() lists those that do)")
        view = OpView(fn, fn2, ins, xs, xs2, [o.array if o is not None else None for o in outs],
                      [o.array if o is not None else None for o in outs2],
                      self.layer_of.get(id(fn), ""))
        names = conv(self, view)
        if isinstance(names, str):
            names = [names]
        for o, n in zip(outs, names):
            if o is not None and n is not None:
                self.bind(o, n)

    @staticmethod
    def _outputs(fn, t):
        refs = getattr(fn, "outputs", None)
        if refs is None:
            return [t]
        return [r() for r in refs]
