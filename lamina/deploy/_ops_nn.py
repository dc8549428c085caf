"""ONNX converters for lamina's layer ops: Linear, Conv/ConvTranspose, pooling, BatchNorm,
LayerNorm, GroupNorm, Embedding, the fused recurrent layer (ONNX ``LSTM``/``GRU``/``RNN``) and
scaled dot-product attention (opset 17)."""

from __future__ import annotations

from .. import backend as B
from ._graph import register
from ._lengths import find_lengths
from ._ops import masked_softmax

np = B.np


def _weight(g, op, i):
    """The constant array behind input ``i`` (weights must be constants to be re-laid out)."""
    name = op.ins[i]
    if name not in g.consts:
        raise op.fail(f"a constant weight as input {i}", "a weight computed from the input")
    return g.consts[name]


@register("Linear")
def _linear(g, op):
    x, w, b = op.ins[0], op.ins[1], op.ins[2] if len(op.ins) > 2 else None
    if op.xs[0].ndim == 2:
        return g.node("Gemm", [x, w, b], transB=1)
    wt = g.const(np.ascontiguousarray(_weight(g, op, 1).T), "weight_t") if w in g.consts \
        else g.node("Transpose", [w], perm=[1, 0])
    y = g.node("MatMul", [x, wt])
    return y if b is None else g.node("Add", [y, b])


def _conv_attrs(geo, one_d):
    if one_d:
        return dict(strides=[geo.sw], dilations=[geo.dw], pads=[geo.pl, geo.pr])
    return dict(strides=[geo.sh, geo.sw], dilations=[geo.dh, geo.dw],
                pads=[geo.pt, geo.pl, geo.pb, geo.pr])


@register("Conv2dFn")
def _conv(g, op):
    f = op.fn
    w = op.xs[1]
    attrs = _conv_attrs(f.g, f.one_d)
    return g.node("Conv", op.ins[:3], group=int(f.groups), kernel_shape=list(w.shape[2:]),
                  **attrs)


@register("ConvTranspose2dFn")
def _conv_t(g, op):
    f, geo = op.fn, op.fn.g
    w = op.xs[1]
    k = list(w.shape[2:])
    strides = [geo.sw] if f.one_d else [geo.sh, geo.sw]
    dil = [geo.dw] if f.one_d else [geo.dh, geo.dw]
    pads = [geo.pl] if f.one_d else [geo.pt, geo.pl]
    ins, outs = op.xs[0].shape[2:], op.ys[0].shape[2:]
    opad = [o - ((i - 1) * s - 2 * p + d * (kk - 1) + 1)
            for o, i, s, p, d, kk in zip(outs, ins, strides, pads, dil, k)]
    return g.node("ConvTranspose", op.ins[:3], group=int(f.groups), kernel_shape=k,
                  strides=strides, dilations=dil, pads=pads + pads, output_padding=opad)


def _unbatched(op):
    if not getattr(op.fn, "batched", True):
        raise op.fail("a batched pooling input (N, C, ...)", "an unbatched input")


def _pool_attrs(geo, dims):
    if dims == 1:
        return dict(kernel_shape=[geo.kw], strides=[geo.sw], pads=[geo.pl, geo.pr])
    return dict(kernel_shape=[geo.kh, geo.kw], strides=[geo.sh, geo.sw],
                pads=[geo.pt, geo.pl, geo.pb, geo.pr])


@register("MaxPool2dFn")
def _maxpool(g, op):
    _unbatched(op)
    f, geo = op.fn, op.fn.g
    if f.return_indices:
        raise op.fail("max pooling without return_indices", "return_indices=True")
    dil = [geo.dw] if f.dims == 1 else [geo.dh, geo.dw]
    return g.node("MaxPool", op.ins[:1], dilations=dil, **_pool_attrs(geo, f.dims))


@register("AvgPool2dFn")
def _avgpool(g, op):
    _unbatched(op)
    f, geo = op.fn, op.fn.g
    if f.divisor_override:
        raise op.fail("average pooling without divisor_override", f"{f.divisor_override}")
    attrs = _pool_attrs(geo, f.dims)
    ceil = geo.pb > geo.pt or geo.pr > geo.pl
    if ceil:  # the overhang of ceil_mode is not padding: ONNX's ceil_mode excludes it too
        attrs["pads"] = [geo.pl, geo.pl] if f.dims == 1 else [geo.pt, geo.pl, geo.pt, geo.pl]
    return g.node("AveragePool", op.ins[:1], ceil_mode=int(ceil),
                  count_include_pad=int(f.count_include_pad), **attrs)


@register("AdaptiveMaxPool2dFn", "AdaptiveAvgPool2dFn")
def _adaptive(g, op):
    _unbatched(op)
    f = op.fn
    kind = "Max" if "Max" in op.name else "Average"
    if getattr(f, "return_indices", False):
        raise op.fail("adaptive pooling without return_indices", "return_indices=True")
    ins, outs = op.xs[0].shape[2:], op.ys[0].shape[2:]
    if all(o == 1 for o in outs):
        return g.node(f"Global{kind}Pool", op.ins[:1])
    if any(i % o for i, o in zip(ins, outs)):
        raise op.fail("adaptive pooling whose input size is a multiple of its output size",
                      f"input {tuple(ins)} to output {tuple(outs)}")
    k = [i // o for i, o in zip(ins, outs)]
    return g.node(f"{kind}Pool", op.ins[:1], kernel_shape=k, strides=k)


@register("GlobalPoolFn")
def _global_pool(g, op):
    kind = "Average" if op.fn.kind == "avg" else "Max"
    y = g.node(f"Global{kind}Pool", op.ins[:1])
    return y if op.fn.keepdim else g.node("Flatten", [y], axis=1)


@register("NearestFn")
def _nearest(g, op):
    f = op.fn
    if f.reps is None:
        raise op.fail("nearest upsampling by integer factors", "an arbitrary output size")
    scales = [1.0, 1.0] + [float(r) for r in (f.reps[1:] if f.dims == 1 else f.reps)]
    return g.node("Resize", [op.ins[0], "", g.const(np.asarray(scales, np.float32), "scales")],
                  mode="nearest", nearest_mode="floor", coordinate_transformation_mode="asymmetric")


def _vec_or(g, name, n, value, dtype):
    return name if name is not None else g.const(np.full((n,), value, dtype))


@register("BatchNorm")
def _batchnorm(g, op):
    f = op.fn
    if f.training:
        raise op.fail("BatchNorm in eval mode (running statistics)", "training=True")
    c, dt = op.xs[0].shape[1], op.xs[0].dtype
    w = _vec_or(g, op.ins[1], c, 1.0, dt)
    b = _vec_or(g, op.ins[2] if len(op.ins) > 2 else None, c, 0.0, dt)
    mean = g.const(np.asarray(f.running_mean, dt), "running_mean")
    var = g.const(np.asarray(f.running_var, dt), "running_var")
    return g.node("BatchNormalization", [op.ins[0], w, b, mean, var], epsilon=float(f.eps))


@register("LayerNorm")
def _layernorm(g, op):
    k, dt = int(op.fn.k), op.xs[0].dtype
    shp = op.xs[0].shape[-k:]
    w = op.ins[1] if op.ins[1] is not None else g.const(np.ones(shp, dt))
    b = op.ins[2] if len(op.ins) > 2 and op.ins[2] is not None else g.const(np.zeros(shp, dt))
    return g.node("LayerNormalization", [op.ins[0], w, b], axis=-k, epsilon=float(op.fn.eps))


@register("GroupNorm")
def _groupnorm(g, op):
    G, dt = int(op.fn.groups), op.xs[0].dtype
    x = op.ins[0]
    nd = op.xs[0].ndim
    c = op.xs[0].shape[1]
    xg = g.node("Reshape", [x, g.ints([0, G, -1])])
    ones, zeros = g.const(np.ones(G, dt)), g.const(np.zeros(G, dt))
    y = g.node("InstanceNormalization", [xg, ones, zeros], epsilon=float(op.fn.eps))
    y = g.node("Reshape", [y, g.node("Shape", [x])])
    bshape = (c,) + (1,) * (nd - 2)
    if op.ins[1] is not None:
        y = g.node("Mul", [y, g.const(_weight(g, op, 1).reshape(bshape))])
    if len(op.ins) > 2 and op.ins[2] is not None:
        y = g.node("Add", [y, g.const(_weight(g, op, 2).reshape(bshape))])
    return y


@register("Normalize")
def _normalize(g, op):
    f, dt = op.fn, op.xs[0].dtype
    red = {2: "ReduceL2", 1: "ReduceL1"}.get(f.p)
    if red is None:
        raise op.fail("p = 1 or 2", f"p = {f.p}")
    ax = f.axis if isinstance(f.axis, (tuple, list)) else [f.axis]
    n = g.node(red, op.ins[:1], axes=[int(a) for a in ax], keepdims=1)
    return g.node("Div", [op.ins[0], g.node("Max", [n, g.const(np.asarray(f.eps, dt))])])


@register("Embedding")
def _embedding(g, op):
    ids = g.node("Cast", [op.ins[0]], to=g.onnx.TensorProto.INT64)
    return g.node("Gather", [op.ins[1], ids], axis=0)


_ORDER = {"lstm": [0, 3, 1, 2],  # torch i,f,g,o -> ONNX i,o,f,c
          "gru": [1, 0, 2],      # torch r,z,n -> ONNX z,r,h
          "rnn_tanh": [0], "rnn_relu": [0]}


def _gates(w, mode):
    """Gate blocks of a (G*H, ...) weight in ONNX's order."""
    parts = np.split(w, len(_ORDER[mode]), axis=0)
    return np.concatenate([parts[i] for i in _ORDER[mode]], 0)


def _lens_of(op, fn, x):
    """Lengths behind a recurrent layer's ``(T, N)`` mask; it must be a prefix mask."""
    T, N = (x.shape[1], x.shape[0]) if fn.batch_first else x.shape[:2]
    if fn.mask is None:
        return np.full(N, T, np.int64)
    m = np.asarray(B.to_host(fn.mask))
    lens = m.sum(0).astype(np.int64)
    if not np.array_equal(m, np.arange(T)[:, None] < lens[None, :]):
        raise op.fail("a mask that is a prefix of each sequence (lengths)",
                      "a mask with gaps (ONNX's sequence_lens cannot express it)")
    return lens


def _sequence_lens(g, op):
    """ONNX ``sequence_lens`` (int32 ``(N,)``) read from the lengths graph input."""
    L = find_lengths(g, _lens_of(op, op.fn, op.xs[0]), _lens_of(op, op.fn2, op.xs2[0]))
    if L is None:
        raise op.fail("lengths= given as a model input (a 1-D integer tensor in example_input)",
                      "lengths or a mask computed inside the model")
    key = ("seq_lens", L)
    if key not in g.cache:
        g.cache[key] = g.node("Cast", [L], to=g.onnx.TensorProto.INT32)
    return g.cache[key]


def _onnx_rnn(g, op, x, seq, reverse):
    """ONNX ``LSTM``/``GRU``/``RNN`` over ``x`` ``(T, N, I)`` with op's weights (inputs 3-6)
    and initial states (inputs 1, 2): ``(Y, Y_h[, Y_c])``, states ``(1, N, H)``."""
    mode = op.fn.mode
    h0, c0 = op.ins[1], op.ins[2]
    w_ih, w_hh = _weight(g, op, 3), _weight(g, op, 4)
    W = g.const(_gates(w_ih, mode)[None], "W")
    R = g.const(_gates(w_hh, mode)[None], "R")
    Bn = None
    if op.ins[5] is not None:
        Bn = g.const(np.concatenate([_gates(_weight(g, op, 5), mode),
                                     _gates(_weight(g, op, 6), mode)])[None], "B")
    ax0 = g.ints([0], "axes")
    h0 = None if h0 is None else g.node("Unsqueeze", [h0, ax0])
    ins = [x, W, R, Bn, seq, h0]
    attrs = dict(hidden_size=int(w_hh.shape[1]), direction="reverse" if reverse else "forward")
    if mode == "lstm":
        ins.append(None if c0 is None else g.node("Unsqueeze", [c0, ax0]))
        return g.node("LSTM", ins, n_out=3, **attrs)
    if mode == "gru":
        return g.node("GRU", ins, n_out=2, linear_before_reset=1, **attrs)
    act = "Tanh" if mode == "rnn_tanh" else "Relu"
    return g.node("RNN", ins, n_out=2, activations=[act], **attrs)


@register("RecurrentLayer")
def _recurrent(g, op):
    f = op.fn
    seq = _sequence_lens(g, op) if f.mask is not None or op.fn2.mask is not None else None
    x = op.ins[0]
    if f.batch_first:
        x = g.node("Transpose", [x], perm=[1, 0, 2])
    y, *states = _onnx_rnn(g, op, x, seq, f.reverse)
    y = g.node("Squeeze", [y, g.ints([1], "axes")])
    if f.batch_first:
        y = g.node("Transpose", [y], perm=[1, 0, 2])
    ax0 = g.ints([0], "axes")
    return [y] + [g.node("Squeeze", [s, ax0]) for s in states]


@register("RecurrentCell")
def _recurrent_cell(g, op):
    """One step (``LSTMCell``/``GRUCell``/``RNNCell``): the ONNX op over a length-1 sequence."""
    ax0 = g.ints([0], "axes")
    _, *states = _onnx_rnn(g, op, g.node("Unsqueeze", [op.ins[0], ax0]), None, False)
    return [g.node("Squeeze", [s, ax0]) for s in states]


@register("ScaledDotProductAttention")
def _sdpa(g, op):
    f = op.fn
    q, k, v, mask = op.ins[:4]
    dt = op.xs[0].dtype
    nd = op.xs[1].ndim
    perm = list(range(nd - 2)) + [nd - 1, nd - 2]
    s = g.node("MatMul", [q, g.node("Transpose", [k], perm=perm)])
    s = g.node("Mul", [s, g.const(np.asarray(f.scale, dt))])
    allowed = None
    if mask is not None:
        if op.xs[3].dtype == np.bool_:
            allowed = mask
        else:
            s = g.node("Add", [s, g.node("Cast", [mask], to=g.helper.np_dtype_to_tensor_dtype(
                np.dtype(dt)))])
    if f.causal:
        last2 = g.node("Slice", [g.node("Shape", [s]), g.ints([-2]), g.ints([2 ** 62]),
                                 g.ints([0])])
        ones = g.node("ConstantOfShape", [last2],
                      value=g.onnx.numpy_helper.from_array(np.ones(1, np.float32)))
        tril = g.node("Cast", [g.node("Trilu", [ones], upper=0)], to=g.onnx.TensorProto.BOOL)
        allowed = tril if allowed is None else g.node("And", [allowed, tril])
    if allowed is None:
        p = g.node("Softmax", [s], axis=-1)
    else:
        p = masked_softmax(g, s, allowed, -1, dt)
    out = g.node("MatMul", [p, v])
    return [out, p] if f.return_weights else [out]
