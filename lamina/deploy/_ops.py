"""ONNX converters for lamina's elementwise, shape, indexing and reduction ops (opset 17).

Each converter reads one recorded op (an :class:`~lamina.deploy._graph.OpView`) and appends the
ONNX nodes that compute it; ``lamina.deploy._ops_nn`` holds the layer ops (linear, conv,
pooling, normalization, recurrent, attention).
"""

from __future__ import annotations

from .. import backend as B
from ._graph import register

np = B.np
BIG = 2 ** 62

_UNARY = {"Neg": "Neg", "Abs": "Abs", "Exp": "Exp", "Log": "Log", "Sqrt": "Sqrt",
          "Sin": "Sin", "Cos": "Cos", "Tanh": "Tanh", "Sign": "Sign", "Sigmoid": "Sigmoid",
          "ReLU": "Relu", "Hardswish": "HardSwish", "Clone": "Identity"}
_BINARY = {"Add": "Add", "Sub": "Sub", "Mul": "Mul", "Div": "Div", "Pow": "Pow",
           "MatMul": "MatMul", "Maximum": "Max", "Minimum": "Min"}


def dyn_shape(g, op, a, b, x_shape, x_shape2, what="shape"):
    """An int64 shape input for Reshape/Expand: ``a``/``b`` are the targets of both runs.

    Dims equal in both runs are written as they are; a dim that follows a dynamic axis is 0
    (copy the input's dim at that index) when it equals the input's dim there in both runs,
    otherwise -1 (at most one).
    """
    a, b = list(a), list(b)
    if len(a) != len(b):
        raise op.fail(f"a {what} of the same rank in both traces", f"{a} and {b}")
    out = []
    free = None
    for i, (u, v) in enumerate(zip(a, b)):
        if u == v:
            out.append(int(u))
        elif i < len(x_shape) and u == x_shape[i] and v == x_shape2[i]:
            out.append(0)
        elif free is None and -1 not in a:
            free = i
            out.append(-1)
        else:
            raise op.fail(f"a {what} that is static or follows one dynamic axis",
                          f"{tuple(a)} vs {tuple(b)}")
    return g.ints(out, what)


def onnx_dtype(g, dtype):
    return g.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


@register(*_UNARY)
def _unary(g, op):
    return g.node(_UNARY[op.name], op.ins[:1])


@register(*_BINARY)
def _binary(g, op):
    return g.node(_BINARY[op.name], op.ins[:2])


@register("Log1p")
def _log1p(g, op):
    return g.node("Log", [g.node("Add", [op.ins[0], g.const(np.ones((), op.xs[0].dtype))])])


@register("Expm1")
def _expm1(g, op):
    return g.node("Sub", [g.node("Exp", op.ins[:1]), g.const(np.ones((), op.xs[0].dtype))])


@register("Rsqrt")
def _rsqrt(g, op):
    return g.node("Reciprocal", [g.node("Sqrt", op.ins[:1])])


@register("Square")
def _square(g, op):
    return g.node("Mul", [op.ins[0], op.ins[0]])


@register("Clip")
def _clip(g, op):
    dt = op.xs[0].dtype
    lo, hi = op.fn.lo, op.fn.hi
    return g.node("Clip", [op.ins[0], None if lo is None else g.const(np.asarray(lo, dt)),
                           None if hi is None else g.const(np.asarray(hi, dt))])


@register("Where")
def _where(g, op):
    cond = op.ins[0]
    if op.xs[0].dtype != np.bool_:
        cond = g.node("Cast", [cond], to=g.onnx.TensorProto.BOOL)
    return g.node("Where", [cond, op.ins[1], op.ins[2]])


@register("Cast")
def _cast(g, op):
    return g.node("Cast", op.ins[:1], to=onnx_dtype(g, op.ys[0].dtype))


@register("LeakyReLU")
def _leaky(g, op):
    return g.node("LeakyRelu", op.ins[:1], alpha=float(op.fn.slope))


@register("ELU")
def _elu(g, op):
    a, s, i = float(op.fn.alpha), float(op.fn.scale), float(op.fn.input_scale)
    if s == 1.0 and i == 1.0:
        return g.node("Elu", op.ins[:1], alpha=a)
    if i == 1.0:
        return g.node("Selu", op.ins[:1], alpha=a, gamma=s)
    return g.node("Celu", op.ins[:1], alpha=a)


@register("GELU")
def _gelu(g, op):
    x, dt = op.ins[0], op.xs[0].dtype

    def c(v):
        return g.const(np.asarray(v, dt))
    if op.fn.approximate == "tanh":
        cube = g.node("Mul", [g.node("Mul", [x, x]), x])
        inner = g.node("Add", [x, g.node("Mul", [cube, c(0.044715)])])
        t = g.node("Tanh", [g.node("Mul", [inner, c(np.sqrt(2.0 / np.pi))])])
    else:
        t = g.node("Erf", [g.node("Mul", [x, c(np.sqrt(0.5))])])
    return g.node("Mul", [g.node("Mul", [x, c(0.5)]), g.node("Add", [t, c(1.0)])])


@register("Softplus")
def _softplus(g, op):
    x, dt = op.ins[0], op.xs[0].dtype
    beta, thr = float(op.fn.beta), float(op.fn.threshold)
    bx = x if beta == 1.0 else g.node("Mul", [x, g.const(np.asarray(beta, dt))])
    sp = g.node("Softplus", [bx])
    if beta != 1.0:
        sp = g.node("Div", [sp, g.const(np.asarray(beta, dt))])
    big = g.node("Greater", [bx, g.const(np.asarray(thr, dt))])
    return g.node("Where", [big, x, sp])


@register("SiLU")
def _silu(g, op):
    return g.node("Mul", [op.ins[0], g.node("Sigmoid", op.ins[:1])])


@register("Mish")
def _mish(g, op):
    return g.node("Mul", [op.ins[0], g.node("Tanh", [g.node("Softplus", op.ins[:1])])])


@register("Hardtanh")
def _hardtanh(g, op):
    x, dt = op.ins[0], op.xs[0].dtype
    f = op.fn
    if f.shift:
        x = g.node("Add", [x, g.const(np.asarray(f.shift, dt))])
    y = g.node("Clip", [x, g.const(np.asarray(f.lo, dt)), g.const(np.asarray(f.hi, dt))])
    if f.scale != 1:
        y = g.node("Mul", [y, g.const(np.asarray(f.scale, dt))])
    return y


@register("PReLU")
def _prelu(g, op):
    w = op.xs[1]
    nd = op.xs[0].ndim
    slope = w.reshape((-1,) + (1,) * (nd - 2)) if w.size > 1 else w.reshape(())
    return g.node("PRelu", [op.ins[0], g.const(slope, "slope")])


@register("Softmax")
def _softmax(g, op):
    x = op.ins[0] if op.fn.sign == 1 else g.node("Neg", op.ins[:1])
    return g.node("Softmax", [x], axis=int(op.fn.axis))


@register("LogSoftmax")
def _log_softmax(g, op):
    return g.node("LogSoftmax", op.ins[:1], axis=int(op.fn.axis))


def masked_softmax(g, s, allowed, axis, dtype):
    """Softmax over ``allowed`` (bool) entries; a fully masked row gives zeros (as lamina)."""
    neg = g.const(np.asarray(np.finfo(dtype).min, dtype))
    p = g.node("Softmax", [g.node("Where", [allowed, s, neg])], axis=axis)
    return g.node("Mul", [p, g.node("Cast", [allowed], to=onnx_dtype(g, dtype))])


@register("MaskedSoftmax")
def _masked_softmax(g, op):
    m = op.ins[1]
    if op.xs[1].dtype != np.bool_:
        m = g.node("Cast", [m], to=g.onnx.TensorProto.BOOL)
    return masked_softmax(g, op.ins[0], m, int(op.fn.axis), op.xs[0].dtype)


@register("Reshape")
def _reshape(g, op):
    a, b = op.ys[0].shape, op.ys2[0].shape
    return g.node("Reshape", [op.ins[0], dyn_shape(g, op, a, b, op.xs[0].shape,
                                                   op.xs2[0].shape)])


@register("Permute")
def _permute(g, op):
    return g.node("Transpose", op.ins[:1], perm=[int(a) for a in op.fn.axes])


@register("BroadcastTo")
def _expand(g, op):
    a, b = op.ys[0].shape, op.ys2[0].shape
    xs, xs2 = op.xs[0].shape, op.xs2[0].shape
    pad = len(a) - len(xs)
    xs, xs2 = (1,) * pad + tuple(xs), (1,) * pad + tuple(xs2)
    # a dim the input already has in both runs is kept by Expand's broadcasting with 1
    a = [1 if u == xs[i] and b[i] == xs2[i] else u for i, u in enumerate(a)]
    b = [1 if v == xs2[i] and a[i] == 1 else v for i, v in enumerate(b)]
    return g.node("Expand", [op.ins[0], dyn_shape(g, op, a, b, xs, xs2)])


@register("Tile")
def _tile(g, op):
    reps, reps2 = op.attr("reps")
    if tuple(reps) != tuple(reps2):
        raise op.fail("static repeat counts", f"{reps} vs {reps2}")
    x = op.ins[0]
    pad = len(reps) - op.xs[0].ndim
    if pad > 0:
        x = g.node("Reshape", [x, g.ints((1,) * pad + tuple(op.xs[0].shape))])
    return g.node("Tile", [x, g.ints(reps)])


@register("Cat")
def _cat(g, op):
    return g.node("Concat", op.ins, axis=int(op.fn.axis))


@register("Stack")
def _stack(g, op):
    ax = g.ints([int(op.fn.axis)], "axes")
    return g.node("Concat", [g.node("Unsqueeze", [i, ax]) for i in op.ins], axis=int(op.fn.axis))


@register("Split")
def _split(g, op):
    f, ax = op.fn, int(op.fn.axis)
    if f.unbind:
        n = op.xs[0].shape[ax]
        parts = g.node("Split", [op.ins[0], g.ints([1] * n)], n_out=n, axis=ax)
        parts = [parts] if n == 1 else parts
        return [g.node("Squeeze", [p, g.ints([ax], "axes")]) for p in parts]
    if list(f.sizes) != list(op.fn2.sizes):
        raise op.fail("split sizes that do not depend on a dynamic axis",
                      f"{f.sizes} vs {op.fn2.sizes}")
    n = len(f.sizes)
    out = g.node("Split", [op.ins[0], g.ints(f.sizes)], n_out=n, axis=ax)
    return [out] if n == 1 else out


@register("Pad")
def _pad(g, op):
    pad, mode = op.fn.pad, op.fn.mode
    x = op.ins[0]
    if mode == "circular":
        for d, (lo, hi) in enumerate(pad):
            parts = []
            if lo:
                parts.append(g.node("Slice", [x, g.ints([-lo]), g.ints([BIG]), g.ints([d])]))
            parts.append(x)
            if hi:
                parts.append(g.node("Slice", [x, g.ints([0]), g.ints([hi]), g.ints([d])]))
            if len(parts) > 1:
                x = g.node("Concat", parts, axis=d)
        return x
    pads = g.ints([p[0] for p in pad] + [p[1] for p in pad], "pads")
    onnx_mode = {"constant": "constant", "reflect": "reflect", "replicate": "edge"}[mode]
    ins = [x, pads]
    if mode == "constant":
        ins.append(g.const(np.asarray(op.fn.value or 0, op.xs[0].dtype)))
    return g.node("Pad", ins, mode=onnx_mode)


@register("Flip")
def _flip(g, op):
    axes = list(op.fn.axes)
    n = len(axes)
    return g.node("Slice", [op.ins[0], g.ints([-1] * n), g.ints([-BIG] * n), g.ints(axes),
                            g.ints([-1] * n)])


def _slice_bound(op, v, v2, d, d2, stop):
    """A slice bound valid in both runs: as is, or counted from the (dynamic) end."""
    if v == v2:
        return v
    if v - d == v2 - d2:
        return BIG if (stop and v == d) else v - d
    raise op.fail("slice bounds that are static or relative to the end",
                  f"{v} (dim {d}) vs {v2} (dim {d2})")


def _key(key):
    return key if isinstance(key, tuple) else (key,)


@register("GetItem")
def _getitem(g, op):
    key, key2 = _key(op.fn.key), _key(op.fn2.key)
    shp, shp2 = op.xs[0].shape, op.xs2[0].shape
    if any(k is Ellipsis for k in key):
        i = key.index(Ellipsis)
        fill = len(shp) - (len(key) - 1 - sum(k is None for k in key))
        key = key[:i] + (slice(None),) * fill + key[i + 1:]
        key2 = key2[:i] + (slice(None),) * fill + key2[i + 1:]
    x = op.ins[0]
    starts, ends, axes, steps, squeeze, unsq = [], [], [], [], [], []
    d = 0          # input axis
    out_axis = 0   # output axis, for None (new axis)
    gathers = []
    for k, k2 in zip(key, key2):
        if k is None:
            unsq.append(out_axis)
            out_axis += 1
            continue
        n, n2 = shp[d], shp2[d]
        if isinstance(k, slice):
            st, sp, sd = k.indices(n)
            st2, sp2, _ = k2.indices(n2)
            if (st, sp, sd) != (0, n, 1) or (st2, sp2) != (0, n2):
                if sd < 0:
                    raise op.fail("slices with a positive step", repr(k))
                starts.append(_slice_bound(op, st, st2, n, n2, False))
                ends.append(_slice_bound(op, sp, sp2, n, n2, True))
                axes.append(d)
                steps.append(sd)
            out_axis += 1
        elif isinstance(k, (int, np.integer)):
            i, i2 = int(k) % n, int(k2) % n2
            i = _slice_bound(op, i, i2, n, n2, False)
            starts.append(i)
            ends.append(i + 1 if i != -1 else BIG)
            axes.append(d)
            steps.append(1)
            squeeze.append(d)
        else:
            arr = np.asarray(k)
            if arr.dtype == np.bool_ or arr.ndim != 1 or not np.array_equal(arr, np.asarray(k2)):
                raise op.fail("basic indexing or one static 1-D integer index array",
                              f"an index of dtype {arr.dtype} and shape {arr.shape}")
            gathers.append((d, arr.astype(np.int64)))
            out_axis += 1
        d += 1
    if starts:
        x = g.node("Slice", [x, g.ints(starts), g.ints(ends), g.ints(axes), g.ints(steps)])
    for ax, idx in gathers:
        x = g.node("Gather", [x, g.const(idx, "index")], axis=ax)
    if squeeze:
        x = g.node("Squeeze", [x, g.ints(squeeze, "axes")])
    if unsq:
        x = g.node("Unsqueeze", [x, g.ints(unsq, "axes")])
    return x


@register("Gather")
def _gather(g, op):
    idx = g.node("Cast", [op.ins[1]], to=g.onnx.TensorProto.INT64)
    return g.node("GatherElements", [op.ins[0], idx], axis=int(op.fn.axis))


@register("IndexSelect")
def _index_select(g, op):
    idx = g.node("Cast", [op.ins[1]], to=g.onnx.TensorProto.INT64)
    return g.node("Gather", [op.ins[0], idx], axis=int(op.fn.axis))


@register("MaskedFill")
def _masked_fill(g, op):
    m = op.ins[1]
    if op.xs[1].dtype != np.bool_:
        m = g.node("Cast", [m], to=g.onnx.TensorProto.BOOL)
    v = g.node("Cast", [op.ins[2]], to=onnx_dtype(g, op.xs[0].dtype))
    return g.node("Where", [m, v, op.ins[0]])
