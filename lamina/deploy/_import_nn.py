"""Layer ops of :func:`lamina.deploy.load_onnx`: Gemm, Conv, ConvTranspose, pooling,
normalization, activations with attributes, reductions, LSTM/GRU/RNN, Resize, Pad."""

from __future__ import annotations

from .. import backend as B
from .. import functional as F
from ..autograd.tensor import Tensor
from ..errors import op_error
from ._import_ops import host, impl, is_host, ten

np = B.np


@impl("Gemm")
def _gemm(n, v, a):
    x, w = ten(v[0]), ten(v[1])
    if a.get("transA", 0):
        x = F.transpose(x, 0, 1)
    al, be = a.get("alpha", 1.0), a.get("beta", 1.0)
    b = v[2] if len(v) > 2 else None
    if a.get("transB", 0) and al == 1.0 and (b is None or (be == 1.0 and b.ndim == 1)):
        return F.linear(x, w, b)
    y = F.matmul(x, F.transpose(w, 0, 1) if a.get("transB", 0) else w)
    if al != 1.0:
        y = y * al
    if b is not None:
        y = y + (ten(b) * be if be != 1.0 else ten(b))
    return y


def _sym_pads(pads, k):
    """``(padding per dim, extra pad for F.pad or None)`` from ONNX begin/end pads."""
    begin, end = pads[:k], pads[k:]
    if list(begin) == list(end):
        return tuple(begin), None
    return (0,) * k, [p for b, e in zip(begin[::-1], end[::-1]) for p in (b, e)]


def _auto_pads(a, x, kernel, strides, dil):
    ap = a.get("auto_pad", "NOTSET")
    if isinstance(ap, bytes):
        ap = ap.decode()
    k = len(kernel)
    if ap in ("NOTSET", "VALID"):
        return list(a.get("pads", [0] * 2 * k)) if ap == "NOTSET" else [0] * 2 * k
    begin, end = [], []
    for size, kk, s, d in zip(x.shape[2:], kernel, strides, dil):
        out = -(-size // s)
        total = max(0, (out - 1) * s + d * (kk - 1) + 1 - size)
        lo = total // 2 if ap == "SAME_UPPER" else total - total // 2
        begin.append(lo)
        end.append(total - lo)
    return begin + end


@impl("Conv")
def _conv(n, v, a):
    x, w = ten(v[0]), ten(v[1])
    b = ten(v[2]) if len(v) > 2 and v[2] is not None else None
    k = w.ndim - 2
    kernel = a.get("kernel_shape", list(w.shape[2:]))
    strides, dil = a.get("strides", [1] * k), a.get("dilations", [1] * k)
    pad, extra = _sym_pads(_auto_pads(a, x, kernel, strides, dil), k)
    if extra is not None:
        x = F.pad(x, tuple(extra))
    fn = {1: F.conv1d, 2: F.conv2d}.get(k)
    if fn is None:
        raise op_error("load_onnx", "Conv over 1 or 2 spatial dims", f"{k} dims")
    return fn(x, w, b, stride=tuple(strides), padding=pad, dilation=tuple(dil),
              groups=a.get("group", 1))


@impl("ConvTranspose")
def _conv_t(n, v, a):
    x, w = ten(v[0]), ten(v[1])
    b = ten(v[2]) if len(v) > 2 and v[2] is not None else None
    k = w.ndim - 2
    strides, dil = a.get("strides", [1] * k), a.get("dilations", [1] * k)
    pads = a.get("pads", [0] * 2 * k)
    if list(pads[:k]) != list(pads[k:]) or "output_shape" in a:
        raise op_error("load_onnx", "ConvTranspose with symmetric pads", f"pads {pads}")
    fn = {1: F.conv_transpose1d, 2: F.conv_transpose2d}[k]
    return fn(x, w, b, stride=tuple(strides), padding=tuple(pads[:k]),
              output_padding=tuple(a.get("output_padding", [0] * k)),
              groups=a.get("group", 1), dilation=tuple(dil))


def _pool(n, v, a, kind):
    x = ten(v[0])
    kernel = a["kernel_shape"]
    k = len(kernel)
    strides = a.get("strides", [1] * k)
    dil = a.get("dilations", [1] * k)
    pads = _auto_pads(a, x, kernel, strides, dil)
    pad, extra = _sym_pads(pads, k)
    if extra is not None:
        if kind == "avg" and not a.get("count_include_pad", 0):
            raise op_error("load_onnx", "AveragePool with symmetric pads", f"pads {pads}")
        x = F.pad(x, tuple(extra), value=-np.inf if kind == "max" else 0.0)
    ceil = bool(a.get("ceil_mode", 0))
    if kind == "max":
        fn = F.max_pool1d if k == 1 else F.max_pool2d
        return fn(x, tuple(kernel), tuple(strides), pad, tuple(dil), ceil_mode=ceil)
    fn = F.avg_pool1d if k == 1 else F.avg_pool2d
    return fn(x, tuple(kernel), tuple(strides), pad, ceil_mode=ceil,
              count_include_pad=bool(a.get("count_include_pad", 0)))


@impl("MaxPool")
def _maxpool(n, v, a):
    return [_pool(n, v, a, "max"), None]


@impl("AveragePool")
def _avgpool(n, v, a):
    return _pool(n, v, a, "avg")


@impl("GlobalAveragePool", "GlobalMaxPool")
def _gpool(n, v, a):
    x = ten(v[0])
    axes = tuple(range(2, x.ndim))
    return F.mean(x, dim=axes, keepdim=True) if "Average" in n else \
        F.amax(x, dim=axes, keepdim=True)


@impl("BatchNormalization")
def _bn(n, v, a):
    x, s, b, m, var = (ten(t) for t in v[:5])
    return F.batch_norm(x, m.array, var.array, s, b, training=False,
                        eps=a.get("epsilon", 1e-5))


@impl("LayerNormalization")
def _ln(n, v, a):
    x = ten(v[0])
    ax = a.get("axis", -1) % x.ndim
    b = ten(v[2]) if len(v) > 2 and v[2] is not None else None
    return F.layer_norm(x, tuple(x.shape[ax:]), ten(v[1]), b, eps=a.get("epsilon", 1e-5))


@impl("InstanceNormalization")
def _inorm(n, v, a):
    x = ten(v[0])
    y = F.group_norm(x, x.shape[1], None, None, eps=a.get("epsilon", 1e-5))
    shp = (1, -1) + (1,) * (x.ndim - 2)
    return y * F.reshape(ten(v[1]), shp) + F.reshape(ten(v[2]), shp)


@impl("Softmax", "LogSoftmax")
def _softmax(n, v, a):
    f = F.softmax if n == "Softmax" else F.log_softmax
    return f(ten(v[0]), dim=a.get("axis", -1))


@impl("LeakyRelu")
def _leaky(n, v, a):
    return F.leaky_relu(ten(v[0]), a.get("alpha", 0.01))


@impl("Elu", "Celu")
def _elu(n, v, a):
    return (F.elu if n == "Elu" else F.celu)(ten(v[0]), a.get("alpha", 1.0))


@impl("Selu")
def _selu(n, v, a):
    return F.selu(ten(v[0]))


@impl("HardSigmoid")
def _hsig(n, v, a):
    al, be = a.get("alpha", 0.2), a.get("beta", 0.5)
    return F.clip(ten(v[0]) * al + be, 0.0, 1.0)


@impl("PRelu")
def _prelu(n, v, a):
    x, s = ten(v[0]), ten(v[1])
    return F.where(x > 0, x, x * s)


@impl("Clip")
def _clip(n, v, a):
    lo = float(host(v[1])) if len(v) > 1 and v[1] is not None else a.get("min")
    hi = float(host(v[2])) if len(v) > 2 and v[2] is not None else a.get("max")
    return F.clip(ten(v[0]), lo, hi)


def _red_axes(v, a, x, axes_input):
    axes = (None if len(v) < 2 or v[1] is None else [int(q) for q in host(v[1])]) \
        if axes_input else a.get("axes")
    if axes is None or (axes_input and not axes and a.get("noop_with_empty_axes", 0)):
        return tuple(range(len(x.shape))) if axes is None else ()
    return tuple(int(q) % len(x.shape) for q in axes)


_REDUCE = {"ReduceMean": (F.mean, np.mean), "ReduceSum": (F.sum, np.sum),
           "ReduceMax": (F.amax, np.max), "ReduceMin": (F.amin, np.min),
           "ReduceProd": (F.prod, np.prod), "ReduceL2": (None, None),
           "ReduceLogSumExp": (F.logsumexp, None)}


@impl(*_REDUCE)
def _reduce(n, v, a):
    x = v[0]
    axes = _red_axes(v, a, x, n == "ReduceSum" or len(v) > 1)
    keep = bool(a.get("keepdims", 1))
    if not axes:
        return x
    if is_host(x):
        return _REDUCE[n][1](x, axis=axes, keepdims=keep)
    if n == "ReduceL2":
        return F.sqrt(F.sum(x * x, dim=axes, keepdim=keep))
    return _REDUCE[n][0](x, dim=axes, keepdim=keep)


@impl("ArgMax", "ArgMin")
def _argmax(n, v, a):
    x = host(v[0])
    r = (np.argmax if n == "ArgMax" else np.argmin)(x, axis=a.get("axis", 0),
                                                   keepdims=bool(a.get("keepdims", 1)))
    return r.astype(np.int64)


@impl("CumSum")
def _cumsum(n, v, a):
    return F.cumsum(ten(v[0]), int(host(v[1])))


@impl("Pad")
def _pad(n, v, a):
    x = ten(v[0])
    pads = [int(p) for p in host(v[1])]
    k = len(pads) // 2
    value = float(host(v[2])) if len(v) > 2 and v[2] is not None and host(v[2]).size else 0.0
    mode = a.get("mode", b"constant")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    torch_pad = [p for b, e in zip(pads[:k][::-1], pads[k:][::-1]) for p in (b, e)]
    while len(torch_pad) > 2 and torch_pad[-1] == 0 and torch_pad[-2] == 0:
        torch_pad = torch_pad[:-2]
    return F.pad(x, tuple(torch_pad), mode={"edge": "replicate", "wrap": "circular"}.get(
        mode, mode), value=value)


@impl("Resize")
def _resize(n, v, a):
    mode = a.get("mode", b"nearest")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    if mode != "nearest":
        raise op_error("load_onnx", "Resize mode 'nearest'", repr(mode))
    x = ten(v[0])
    scales = host(v[2]) if len(v) > 2 and v[2] is not None and host(v[2]).size else None
    if scales is not None:
        size = tuple(int(s * f) for s, f in zip(x.shape[2:], scales[2:]))
    else:
        size = tuple(int(s) for s in host(v[3])[2:])
    return F.interpolate(x, size=size, mode="nearest")


_FROM_ONNX = {"LSTM": ("lstm", [0, 2, 3, 1]), "GRU": ("gru", [1, 0, 2]), "RNN": ("rnn", [0])}


def _torch_gates(w, order):
    parts = F.split(w, w.shape[0] // len(order), dim=0)
    return F.cat([parts[i] for i in order], dim=0)


@impl("LSTM", "GRU", "RNN")
def _recurrent(n, v, a):
    mode, order = _FROM_ONNX[n]
    if n == "GRU" and not a.get("linear_before_reset", 0):
        raise op_error("load_onnx", "GRU with linear_before_reset=1 (PyTorch's variant)",
                       "linear_before_reset=0")
    if n == "RNN":
        acts = [x.decode() if isinstance(x, bytes) else x for x in a.get("activations",
                                                                         ["Tanh"])]
        mode = "rnn_relu" if acts[0].lower() == "relu" else "rnn_tanh"
    x, W, R = ten(v[0]), ten(v[1]), ten(v[2])
    Bv = v[3] if len(v) > 3 else None
    lens = v[4] if len(v) > 4 else None
    h0 = v[5] if len(v) > 5 else None
    c0 = v[6] if len(v) > 6 else None
    if a.get("layout", 0):
        x = F.transpose(x, 0, 1)
    direction = a.get("direction", b"forward")
    direction = direction.decode() if isinstance(direction, bytes) else direction
    dirs = [False, True] if direction == "bidirectional" else [direction == "reverse"]
    lengths = None if lens is None else [int(q) for q in host(lens)]
    ys, hs, cs = [], [], []
    for d, rev in enumerate(dirs):
        w_ih, w_hh = _torch_gates(W[d], order), _torch_gates(R[d], order)
        b_ih = b_hh = None
        if Bv is not None:
            bd = ten(Bv)[d]
            half = bd.shape[0] // 2
            b_ih, b_hh = _torch_gates(bd[:half], order), _torch_gates(bd[half:], order)
        out = F.rnn_layer(x, w_ih, w_hh, b_ih, b_hh, None if h0 is None else ten(h0)[d],
                          None if c0 is None or mode != "lstm" else ten(c0)[d], mode=mode,
                          lengths=lengths, reverse=rev)
        ys.append(F.unsqueeze(out[0], 1))
        hs.append(out[1])
        if mode == "lstm":
            cs.append(out[2])
    y = F.cat(ys, dim=1)
    if a.get("layout", 0):
        y = F.permute(y, (2, 0, 1, 3))
    res = [y, F.stack(hs, 0)]
    if mode == "lstm":
        res.append(F.stack(cs, 0))
    return res


@impl("Einsum")
def _einsum(n, v, a):
    raise op_error("load_onnx", "an op lamina implements", "Einsum")


def as_tensor(v):
    """Final outputs are Tensors (a host array becomes a constant Tensor)."""
    return v if isinstance(v, Tensor) or v is None else Tensor(np.asarray(v))
