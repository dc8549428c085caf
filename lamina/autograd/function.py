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
from .grad_mode import STATE
from .tensor import Tensor

__all__ = ["Function", "ToDevice", "as_tensor_arg"]

_np = B.np
_HAS_CUPY = B.cupy is not None
_FREED = object()


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

    # set by apply: xp, inputs, needs_input_grad, generation, outputs, saved
    def save_for_backward(self, *arrays) -> None:
        """Keep exactly what backward needs (freed after backward unless the graph is retained)."""
        self.saved = arrays

    @classmethod
    def apply(cls, *inputs, **params):
        """Run the op on ``inputs`` (tensors, arrays, scalars or None) and record it when any
        floating input requires grad and grad mode is on. Returns a Tensor or a tuple."""
        fn = cls.__new__(cls)
        if params:
            fn.__dict__.update(params)
        arrays = []
        ref = None
        any_grad = False
        for x in inputs:
            if isinstance(x, Tensor):
                if ref is None and x.data.dtype.kind == "f":
                    ref = x.data.dtype
                if x._requires_grad:
                    any_grad = True
        for x in inputs:
            if isinstance(x, Tensor):
                arrays.append(x.data)
            elif x is None:
                arrays.append(None)
            else:
                arrays.append(as_tensor_arg(x, ref))
        fn.xp = B.get_array_module(*arrays) if _HAS_CUPY else _np
        record = any_grad and cls.differentiable and STATE.grad_enabled
        if record:
            fn.needs_input_grad = tuple(isinstance(x, Tensor) and x._requires_grad
                                        for x in inputs)
        out = fn.forward(*arrays)
        if STATE.anomaly:
            _check_forward(fn, arrays, out)
        if isinstance(out, tuple):
            outs = tuple(Tensor(o) for o in out)
        else:
            outs = None
            res = Tensor(out)
        if not record:
            return outs if outs is not None else res
        fn.inputs = tuple(x if isinstance(x, Tensor) else None for x in inputs)
        gen = 0
        for x in fn.inputs:
            if x is not None and x._creator is not None and x._creator.generation >= gen:
                gen = x._creator.generation + 1
        fn.generation = gen
        if outs is None:
            if res.data.dtype.kind == "f":
                res._requires_grad = True
                res._creator = fn
            fn.outputs = (weakref.ref(res),)
            return res
        refs = []
        for i, o in enumerate(outs):
            if o.data.dtype.kind == "f":
                o._requires_grad = True
                o._creator = fn
                o._out_idx = i
            refs.append(weakref.ref(o))
        fn.outputs = tuple(refs)
        return outs

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


def _check_forward(fn, arrays, out) -> None:
    outs = out if isinstance(out, tuple) else (out,)
    xp = fn.xp
    bad_in = any(a is not None and getattr(a, "dtype", None) is not None and a.dtype.kind == "f"
                 and not bool(xp.isfinite(a).all()) for a in arrays)
    for o in outs:
        if o.dtype.kind == "f" and not bool(xp.isfinite(o).all()) and not bad_in:
            raise FloatingPointError(
                f"detect_anomaly: forward of {fn.name} produced NaN/Inf from finite inputs; "
                f"input shapes ({_shapes(arrays)}), output shape {tuple(o.shape)}")


class ToDevice(Function):
    """Copy between host and GPU; the gradient travels back to the source device."""

    def forward(self, x):
        self.src = "cuda" if B.is_cupy_array(x) else "cpu"
        return B.to_device_array(x, self.device)

    def backward(self, gy):
        return (B.to_device_array(gy, self.src),)
