"""``Function``: one differentiable op, forward and backward on raw arrays, side by side.

A subclass implements ``forward(self, *arrays)`` returning an array (or a tuple of arrays) and
``backward(self, *grad_outputs)`` returning one gradient per input (``None`` where an input needs
none). Keyword arguments of ``apply`` become attributes of the instance (``self.axis`` ...).
``self.xp`` is the array module of the inputs and ``self.needs_input_grad`` says which inputs
asked for a gradient, so backward can skip work. Gradients may keep broadcast dimensions: the
engine sums them back to each input's shape in one place.
"""

from __future__ import annotations

import weakref

from .. import backend as B
from .grad_mode import NOT_DEFAULT, current_mode
from .tensor import Tensor

__all__ = ["Function", "ToDevice", "as_tensor_arg"]

_np = B.np
_HAS_CUPY = B.cupy is not None
_FREED = object()
_new = object.__new__


def _wrap(arr) -> Tensor:
    """A bare Tensor around ``arr`` (the fast path of ``Tensor(arr)``: class defaults do the
    rest)."""
    t = _new(Tensor)
    t.data = arr
    return t


def _float_scalars(arrays):
    """A Python float meeting only integer arrays takes the default dtype (as in PyTorch);
    meeting a floating array it stays a weak scalar, so ``x * 2.0`` keeps float32."""
    for a in arrays:
        dt = getattr(a, "dtype", None)
        if dt is not None and dt.kind == "f":
            return arrays
    dt = B.get_default_dtype()
    return [a if a is None else a.astype(dt) if hasattr(a, "astype") else _np.asarray(a, dt)
            for a in arrays]


def _collect(inputs):
    """The general input scan: ``(arrays, need, generation)``; ``need`` is None when no input
    requires grad."""
    arrays = []
    need = []
    any_grad = False
    gen = 0
    pyfloat = False
    for x in inputs:
        if isinstance(x, Tensor):
            arrays.append(x.data)
            if x._requires_grad:
                any_grad = True
                need.append(True)
                c = x._creator
                if c is not None and c.generation >= gen:
                    gen = c.generation + 1
                continue
        elif x is None or type(x) is int or type(x) is bool:
            arrays.append(x)  # NumPy's weak scalars keep the array's dtype (NEP 50)
        elif type(x) is float:
            arrays.append(x)
            pyfloat = True
        else:
            arrays.append(as_tensor_arg(x))
        need.append(False)
    if pyfloat:
        arrays = _float_scalars(arrays)
    return arrays, (need if any_grad else None), gen


# shared needs_input_grad tuples of the one- and two-input fast paths (never mutated)
_NEED1 = (True,)
_NEED2 = ((None, (False, True)), ((True, False), (True, True)))  # [a needs][b needs]


def as_tensor_arg(x, ref_dtype=None):
    """Turn a non-tensor op argument into an array. Python scalars take ``ref_dtype`` (the dtype
    of the floating tensor they meet), so ``x * 2.0`` stays float32."""
    if isinstance(x, (bool, int, float)):
        if ref_dtype is not None and (ref_dtype.kind == "f" or not isinstance(x, float)):
            return _np.asarray(x, dtype=ref_dtype)
        return _np.asarray(x, dtype=B.get_default_dtype() if isinstance(x, float) else None)
    if isinstance(x, B.ndarray_types):
        return x
    return _np.asarray(x)


class Function:
    """Base class of every op. See the module docstring for the contract."""

    differentiable = True  # False for ops whose outputs never carry grad (argmax, comparisons)
    xp = _np                # the inputs' array module (set per call only when CuPy exists)
    nout = 1                # number of outputs
    saved = None            # what forward kept for backward (``_FREED`` once released)

    # set by apply: xp, inputs, needs_input_grad, generation, outputs, saved
    def save_for_backward(self, *arrays) -> None:
        """Keep exactly what backward needs (freed after backward unless the graph is retained)."""
        self.saved = arrays

    @classmethod
    def apply(cls, *inputs, **params):
        """Run the op on ``inputs`` (tensors, arrays, scalars or None) and record it when any
        floating input requires grad and grad mode is on. Returns a Tensor or a tuple."""
        fn = _new(cls)
        if params:
            fn.__dict__.update(params)
        # fast paths: one tensor; two operands that are tensors or Python scalars the other
        # (floating) tensor absorbs as NumPy weak scalars; anything else takes _collect
        n = len(inputs)
        arrays = None
        if n == 1:
            x = inputs[0]
            if isinstance(x, Tensor):
                arrays = (x.data,)
                need = None
                if x._requires_grad:
                    need = _NEED1
                    c = x._creator
                    gen = 0 if c is None else c.generation + 1
        elif n == 2:
            a, b = inputs
            if isinstance(a, Tensor):
                if isinstance(b, Tensor):
                    arrays = (a.data, b.data)
                    ga, gb = a._requires_grad, b._requires_grad
                elif type(b) is int or type(b) is float and a.data.dtype.kind == "f":
                    arrays = (a.data, b)
                    ga, gb = a._requires_grad, False
            elif isinstance(b, Tensor) and (
                    type(a) is int or type(a) is float and b.data.dtype.kind == "f"):
                arrays = (a, b.data)
                ga, gb = False, b._requires_grad
            if arrays is not None:
                need = None
                if ga or gb:
                    need = _NEED2[ga][gb]
                    gen = 0
                    if ga:
                        c = a._creator
                        if c is not None:
                            gen = c.generation + 1
                    if gb:
                        c = b._creator
                        if c is not None and c.generation >= gen:
                            gen = c.generation + 1
        if arrays is None:
            arrays, need, gen = _collect(inputs)
        if _HAS_CUPY:
            fn.xp = B.get_array_module(*arrays)
        record = need is not None and cls.differentiable
        if NOT_DEFAULT:  # some thread turned grad off or anomaly on: read this one's mode
            m = current_mode()
            record = record and m.grad
            if record:
                fn.needs_input_grad = need
            out = _checked_forward(fn, arrays) if m.anomaly else fn.forward(*arrays)
        else:
            if record:
                fn.needs_input_grad = need
            out = fn.forward(*arrays)
        if type(out) is not tuple:
            res = _new(Tensor)
            res.data = out
            if record:
                fn.inputs = inputs  # the engine reads only entries whose need flag is True
                fn.generation = gen
                if out.dtype.kind == "f":
                    res._requires_grad = True
                    res._creator = fn
            return res
        res = tuple([_wrap(o) for o in out])
        if record:
            fn.inputs = inputs
            fn.generation = gen
            fn.nout = len(res)
            fn.outputs = tuple([weakref.ref(o) for o in res])
            for i, o in enumerate(res):
                if o.data.dtype.kind == "f":
                    o._requires_grad = True
                    o._creator = fn
                    o._out_idx = i
        return res

    def forward(self, *arrays):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, *grad_outputs):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} has no backward")

    def release(self) -> None:
        """Free the saved arrays (called by backward unless ``retain_graph=True``)."""
        self.saved = _FREED

    @property
    def name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        return f"<{type(self).__name__}Backward>"


def _shapes(arrays) -> str:
    return ", ".join(str(tuple(a.shape)) if a is not None and hasattr(a, "shape") else "None"
                     for a in arrays)


def _checked_forward(fn, arrays):
    """Forward under ``detect_anomaly``: NumPy's warnings are silenced so the check below can
    name the op."""
    with fn.xp.errstate(all="ignore"):
        out = fn.forward(*arrays)
    outs = out if isinstance(out, tuple) else (out,)
    xp = fn.xp
    bad_in = any(a is not None and getattr(a, "dtype", None) is not None and a.dtype.kind == "f"
                 and not bool(xp.isfinite(a).all()) for a in arrays)
    for o in outs:
        if o.dtype.kind == "f" and not bool(xp.isfinite(o).all()) and not bad_in:
            raise FloatingPointError(
                f"detect_anomaly: forward of {fn.name} produced NaN/Inf from finite inputs; "
                f"input shapes ({_shapes(arrays)}), output shape {tuple(o.shape)}")
    return out


class ToDevice(Function):
    """Copy between host and GPU; the gradient travels back to the source device."""

    def forward(self, x):
        self.src = "cuda" if B.is_cupy_array(x) else "cpu"
        return B.to_device_array(x, self.device)

    def backward(self, gy):
        return (B.to_device_array(gy, self.src),)
