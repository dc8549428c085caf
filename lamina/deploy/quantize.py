"""int8 quantization: post-training static (calibrated), dynamic, and lamina's int8 path.

``quantize_static(model, calibration)`` copies the model, watches the input and output of every
``Linear``/``Conv1d``/``Conv2d`` on a few calibration batches (hooks: the original model is left
as it was) and swaps each for a quantized twin: int8 weights, symmetric per output channel; int8
activations, affine per tensor; int32 bias. The twin computes in integers (int32 accumulation)
and requantizes its output, exactly what ONNX Runtime's ``QLinearConv``/``QGemm`` do, so the
QDQ file :func:`lamina.deploy.export_onnx` writes for it agrees with lamina's own int8 path.
``quantize_dynamic`` quantizes Linear activations per batch at run time and stores LSTM
weights in int8. Quantization-aware training lives in ``lamina.deploy.qat``.
"""

from __future__ import annotations

import copy

from .. import backend as B
from .. import functional as F
from ..autograd.function import Function
from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor
from ..errors import check
from ..nn.conv import Conv1d, Conv2d
from ..nn.layers import Linear
from ..nn.module import Module
from ..nn.recurrent import LSTM
from ._graph import register
from .observers import affine_qparams, dequantize, get_observer, quantize, symmetric_qparams

np = B.np

__all__ = ["QuantizedLinear", "QuantizedConv", "QuantizedLSTM", "quantize_static",
           "quantize_dynamic", "model_size_bytes", "calibration_batches"]


def _int_accumulate(layer, xi):
    """int32 ``sum((x_q - x_zp) * w_q)`` of a Linear or a convolution (exact integer maths;
    the convolution runs on integer-valued float64 arrays through lamina's BLAS kernel, exact
    below 2**53)."""
    if layer.kind == "linear":
        return xi @ layer.w_q.astype(np.int32).T
    conv = F.conv1d if layer.kind == "conv1d" else F.conv2d
    y = conv(Tensor(xi.astype(np.float64)), Tensor(layer.w_q.astype(np.float64)), None,
             layer.stride, layer.padding, layer.dilation, layer.groups)
    return np.rint(y.array).astype(np.int32)


class QuantOp(Function):
    """One quantized layer as one op (so that the ONNX tracer sees it): ``layer`` attribute."""

    def forward(self, x):
        L = self.layer
        dyn = L.x_scale is None
        if dyn:  # dynamic: this batch's range
            sx, zx = affine_qparams(float(x.min()), float(x.max()))
        else:
            sx, zx = L.x_scale, L.x_zp
        xi = quantize(x, sx, zx).astype(np.int32) - np.int32(zx)
        acc = _int_accumulate(L, xi)
        ch = (1, -1) + (1,) * (acc.ndim - 2)
        if L.b_q is not None and not dyn:
            acc = acc + L.b_q.reshape(ch)
        mult = (np.float64(sx) * L.w_scale.astype(np.float64)).reshape(ch)
        if dyn:
            y = acc * mult
            if L.bias_f is not None:
                y = y + L.bias_f.reshape(ch)
            return y.astype(np.float32)
        q = np.clip(np.rint(acc * (mult / np.float64(L.y_scale))) + int(L.y_zp), -128, 127)
        return ((q - int(L.y_zp)) * L.y_scale).astype(np.float32)

    def backward(self, gy):  # pragma: no cover - inference only
        raise RuntimeError("quantized layers are inference-only; fine-tune with lamina.deploy."
                           "qat.prepare_qat instead")


# Weights use 7 bits (|q| <= 63), ONNX Runtime's ``reduce_range``: its AVX2 int8 kernels add
# pairs of u8*s8 products in int16 (vpmaddubsw), which saturates with full-range weights and
# made 1.6% of LeNet-5's predictions differ from exact integer maths.
W_QMAX = 63


class _QuantizedBase(Module):
    def __init__(self, float_layer, x_qparams, y_qparams):
        super().__init__()
        w = float_layer.weight.array
        self.w_scale, _ = symmetric_qparams(w, axis=0, qmax=W_QMAX)
        self.register_buffer("w_q", quantize(w, self.w_scale, 0, axis=0))
        self.register_buffer("w_scale_", self.w_scale)
        self.x_scale, self.x_zp = x_qparams if x_qparams else (None, None)
        self.y_scale, self.y_zp = y_qparams if y_qparams else (None, None)
        b = None if float_layer.bias is None else float_layer.bias.array
        self.bias_f = b
        self.b_q = None
        if b is not None and self.x_scale is not None:
            self.b_q = np.rint(b / (self.x_scale * self.w_scale)).astype(np.int32)
            self.register_buffer("b_q_", self.b_q)

    @property
    def w_q(self):
        return self._buffers["w_q"]

    def forward(self, x):
        return QuantOp.apply(x, layer=self)


class QuantizedLinear(_QuantizedBase):
    """int8 ``Linear``: per-channel symmetric int8 weight, int32 bias, int32 accumulation.

    Args:
        linear (Linear): the float layer. x_qparams, y_qparams (tuple or None): input and
            output ``(scale, zero_point)``; None for both gives dynamic quantization (input
            range per batch, float output).

    Shape:
        ``(N, in_features) -> (N, out_features)``.
    """

    kind = "linear"

    def __init__(self, linear, x_qparams=None, y_qparams=None):
        super().__init__(linear, x_qparams, y_qparams)


class QuantizedConv(_QuantizedBase):
    """int8 ``Conv1d``/``Conv2d`` (arguments as :class:`QuantizedLinear`).

    Shape:
        as the float convolution.
    """

    def __init__(self, conv, x_qparams=None, y_qparams=None):
        super().__init__(conv, x_qparams, y_qparams)
        check(isinstance(conv.padding, tuple), "QuantizedConv", "numeric padding",
              repr(conv.padding))
        self.kind = "conv1d" if isinstance(conv, Conv1d) else "conv2d"
        self.stride, self.padding = conv.stride, conv.padding
        self.dilation, self.groups = conv.dilation, conv.groups


class QuantizedLSTM(Module):
    """An ``LSTM`` whose weights are stored in int8 (per gate row, symmetric) and dequantized
    for each call (dynamic quantization's weight-only form for recurrent layers).

    Args:
        lstm (LSTM): the float layer (its options are kept).
    """

    def __init__(self, lstm):
        super().__init__()
        self.inner = copy.deepcopy(lstm)
        for k in ("mode", "input_size", "hidden_size", "num_layers", "bias", "batch_first",
                  "dropout", "bidirectional"):
            setattr(self, k, getattr(lstm, k))
        self.q = {}
        for name, p in list(lstm.named_parameters()):
            w = p.array
            if w.ndim == 2:
                s, _ = symmetric_qparams(w, 0)
                self.q[name] = (quantize(w, s, 0, axis=0), s)
                self.register_buffer(name.replace(".", "_") + "_q", self.q[name][0])

    def forward(self, *args, **kwargs):
        for name, (q, s) in self.q.items():
            getattr(self.inner, name).array[...] = dequantize(q, s, 0, axis=0)
        return self.inner(*args, **kwargs)


def model_size_bytes(model) -> int:
    """Bytes of every parameter and buffer (int8 tensors count 1 byte per value).

    A quantized layer counts its int8 weight, its int32 (or float, when dynamic) bias and its
    scales and zero points, not the float copies it keeps for reference.
    """
    total = 0
    for m in model.modules():
        if isinstance(m, _QuantizedBase):
            total += m.w_q.nbytes + m.w_scale.nbytes
            bias = m.b_q if m.b_q is not None else m.bias_f
            total += 0 if bias is None else bias.nbytes
            total += 0 if m.x_scale is None else 10   # two scales and zero points
        elif isinstance(m, QuantizedLSTM):
            total += sum(q.nbytes + s.nbytes for q, s in m.q.values())
            total += sum(p.array.nbytes for n, p in m.inner.named_parameters() if n not in m.q)
        elif not any(isinstance(a, QuantizedLSTM) for a in _ancestors(model, m)):
            total += sum(p.array.nbytes for p in m._parameters.values() if p is not None)
            total += sum(np.asarray(b).nbytes for b in m._buffers.values() if b is not None)
    return int(total)


def _ancestors(root, target):
    for _, m in root.named_modules():
        if isinstance(m, QuantizedLSTM) and any(c is target for c in m.inner.modules()):
            yield m


def calibration_batches(data, batch_size: int = 64, limit: int | None = None):
    """Calibration input batches (Tensors) from an array/Tensor ``X``, an ``(X, y)`` tuple or
    an iterable of batches; at most ``limit`` samples. Default: all."""
    if isinstance(data, tuple) and len(data) == 2 and not isinstance(data[0], tuple):
        data = data[0]
    if isinstance(data, Tensor) or hasattr(data, "shape"):
        arr = data.array if isinstance(data, Tensor) else np.asarray(data)
        n = len(arr) if limit is None else min(limit, len(arr))
        for i in range(0, n, batch_size):
            yield Tensor(arr[i:min(i + batch_size, n)])
        return
    seen = 0
    for b in data:
        x = b[0] if isinstance(b, (tuple, list)) else b
        x = x if isinstance(x, Tensor) else Tensor(np.asarray(x))
        if limit is not None and seen >= limit:
            return
        if limit is not None and seen + len(x) > limit:
            x = Tensor(x.array[:limit - seen])
        seen += len(x)
        yield x


def _targets(model, types):
    out = []
    for pname, parent in model.named_modules():
        for cname, child in list(parent._modules.items()):
            if isinstance(child, types):
                out.append((parent, cname, child))
    return out


def quantize_static(model, calibration, observer="minmax", batch_size: int = 64,
                    limit: int | None = None):
    """Post-training static int8 quantization of every Linear/Conv1d/Conv2d.

    Args:
        model (Module): a trained float model (left unchanged).
        calibration: calibration inputs (array/Tensor ``X``, ``(X, y)``, or batches).
        observer (str or class): activation range observer (``minmax``, ``moving_average``,
            ``percentile``, ``histogram``). Default ``"minmax"``.
        batch_size (int): calibration batch size. Default 64.
        limit (int, optional): at most this many calibration samples. Default all.

    Returns:
        Module: a quantized copy in eval mode.

    Example:
        >>> q = quantize_static(model, x_train[:512])
        >>> q(x_test).shape == model(x_test).shape
        True
    """
    q = copy.deepcopy(model).eval()
    targets = _targets(q, (Linear, Conv1d, Conv2d))
    check(bool(targets), "quantize_static", "a model with Linear or Conv layers", "none")
    obs, handles = {}, []
    for _, _, layer in targets:
        o_in, o_out = get_observer(observer), get_observer(observer)
        obs[id(layer)] = (o_in, o_out)
        handles.append(layer.register_forward_pre_hook(
            lambda m, args, o=o_in: o.observe(args[0].array)))
        handles.append(layer.register_forward_hook(
            lambda m, args, out, o=o_out: o.observe(out.array)))
    try:
        with no_grad():
            for x in calibration_batches(calibration, batch_size, limit):
                q(x)
    finally:
        for h in handles:
            h.remove()
    for parent, name, layer in targets:
        o_in, o_out = obs[id(layer)]
        cls = QuantizedLinear if isinstance(layer, Linear) else QuantizedConv
        setattr(parent, name, cls(layer, o_in.qparams(), o_out.qparams()))
    return q


def quantize_dynamic(model):
    """Dynamic int8: Linear inputs quantized per batch at run time (int32 accumulation, float
    output); LSTM weights stored in int8.

    Args:
        model (Module): a float model (left unchanged).

    Returns:
        Module: a quantized copy in eval mode.
    """
    q = copy.deepcopy(model).eval()
    for parent, name, layer in _targets(q, (Linear, LSTM)):
        setattr(parent, name, QuantizedLinear(layer) if isinstance(layer, Linear)
                else QuantizedLSTM(layer))
    return q


# ----------------------------------------------------------------------------- ONNX (QDQ)
@register("QuantOp")
def _qdq(g, op):
    """QuantizeLinear/DequantizeLinear around a float Conv/Gemm: ONNX Runtime fuses the
    pattern into QLinearConv / QGemm and runs it in int8."""
    L = op.fn.layer
    i8 = np.int8
    w = g.node("DequantizeLinear", [g.const(L.w_q, "w_int8"), g.const(L.w_scale, "w_scale"),
                                    g.const(np.zeros(L.w_scale.shape, i8), "w_zp")], axis=0)
    x = op.ins[0]
    if L.x_scale is None:   # dynamic: weight-only int8 in the file
        y = g.node("Gemm", [x, w, g.const(L.bias_f) if L.bias_f is not None else None],
                   transB=1) if L.kind == "linear" else None
        if y is None:
            raise op.fail("a static quantized conv", "a dynamic one")
        return y
    sx, zx = g.const(np.float32(L.x_scale), "x_scale"), g.const(np.int8(L.x_zp), "x_zp")
    x = g.node("DequantizeLinear", [g.node("QuantizeLinear", [x, sx, zx]), sx, zx])
    b = None
    if L.b_q is not None:
        bs = (np.float32(L.x_scale) * L.w_scale).astype(np.float32)
        b = g.node("DequantizeLinear", [g.const(L.b_q, "b_int32"), g.const(bs, "b_scale"),
                                        g.const(np.zeros(bs.shape, np.int32), "b_zp")], axis=0)
    if L.kind == "linear":
        y = g.node("Gemm", [x, w, b], transB=1)
    else:
        y = g.node("Conv", [x, w, b], group=int(L.groups), kernel_shape=list(L.w_q.shape[2:]),
                   strides=list(L.stride), dilations=list(L.dilation),
                   pads=list(L.padding) * 2)
    sy, zy = g.const(np.float32(L.y_scale), "y_scale"), g.const(np.int8(L.y_zp), "y_zp")
    return g.node("DequantizeLinear", [g.node("QuantizeLinear", [y, sy, zy]), sy, zy])
