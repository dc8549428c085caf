"""Per-example gradients from forward activations and backward signals (Opacus' method).

A forward hook keeps each layer's input; a hook on the layer's output tensor receives the
gradient flowing back into it. For a layer ``y = x W^T + b`` the gradient of example ``n``'s own
loss is ``g_n^T x_n`` (``g_n`` the backward signal of that example), so one batched matmul over
the batch gives every example's gradient at once; convolutions do the same on unfolded patches,
embeddings scatter-add, LayerNorm multiplies by the normalised input. Recurrent layers are
re-run through step-wise ops whose gate inputs are observed the same way
(:mod:`lamina.privacy.grad_sample_rnn`). Nothing loops over examples in Python.

The model keeps its code, ``requires_grad`` flags and train/eval mode; hooks are removed with
:meth:`GradSampleModule.remove_hooks` (or on leaving :func:`per_sample_grads`).
"""

from __future__ import annotations

from .. import backend as B
from .. import nn
from ..errors import check, op_error
from ..functional.conv import _pads

__all__ = ["GradSampleModule", "per_sample_grads", "supported_layers"]

np = B.np


def _linear(m, x, gy):
    n = x.shape[0]
    x2, g2 = x.reshape(n, -1, x.shape[-1]), gy.reshape(n, -1, gy.shape[-1])
    out = {"weight": np.matmul(g2.transpose(0, 2, 1), x2)}
    if m.bias is not None:
        out["bias"] = g2.sum(1)
    return out


def _unfold(x, kernel, stride, dilation, pads):
    """(N, C, H, W) -> patches (N, C, kH, kW, OH, OW) as a strided view (no copy)."""
    pt, pb, pl, pr = pads
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr))) if any(pads) else x
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    w = np.lib.stride_tricks.sliding_window_view(xp, span, axis=(2, 3))
    w = w[:, :, ::stride[0], ::stride[1], ::dilation[0], ::dilation[1]]
    return w.transpose(0, 1, 4, 5, 2, 3)


def _conv(m, x, gy):
    one_d = x.ndim == 3
    k, s, d = m.kernel_size, m.stride, m.dilation
    pad = m.padding
    if one_d:
        x, gy = x[:, :, None, :], gy[:, :, None, :]
        k, s, d = (1, k[0]), (1, s[0]), (1, d[0])
        pad = pad if isinstance(pad, str) else (0, pad[0])
    check(getattr(m, "padding_mode", "zeros") == "zeros", "per_sample_grads",
          "a convolution with padding_mode='zeros'", repr(m.padding_mode))
    pads = _pads(pad, k, s, d, "per_sample_grads")
    patches = _unfold(x, k, s, d, pads)
    n, c = x.shape[:2]
    o, g = gy.shape[1], m.groups
    p = gy.shape[2] * gy.shape[3]
    cols = np.ascontiguousarray(patches).reshape(n, g, (c // g) * k[0] * k[1], p)
    gw = np.matmul(gy.reshape(n, g, o // g, p), cols.transpose(0, 1, 3, 2))
    out = {"weight": gw.reshape(n, *m.weight.shape)}
    if m.bias is not None:
        out["bias"] = gy.reshape(n, o, p).sum(2)
    return out


def _embedding(m, ids, gy):
    n = ids.shape[0]
    flat = ids.reshape(n, -1).astype(np.int64)
    g2 = gy.reshape(n, flat.shape[1], -1)
    grad = np.zeros((n,) + tuple(m.weight.shape), gy.dtype)
    rows = np.broadcast_to(np.arange(n)[:, None], flat.shape)
    np.add.at(grad, (rows.reshape(-1), flat.reshape(-1)), g2.reshape(-1, g2.shape[-1]))
    if m.padding_idx is not None:
        grad[:, m.padding_idx] = 0
    return {"weight": grad}


def _layer_norm(m, x, gy):
    axes = tuple(range(x.ndim - len(m.normalized_shape), x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    xhat = (x - mean) / np.sqrt(var + m.eps)
    lead = tuple(range(1, x.ndim - len(m.normalized_shape)))
    out = {}
    if m.weight is not None:
        out["weight"] = (gy * xhat).sum(axis=lead) if lead else gy * xhat
    if m.bias is not None:
        out["bias"] = gy.sum(axis=lead) if lead else gy
    return out


_RULES = {nn.Linear: _linear, nn.Conv1d: _conv, nn.Conv2d: _conv, nn.Embedding: _embedding,
          nn.LayerNorm: _layer_norm}
_MIXING = tuple(c for c in (getattr(nn, "BatchNorm1d", None), getattr(nn, "BatchNorm2d", None),
                            getattr(nn, "BatchNorm3d", None)) if c is not None)


def supported_layers() -> list:
    """Names of the layer types whose per-example gradients are computed."""
    from .grad_sample_rnn import RECURRENT
    return sorted(c.__name__ for c in (*_RULES, *RECURRENT))


class GradSampleModule:
    """Attach per-example-gradient hooks to every trainable layer of ``model``.

    After ``loss.backward()`` each trainable parameter holds ``p.grad_sample``, an array
    ``(N, *p.shape)``: the gradient of each example's own loss (Opacus' attribute name).
    Calling the wrapper calls the model. Gradients of several backward passes add up until
    :meth:`zero_grad`.

    Args:
        model (Module): a network without batch-mixing layers (BatchNorm raises; use
            GroupNorm/LayerNorm). Layers with parameters must be of a supported type
            (:func:`supported_layers`).
        loss_reduction (str): ``"mean"`` (default: the loss averages over the batch, so the
            backward signal is multiplied by the batch size) or ``"sum"``.
        ghost (bool): ghost clipping for Linear weights: keep each example's input and
            backward signal (``p.ghost_parts``) instead of its gradient; a
            :class:`~lamina.privacy.DPOptimizer` gets the norms and the clipped sum from them
            without building ``(N, out, in)`` arrays. Default False.

    Raises:
        TypeError: a layer type with parameters is not supported, or a BatchNorm is present.

    Example:
        >>> gsm = GradSampleModule(model)
        >>> F.cross_entropy(gsm(x), y).backward()
        >>> model.fc.weight.grad_sample.shape      # (N, out, in)
    """

    def __init__(self, model, loss_reduction: str = "mean", ghost: bool = False):
        from .grad_sample_rnn import RECURRENT, recurrent_hook
        check(loss_reduction in ("mean", "sum"), "GradSampleModule",
              "loss_reduction 'mean' or 'sum'", repr(loss_reduction), cls=ValueError)
        self.model, self.loss_reduction, self.ghost = model, loss_reduction, bool(ghost)
        self._handles, self.layers = [], []
        bad = []
        for name, m in model.named_modules():
            if isinstance(m, _MIXING):
                raise TypeError(f"GradSampleModule: expected no batch-mixing layers, got "
                                f"{type(m).__name__} at {name!r}; per-example gradients "
                                "need examples that do not see each other (use GroupNorm or "
                                "LayerNorm)")
            own = [p for p in m._parameters.values() if p is not None and p.requires_grad]
            if not own:
                continue
            if isinstance(m, RECURRENT):
                self._handles.append(m.register_forward_hook(recurrent_hook(self)))
            elif type(m) in _RULES or isinstance(m, tuple(_RULES)):
                self._handles.append(m.register_forward_hook(self._hook))
            else:
                bad.append(f"{name or 'model'} ({type(m).__name__})")
                continue
            self.layers.append(name)
        if bad:
            raise TypeError("GradSampleModule: expected parameters only in supported layers "
                            f"({', '.join(supported_layers())}), got parameters in "
                            f"{', '.join(bad)}")

    def __call__(self, *args, **kwargs):
        return self.model(*args, **kwargs)

    def __getattr__(self, name):  # train(), eval(), state_dict(), children ... of the model
        if name == "model":
            raise AttributeError(name)
        return getattr(self.model, name)

    def forward(self, *args, **kwargs):
        return self.model(*args, **kwargs)

    def _scale(self, n):
        return float(n) if self.loss_reduction == "mean" else 1.0

    def accumulate(self, module, grads: dict, n: int) -> None:
        """Add per-example gradients ``{param attr: (n, *shape)}`` into ``p.grad_sample``."""
        s = self._scale(n)  # the batch dimension every layer sees
        for attr, g in grads.items():
            p = module._parameters[attr]
            if p is None or not p.requires_grad:
                continue
            g = g * s if s != 1.0 else g
            g = g.astype(p.dtype, copy=False)
            prev = getattr(p, "grad_sample", None)
            p.grad_sample = g if prev is None else prev + g

    def _hook(self, module, inputs, output):
        if not output.requires_grad:
            return None
        x = inputs[0]
        x = B.to_host(getattr(x, "array", x))
        rule = _RULES.get(type(module)) or next(
            r for c, r in _RULES.items() if isinstance(module, c))
        if self.ghost and isinstance(module, nn.Linear) and module.weight.requires_grad:
            rule = self._ghost_linear

        def on_grad(g):
            self.accumulate(module, rule(module, x, g.array), x.shape[0])
        output.register_hook(on_grad)
        return None

    def _ghost_linear(self, m, x, gy):
        """Ghost clipping (Goodfellow 2015; Li et al. 2022): keep the weight's factors
        ``(x, g)`` instead of the ``(N, out, in)`` gradients; the optimizer takes norms and
        the clipped sum from them (``lamina.privacy.optimizer``)."""
        n = x.shape[0]
        x2, g2 = x.reshape(n, -1, x.shape[-1]), gy.reshape(n, -1, gy.shape[-1])
        w = m.weight
        parts = getattr(w, "ghost_parts", None) or []
        w.ghost_parts = parts + [(x2, g2 * self._scale(n))]
        return {"bias": g2.sum(1)} if m.bias is not None else {}

    def zero_grad(self) -> None:
        """Drop every ``grad_sample`` (and ghost-clipping factors)."""
        for p in self.model.parameters():
            if hasattr(p, "grad_sample"):
                p.grad_sample = None
            if hasattr(p, "ghost_parts"):
                p.ghost_parts = None

    def remove_hooks(self) -> None:
        """Detach every hook; the model is as it was."""
        for h in self._handles:
            h.remove()
        self._handles = []

    def parameters(self):
        return self.model.parameters()

    def named_parameters(self, *a, **k):
        return self.model.named_parameters(*a, **k)


def per_sample_grads(model, loss_fn, x, y, loss_reduction: str = "mean") -> dict:
    """Gradient of every example's own loss with respect to every trainable parameter.

    One forward and one backward pass of the whole batch (no loop over examples); the
    model's ``.grad`` fields are left as they were.

    Args:
        model (Module): see :class:`GradSampleModule` for the supported layers.
        loss_fn (callable): ``loss_fn(outputs, targets)``, a mean over the batch (or a sum with
            ``loss_reduction="sum"``).
        x: input batch ``(N, ...)`` (Tensor or array). y: targets ``(N, ...)``.
        loss_reduction (str): ``"mean"`` (default) or ``"sum"``.

    Returns:
        dict: parameter name (as ``model.named_parameters()``) -> array ``(N, *param.shape)``.

    Example:
        >>> g = per_sample_grads(model, F.cross_entropy, x, y)
        >>> g["0.weight"].shape
        (64, 32, 784)
    """
    from ..autograd.tensor import Tensor
    params = [(k, p) for k, p in model.named_parameters() if p.requires_grad]
    saved = {id(p): (p._grad, getattr(p, "grad_sample", None)) for _, p in params}
    gsm = GradSampleModule(model, loss_reduction)
    try:
        gsm.zero_grad()
        xt = x if isinstance(x, Tensor) else Tensor(x)
        yt = y if isinstance(y, Tensor) or y is None else Tensor(y)
        loss = loss_fn(gsm(xt), yt)
        if loss.ndim != 0 and loss.size != 1:
            raise op_error("per_sample_grads", "loss_fn returning a scalar (mean or sum)",
                           f"shape {tuple(loss.shape)}", cls=ValueError)
        loss.backward()
        out = {k: p.grad_sample for k, p in params}
    finally:
        gsm.remove_hooks()
        for _, p in params:
            p._grad, p.grad_sample = saved[id(p)]
    missing = [k for k, g in out.items() if g is None]
    if missing:
        raise op_error("per_sample_grads", "every trainable parameter to take part in the loss",
                       f"no gradient for {missing}", cls=ValueError)
    return out
