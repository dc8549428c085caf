"""ONNX op implementations for :func:`lamina.deploy.load_onnx`, in lamina ops (differentiable).

Values flowing through an imported graph are lamina Tensors for data and host NumPy arrays for
shapes and indices (what ``Shape``, ``Gather`` on a shape, ``Concat`` of shapes... compute), so
the plumbing that exporters emit around each layer runs on the host and folds away.
"""

from __future__ import annotations

from .. import backend as B
from .. import functional as F
from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..errors import op_error

np = B.np
IMPL: dict = {}


def impl(*names):
    def deco(fn):
        for n in names:
            IMPL[n] = fn
        return fn
    return deco


def host(v):
    """A host array of a shape/index value (Tensor or array)."""
    return np.asarray(v.array if isinstance(v, Tensor) else v)


def ten(v):
    return v if isinstance(v, Tensor) else Tensor(np.asarray(v))


def is_host(v):
    return not isinstance(v, Tensor)


class Erf(Function):
    """Gauss error function (ONNX ``Erf``, used by exported GELUs)."""

    def forward(self, x):
        from ..functional.activation import _erf
        self.saved = (x,)
        return _erf(self.xp)(x).astype(x.dtype, copy=False)

    def backward(self, gy):
        (x,) = self.saved
        return (gy * (2.0 / np.sqrt(np.pi)) * self.xp.exp(-x * x),)


_EW1 = {"Relu": F.relu, "Sigmoid": F.sigmoid, "Tanh": F.tanh, "Exp": F.exp, "Log": F.log,
        "Sqrt": F.sqrt, "Neg": F.neg, "Abs": F.abs, "Sin": F.sin, "Cos": F.cos,
        "Reciprocal": F.reciprocal, "Sign": F.sign, "Softplus": F.softplus,
        "HardSwish": F.hardswish, "Floor": F.floor, "Ceil": F.ceil}
_EW2 = {"Add": F.add, "Sub": F.sub, "Mul": F.mul, "Div": F.div, "Pow": F.pow,
        "MatMul": F.matmul, "Max": F.maximum, "Min": F.minimum}
_HOST2 = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.floor_divide,
          "Equal": np.equal, "Less": np.less, "Greater": np.greater, "And": np.logical_and,
          "Or": np.logical_or, "Max": np.maximum, "Min": np.minimum}
_CMP = {"Equal": F.eq, "Less": F.lt, "Greater": F.gt, "LessOrEqual": F.le,
        "GreaterOrEqual": F.ge, "And": F.logical_and, "Or": F.logical_or}


@impl(*_EW1)
def _ew1(n, v, a):
    if is_host(v[0]) and n in ("Neg", "Abs", "Sqrt", "Floor", "Ceil"):
        return {"Neg": np.negative, "Abs": np.abs, "Sqrt": np.sqrt, "Floor": np.floor,
                "Ceil": np.ceil}[n](v[0])
    return _EW1[n](ten(v[0]))


@impl("Erf")
def _erf_op(n, v, a):
    return Erf.apply(ten(v[0]))


@impl(*_EW2)
def _ew2(n, v, a):
    x, y = v[0], v[1]
    if is_host(x) and is_host(y) and n in _HOST2:
        r = _HOST2[n](x, y)
        return r if n != "Div" or r.dtype.kind in "iu" else np.true_divide(x, y)
    if n == "Div" and x.dtype.kind in "iu" and y.dtype.kind in "iu":
        return ten(np.floor_divide(host(x), host(y)))
    if is_host(y) and isinstance(x, Tensor) and x.array.dtype.kind == "f":
        y = np.asarray(y, x.array.dtype)   # a constant operand takes the data's float dtype
    if is_host(x) and isinstance(y, Tensor) and y.array.dtype.kind == "f":
        x = np.asarray(x, y.array.dtype)
    return _EW2[n](ten(x), ten(y))


@impl(*_CMP, "LessOrEqual", "GreaterOrEqual")
def _cmp(n, v, a):
    if all(is_host(x) for x in v):
        return _HOST2[n](v[0], v[1]) if n in _HOST2 else \
            {"LessOrEqual": np.less_equal, "GreaterOrEqual": np.greater_equal}[n](v[0], v[1])
    return _CMP[n](ten(v[0]), ten(v[1]))


@impl("Not")
def _not(n, v, a):
    return np.logical_not(v[0]) if is_host(v[0]) else F.logical_not(v[0])


@impl("Identity", "Dropout")
def _identity(n, v, a):
    return v[0] if n == "Identity" else [v[0], None]


@impl("Constant")
def _constant(n, v, a):
    if "value" in a:
        return a["value"]
    for k in ("value_float", "value_int"):
        if k in a:
            return np.asarray(a[k], np.float32 if "float" in k else np.int64)
    if "value_ints" in a:
        return np.asarray(a["value_ints"], np.int64)
    if "value_floats" in a:
        return np.asarray(a["value_floats"], np.float32)
    raise op_error("load_onnx", "Constant with value/value_float(s)/value_int(s)", f"{list(a)}")


@impl("Shape")
def _shape(n, v, a):
    s = np.asarray(v[0].shape, np.int64)
    return s[a.get("start", 0):a.get("end", len(s))]


@impl("Size")
def _size(n, v, a):
    return np.asarray(int(np.prod(v[0].shape)), np.int64)


@impl("Cast")
def _cast(n, v, a):
    from onnx import helper
    dt = helper.tensor_dtype_to_np_dtype(a["to"])
    if is_host(v[0]) or (dt.kind != "f" and v[0].array.dtype.kind != "f"):
        return host(v[0]).astype(dt)
    if dt.kind != "f":
        return ten(host(v[0]).astype(dt))
    return F.astype(v[0], dt)


@impl("ConstantOfShape")
def _const_of_shape(n, v, a):
    val = a.get("value", np.zeros(1, np.float32))
    arr = np.full(tuple(int(s) for s in host(v[0])), val.reshape(-1)[0], val.dtype)
    return Tensor(arr) if arr.dtype.kind == "f" else arr


@impl("Range")
def _range(n, v, a):
    s, e, d = (host(x).item() for x in v)
    return np.arange(s, e, d, dtype=host(v[0]).dtype)


def _axes_arg(v, a, i=1):
    if len(v) > i and v[i] is not None:
        return [int(x) for x in host(v[i]).reshape(-1)]
    return a.get("axes")


@impl("Unsqueeze")
def _unsqueeze(n, v, a):
    x, axes = v[0], _axes_arg(v, a)
    nd = len(x.shape) + len(axes)
    for ax in sorted(int(q) % nd for q in axes):
        x = np.expand_dims(x, ax) if is_host(x) else F.unsqueeze(x, ax)
    return x


@impl("Squeeze")
def _squeeze(n, v, a):
    x, axes = v[0], _axes_arg(v, a)
    if axes is None:
        axes = [i for i, s in enumerate(x.shape) if s == 1]
    axes = tuple(int(q) % len(x.shape) for q in axes)
    return np.squeeze(x, axes) if is_host(x) else F.reshape(
        x, tuple(s for i, s in enumerate(x.shape) if i not in axes))


@impl("Concat")
def _concat(n, v, a):
    xs = [x for x in v if x is not None]
    if all(is_host(x) for x in xs):
        return np.concatenate([np.asarray(x).reshape(-1) if np.asarray(x).ndim == 0 else x
                               for x in xs], axis=a["axis"])
    return F.cat([ten(x) for x in xs], dim=a["axis"])


@impl("Gather")
def _gather(n, v, a):
    x, idx, ax = v[0], host(v[1]).astype(np.int64), a.get("axis", 0)
    if is_host(x):
        return np.take(x, idx, axis=ax)
    idx = np.where(idx < 0, idx + x.shape[ax], idx)
    if ax == 0 and x.ndim == 2 and idx.ndim >= 1:
        return F.embedding(Tensor(idx), x)
    if idx.ndim == 0:
        return F.getitem(x, (slice(None),) * (ax % x.ndim) + (int(idx),))
    y = F.index_select(x, ax, Tensor(idx.reshape(-1)))
    shp = x.shape[:ax % x.ndim] + idx.shape + x.shape[ax % x.ndim + 1:]
    return F.reshape(y, shp)


@impl("GatherElements")
def _gather_el(n, v, a):
    return F.gather(v[0], a.get("axis", 0), Tensor(host(v[1]).astype(np.int64)))


@impl("Transpose")
def _transpose(n, v, a):
    perm = a.get("perm") or list(range(len(v[0].shape)))[::-1]
    return np.transpose(v[0], perm) if is_host(v[0]) else F.permute(v[0], perm)


@impl("Reshape")
def _reshape(n, v, a):
    x, shp = v[0], [int(s) for s in host(v[1])]
    if not a.get("allowzero", 0):
        shp = [x.shape[i] if s == 0 else s for i, s in enumerate(shp)]
    return np.reshape(x, shp) if is_host(x) else F.reshape(x, tuple(shp))


@impl("Flatten")
def _flatten(n, v, a):
    x, ax = v[0], a.get("axis", 1) % max(len(v[0].shape), 1)
    shp = (int(np.prod(x.shape[:ax])), int(np.prod(x.shape[ax:])))
    return np.reshape(x, shp) if is_host(x) else F.reshape(x, shp)


@impl("Slice")
def _slice(n, v, a):
    x = v[0]
    starts, ends = host(v[1]), host(v[2])
    axes = host(v[3]) if len(v) > 3 and v[3] is not None else np.arange(len(starts))
    steps = host(v[4]) if len(v) > 4 and v[4] is not None else np.ones(len(starts), np.int64)
    key = [slice(None)] * len(x.shape)
    for s, e, ax, st in zip(starts, ends, axes, steps):
        dim = x.shape[int(ax)]
        s, e = int(max(min(s, 2 ** 62), -2 ** 62)), int(max(min(e, 2 ** 62), -2 ** 62))
        if st < 0:
            e = None if e < -dim else e
        key[int(ax)] = slice(s, e, int(st))
    if is_host(x):
        return x[tuple(key)]
    if any(k.step is not None and k.step < 0 for k in key):
        axes_neg = [i for i, k in enumerate(key) if k.step is not None and k.step < 0]
        if all(key[i] == slice(-1, None, -1) or key[i].start in (-1, dim - 1) for i in axes_neg):
            return F.flip(x, axes_neg)
        raise op_error("load_onnx", "Slice with step 1 or a full reversal", f"{key}")
    return F.getitem(x, tuple(key))


@impl("Expand")
def _expand(n, v, a):
    shp = tuple(int(s) for s in host(v[1]))
    x = v[0]
    out = tuple(np.broadcast_shapes(tuple(x.shape), shp))
    return np.broadcast_to(x, out) if is_host(x) else F.broadcast_to(x, out)


@impl("Tile")
def _tile(n, v, a):
    return np.tile(v[0], host(v[1])) if is_host(v[0]) else F.tile(v[0], tuple(host(v[1])))


@impl("Where")
def _where(n, v, a):
    c = host(v[0]).astype(bool) if is_host(v[0]) else v[0]
    if all(is_host(x) for x in v):
        return np.where(c, v[1], v[2])
    x, y = v[1], v[2]
    ref = next(t.array.dtype for t in (x, y) if isinstance(t, Tensor))
    x = x if isinstance(x, Tensor) else np.asarray(x, ref)
    y = y if isinstance(y, Tensor) else np.asarray(y, ref)
    return F.where(ten(c), ten(x), ten(y))


@impl("Split")
def _split(n, v, a):
    x, ax = v[0], a.get("axis", 0)
    sizes = [int(s) for s in host(v[1])] if len(v) > 1 and v[1] is not None else a.get("split")
    if sizes is None:
        k = a.get("num_outputs") or n_outputs_hint[0]
        sizes = [x.shape[ax] // k] * k
    return list(F.split(x, sizes, dim=ax))


n_outputs_hint = [1]  # set by the executor before each Split without sizes


@impl("Trilu")
def _trilu(n, v, a):
    k = int(host(v[1])) if len(v) > 1 and v[1] is not None else 0
    x = host(v[0])
    r = np.triu(x, k) if a.get("upper", 1) else np.tril(x, k)
    return r if is_host(v[0]) else Tensor(r)


@impl("Mod")
def _mod(n, v, a):
    if all(is_host(x) for x in v):
        return (np.fmod if a.get("fmod", 0) else np.mod)(v[0], v[1])
    return (F.fmod if a.get("fmod", 0) else F.remainder)(ten(v[0]), ten(v[1]))


def _qaxis(scale, x, axis):
    s = host(scale)
    if s.ndim == 0:
        return s
    shape = [1] * len(x.shape)
    shape[axis % len(x.shape)] = -1
    return s.reshape(shape)


@impl("QuantizeLinear")
def _quantize_linear(n, v, a):
    x = host(v[0])
    zp = v[2] if len(v) > 2 and v[2] is not None else np.zeros((), np.uint8)
    dt = host(zp).dtype
    lo, hi = (-128, 127) if dt == np.int8 else (0, 255)
    ax = a.get("axis", 1)
    q = np.rint(x / _qaxis(v[1], x, ax)) + _qaxis(zp, x, ax).astype(np.int32)
    return np.clip(q, lo, hi).astype(dt)


@impl("DequantizeLinear")
def _dequantize_linear(n, v, a):
    q = host(v[0])
    ax = a.get("axis", 1)
    zp = v[2] if len(v) > 2 and v[2] is not None else np.zeros((), q.dtype)
    y = (q.astype(np.int32) - _qaxis(zp, q, ax).astype(np.int32)) * _qaxis(v[1], q, ax)
    return Tensor(y.astype(np.float32))
