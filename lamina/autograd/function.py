"""``Function``: one differentiable op, forward and backward on raw arrays, side by side.

A subclass implements ``forward(self, *arrays)`` returning an array (or a tuple of arrays) and
``backward(self, *grad_outputs)`` returning one gradient per input (``None`` where an input needs
none). Keyword arguments of ``apply`` become attributes of the instance (``self.axis`` ...).
``self.xp`` is the array module of the inputs and ``self.needs_input_grad`` says which inputs
asked for a gradient, so backward can skip work. Gradients may keep broadcast dimensions: the
engine sums them back to each input's shape in one place.

Hot ops call ``apply1(Op, x)`` / ``apply2(Op, a, b)`` (same result as ``Op.apply``, less call
overhead). Per-op overhead matters: a (1,)-element op's NumPy work is ~1 microsecond.
"""

from __future__ import annotations

import weakref

from .. import backend as B
from ..errors import ShapeError
from .grad_mode import NOT_DEFAULT, current_mode
from .tensor import INPLACE_USED, Tensor

__all__ = ["Function", "ToDevice", "as_tensor_arg", "apply1", "apply2", "result_type", "TRACE"]

_np = B.np
_HAS_CUPY = B.cupy is not None
_FREED = object()
_new = object.__new__
_F32 = _np.dtype("float32")  # ``dtype is _F32`` is far cheaper than ``dtype.kind == "f"``


_ndarray = _np.ndarray
_generic = _np.generic


def _wrap(arr) -> Tensor:
    """A bare Tensor around ``arr`` (the fast path of ``Tensor(arr)``: class defaults do the
    rest). A NumPy scalar becomes a 0-d array, so ``.array`` is always an array."""
    t = _new(Tensor)
    t.array = _np.asarray(arr) if isinstance(arr, _generic) else arr
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
            arrays.append(x.array)
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


def apply1(cls, x, params=None):
    """``cls.apply(x, **params)`` without the ``*args``/``**kwargs`` packing: hot ops call it.

    Args:
        cls (type): the ``Function`` subclass.
        x: the operand (Tensor, array, scalar or None).
        params (dict | None): keyword parameters, set as attributes. Default None.

    Returns:
        Tensor (or a tuple of them for multi-output ops), exactly as ``cls.apply``.
    """
    fn = _new(cls)
    if params:
        fn.__dict__.update(params)
    if NOT_DEFAULT or _HAS_CUPY or not isinstance(x, Tensor):
        return _apply(cls, fn, (x,))
    if not (x._requires_grad and cls.differentiable):
        a = x.array
        if cls.float_op and a.dtype is not _F32 and a.dtype.kind in "biu":
            a = a.astype(B.get_default_dtype())
        return _output(fn, fn.forward(a), False)
    fn.needs_input_grad = _NEED1
    c = x._creator
    fn.generation = 0 if c is None else c.generation + 1
    fn.inputs = (x,)  # the engine reads only entries whose need flag is True
    return _recorded(fn, fn.forward(x.array))


def apply2(cls, a, b, params=None):
    """``cls.apply(a, b, **params)`` without the packing: hot binary ops call it (arguments
    and result as :func:`apply1`, with two operands ``a`` and ``b``).

    Inline fast path for two tensors, or a tensor and a Python scalar that a floating tensor
    absorbs as a NumPy weak scalar; anything else (and grad off, anomaly mode or CuPy) goes
    through the general path.
    """
    fn = _new(cls)
    if params:
        fn.__dict__.update(params)
    if NOT_DEFAULT or _HAS_CUPY:
        return _apply(cls, fn, (a, b))
    if isinstance(a, Tensor):
        xa = a.array
        if isinstance(b, Tensor):
            ga, gb = a._requires_grad, b._requires_grad
            xb = b.array
            if xa.dtype is not xb.dtype and (cls.promote or cls.float_op):
                return _apply(cls, fn, (a, b))
            scalar = False
        elif type(b) is int or type(b) is float and (
                (dt := xa.dtype) is _F32 or dt.kind == "f"):
            ga, gb = a._requires_grad, False
            xb = b
            scalar = True
        else:
            return _apply(cls, fn, (a, b))
        if cls.float_op and xa.dtype.kind in "biu":
            return _apply(cls, fn, (a, b))
    elif isinstance(b, Tensor) and (type(a) is int or type(a) is float and (
            (dt := b.array.dtype) is _F32 or dt.kind == "f")):
        ga, gb = False, b._requires_grad
        xa, xb = a, b.array
        scalar = True
    else:
        return _apply(cls, fn, (a, b))
    if not ((ga or gb) and cls.differentiable):
        try:
            return _output(fn, fn.forward(xa, xb), False)
        except ValueError as e:
            raise _broadcast_error(fn, (xa, xb), e) from None
    fn.needs_input_grad = _NEED2[ga][gb]
    if scalar and cls.scalar_grads_fit:  # no broadcasting, no promotion: nothing to check
        fn.grads_fit = True
    gen = 0
    if ga:
        c = a._creator
        if c is not None:
            gen = c.generation + 1
    if gb:
        c = b._creator
        if c is not None and c.generation >= gen:
            gen = c.generation + 1
    fn.generation = gen
    fn.inputs = (a, b)
    try:
        out = fn.forward(xa, xb)
    except ValueError as e:
        raise _broadcast_error(fn, (xa, xb), e) from None
    return _recorded(fn, out)


def _recorded(fn, out):
    """Wrap the forward result of a recorded op (the fast paths' share of :func:`_output`)."""
    if INPLACE_USED[0]:
        _snapshot(fn)
    if type(out) is not _ndarray:
        if type(out) is tuple:
            return _output(fn, out, True)
        if isinstance(out, _generic):
            out = _np.asarray(out)
    res = _new(Tensor)
    res.array = out
    dt = out.dtype
    if dt is _F32 or dt.kind == "f":  # ``is`` first: far cheaper than ``dtype.kind``
        res._requires_grad = True
        res._creator = fn
    return res


def _apply(cls, fn, inputs):
    """``Function.apply`` in general: any inputs, any grad/anomaly mode, NumPy or CuPy."""
    arrays, need, gen = _collect(inputs)
    if cls.promote is not None or cls.float_op:
        arrays = _promoted(cls, arrays, inputs)
    if _HAS_CUPY:
        fn.xp = B.get_array_module(*arrays)
    record = need is not None and cls.differentiable
    m = current_mode() if NOT_DEFAULT else None
    if m is not None:
        record = record and m.grad
    if record:
        fn.needs_input_grad = need
        fn.generation = gen
    try:
        out = (_checked_forward(fn, arrays) if m is not None and m.anomaly
               else fn.forward(*arrays))
    except ValueError as e:
        raise _broadcast_error(fn, arrays, e) from None
    if record:
        fn.inputs = inputs
        if INPLACE_USED[0]:
            _snapshot(fn)
    res = _output(fn, out, record)
    if TRACE[0] is not None:
        TRACE[0].record(fn, inputs, arrays, res)
    return res


# The active tracer of lamina.compile (None when not tracing). While it is set, NOT_DEFAULT is
# non-empty, so every op takes the general path above and is recorded with the arrays its
# forward received (what promotion made of each input: fixed for a fixed input signature).
TRACE: list = [None]


_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def _group_dtype(dts):
    """Promotion inside one priority group: the highest category wins outright (int64 with
    float32 is float32, as in PyTorch), ties promote as NumPy does."""
    top = max(_CATEGORY[d.kind] for d in dts)
    return _np.result_type(*[d for d in dts if _CATEGORY[d.kind] == top])


def result_type(*operands):
    """``torch.result_type`` over Tensors, arrays and Python scalars.

    Dimensioned tensors take priority over 0-d tensors, which take priority over Python
    scalars; a lower-priority operand changes the dtype only when its category (bool < int <
    float < complex) is higher, 0-d tensors then bringing their own dtype and Python scalars
    the default one (float32 for a float, int64 for an int).

    Returns:
        numpy.dtype: the dtype the op computes in.
    """
    dims, zero, scal = [], [], []
    for o in operands:
        if o is None:
            continue
        a = o.array if isinstance(o, Tensor) else o
        if isinstance(a, bool):
            scal.append(_np.dtype(bool))
        elif isinstance(a, int):
            scal.append(_np.dtype("int64"))
        elif isinstance(a, float):
            scal.append(B.get_default_dtype())
        elif isinstance(a, complex):
            scal.append(_np.dtype("complex64"))
        else:
            dt = getattr(a, "dtype", None)
            if dt is None:
                a = _np.asarray(a)
                dt = a.dtype
            (dims if getattr(a, "ndim", 0) else zero).append(dt)
    out = None
    for group in (dims, zero, scal):
        if not group:
            continue
        g = _group_dtype(group)
        if out is None or _CATEGORY[g.kind] > _CATEGORY[out.kind]:
            out = g
    return out


def _promoted(cls, arrays, inputs):
    """Cast the arrays of ``cls.promote`` inputs to their torch result type, and integer
    inputs of a ``float_op`` to the default float dtype (the general path only)."""
    idx = range(len(arrays)) if cls.promote == "all" else (cls.promote or ())
    if idx:
        sel = [inputs[i] if isinstance(inputs[i], (bool, int, float, complex)) else arrays[i]
               for i in idx if i < len(arrays) and arrays[i] is not None]
        # operands from ``inputs`` so 0-d tensors and Python scalars keep their priority
        sel = [x.array if isinstance(x, Tensor) else x for x in sel]
        dt = result_type(*sel)
        if dt is not None and cls.float_op and dt.kind in "biu":
            dt = B.get_default_dtype()
        if dt is not None:
            arrays = list(arrays)
            for i in idx:
                if i >= len(arrays):
                    continue
                a = arrays[i]
                if a is None or isinstance(inputs[i], (bool, int, float)):
                    continue  # Python scalars stay weak: NumPy keeps the array's dtype
                if getattr(a, "dtype", dt) != dt:
                    arrays[i] = a.astype(dt)
    elif cls.float_op:
        dt = B.get_default_dtype()
        arrays = [a.astype(dt) if getattr(a, "dtype", None) is not None and a.dtype.kind in "biu"
                  else a for a in arrays]
    return arrays


def _snapshot(fn) -> None:
    """Remember the versions of a recorded op's inputs (only once in-place ops exist)."""
    fn._versions = tuple(x._version if isinstance(x, Tensor) else 0 for x in fn.inputs)


def _output(fn, out, record):
    """Wrap the forward result(s) of ``fn``; a recorded op's floating outputs point to it."""
    if type(out) is not tuple:
        if isinstance(out, _generic):
            out = _np.asarray(out)
        res = _new(Tensor)
        res.array = out
        if record and out.dtype.kind == "f":
            res._requires_grad = True
            res._creator = fn
        return res
    res = tuple([_wrap(o) for o in out])
    if record:
        fn.nout = len(res)
        fn.outputs = tuple([weakref.ref(o) for o in res])
        for i, o in enumerate(res):
            if o.array.dtype.kind == "f":
                o._requires_grad = True
                o._creator = fn
                o._out_idx = i
    return res


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
    # True when backward returns every needed gradient already in its input's shape and dtype
    # given a gradient of the output's shape and dtype (shape- and dtype-preserving unary ops,
    # full reductions): the engine then skips its check. Leave False when unsure.
    grads_fit = False
    # True when, for a tensor and a Python scalar, the tensor's gradient fits in the same sense
    # (elementwise arithmetic: the scalar neither broadcasts nor promotes)
    scalar_grads_fit = False
    # PyTorch's type promotion: ``promote`` = indices of the inputs promoted to one dtype
    # (torch.result_type: dimensioned tensors > 0-d tensors > Python scalars, by category
    # bool < int < float), or None; ``float_op`` = integer and bool inputs compute in the
    # default float dtype (exp, sqrt, true division, sigmoid...), as in PyTorch.
    promote = None
    float_op = False

    # set by apply: xp, inputs, needs_input_grad, generation, outputs, saved
    def save_for_backward(self, *arrays) -> None:
        """Keep exactly what backward needs (freed after backward unless the graph is retained)."""
        self.saved = arrays

    @classmethod
    def apply(cls, *inputs, **params):
        """Run the op on ``inputs`` (tensors, arrays, scalars or None) and record it when any
        floating input requires grad and grad mode is on. Returns a Tensor or a tuple."""
        n = len(inputs)
        if n == 1:
            return apply1(cls, inputs[0], params)
        if n == 2:
            return apply2(cls, inputs[0], inputs[1], params)
        fn = _new(cls)
        if params:
            fn.__dict__.update(params)
        return _apply(cls, fn, inputs)

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


def _broadcast_error(fn, arrays, err):
    """NumPy's "could not be broadcast" as an error that names the op and every shape; any
    other ValueError is returned unchanged."""
    if "broadcast" not in str(err):
        return err
    return ShapeError(f"{fn.name.lower()}: expected shapes that broadcast together, got "
                      f"({_shapes(arrays)}); align them (e.g. unsqueeze, reshape) first")


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
