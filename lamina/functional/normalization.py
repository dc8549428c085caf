"""Normalization ops, each one fused ``Function`` (seed Q14/Q16).

``batch_norm`` normalizes over every dimension but the channel dimension 1 and, in training,
updates the running statistics in place (PyTorch's convention: the running variance uses the
unbiased batch variance, the normalization itself the biased one). ``layer_norm`` normalizes over
the trailing ``normalized_shape`` dimensions, ``group_norm`` over channel groups. All backward
passes use the closed form

    dx = inv_std / n * (n * g - sum(g) - x_hat * sum(g * x_hat)),   g = dy * weight

where the sums run over the normalized dimensions; ``dweight = sum(dy * x_hat)``,
``dbias = sum(dy)`` over every dimension but the channel one.
"""

from __future__ import annotations

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..errors import op_error
from ._util import register_methods, unwrap

__all__ = ["batch_norm", "layer_norm", "group_norm", "normalize"]


def _norm_dx(g, x_hat, inv_std, axes, n):
    """Closed-form input gradient of ``(x - mean) * inv_std`` over ``axes`` (``n`` elements)."""
    sg = g.sum(axis=axes, keepdims=True)
    sgx = (g * x_hat).sum(axis=axes, keepdims=True)
    return (inv_std * (1.0 / n)) * (n * g - sg - x_hat * sgx)


def _channel_shape(ndim):
    """Broadcast shape of a per-channel vector against an (N, C, ...) array."""
    return (1, -1) + (1,) * (ndim - 2)


def update_running_stats(rm, rv, momentum, mean, var, unbiased_factor) -> None:
    """BatchNorm's running estimates, updated in place (either may be None): the batch mean,
    and the batch variance times ``unbiased_factor`` (``n / (n - 1)``), as PyTorch."""
    m = momentum
    if rm is not None:
        rm[...] = (1.0 - m) * rm + m * mean.reshape(-1).astype(rm.dtype, copy=False)
    if rv is not None:
        unbiased = var.reshape(-1) * unbiased_factor
        rv[...] = (1.0 - m) * rv + m * unbiased.astype(rv.dtype, copy=False)


def normalize_affine(xc, inv_std, weight, bias, cshape):
    """``x_hat = xc * inv_std`` and ``y = x_hat * weight + bias`` (per channel, either may be
    None). Returns ``(x_hat, y)``."""
    x_hat = xc * inv_std
    y = x_hat
    if weight is not None:
        y = y * weight.reshape(cshape)
    if bias is not None:
        y = y + bias.reshape(cshape)
    return x_hat, y


class BatchNorm(Function):
    def forward(self, x, weight, bias):
        xp = self.xp
        axes = (0,) + tuple(range(2, x.ndim))
        cshape = _channel_shape(x.ndim)
        if self.training:
            n = x.size // x.shape[1]
            mean = x.mean(axis=axes, keepdims=True)
            xc = x - mean
            var = (xc * xc).mean(axis=axes, keepdims=True)
            inv_std = 1.0 / xp.sqrt(var + self.eps)
            update_running_stats(self.running_mean, self.running_var, self.momentum, mean,
                                 var, n / (n - 1))
        else:
            n = None
            mean = self.running_mean.astype(x.dtype, copy=False).reshape(cshape)
            xc = x - mean
            var = self.running_var.astype(x.dtype, copy=False).reshape(cshape)
            inv_std = 1.0 / xp.sqrt(var + self.eps)
        x_hat, y = normalize_affine(xc, inv_std, weight, bias, cshape)
        self.saved = (x_hat, inv_std, weight)
        self.n, self.axes, self.cshape = n, axes, cshape
        return y

    def backward(self, gy):
        x_hat, inv_std, weight = self.saved
        need_x, need_w, need_b = self.needs_input_grad
        gx = gw = gb = None
        if need_w:
            gw = (gy * x_hat).sum(axis=self.axes)
        if need_b:
            gb = gy.sum(axis=self.axes)
        if need_x:
            g = gy if weight is None else gy * weight.reshape(self.cshape)
            if self.n is None:  # running statistics are constants
                gx = g * inv_std
            else:
                gx = _norm_dx(g, x_hat, inv_std, self.axes, self.n)
        return gx, gw, gb


class LayerNorm(Function):
    def forward(self, x, weight, bias):
        axes = tuple(range(x.ndim - self.k, x.ndim))
        mean = x.mean(axis=axes, keepdims=True)
        xc = x - mean
        var = (xc * xc).mean(axis=axes, keepdims=True)
        inv_std = 1.0 / self.xp.sqrt(var + self.eps)
        x_hat = xc * inv_std
        y = x_hat
        if weight is not None:
            y = y * weight
        if bias is not None:
            y = y + bias
        self.saved = (x_hat, inv_std, weight)
        self.axes = axes
        self.n = 1
        for a in axes:
            self.n *= x.shape[a]
        return y

    def backward(self, gy):
        x_hat, inv_std, weight = self.saved
        need_x, need_w, need_b = self.needs_input_grad
        lead = tuple(range(gy.ndim - self.k))
        gw = (gy * x_hat).sum(axis=lead) if need_w else None
        gb = gy.sum(axis=lead) if need_b else None
        gx = None
        if need_x:
            g = gy if weight is None else gy * weight
            gx = _norm_dx(g, x_hat, inv_std, self.axes, self.n)
        return gx, gw, gb


class GroupNorm(Function):
    def forward(self, x, weight, bias):
        N, C = x.shape[:2]
        G = self.groups
        xg = x.reshape(N, G, -1)
        mean = xg.mean(axis=2, keepdims=True)
        xc = xg - mean
        var = (xc * xc).mean(axis=2, keepdims=True)
        inv_std = 1.0 / self.xp.sqrt(var + self.eps)
        x_hat = (xc * inv_std).reshape(x.shape)
        cshape = _channel_shape(x.ndim)
        y = x_hat
        if weight is not None:
            y = y * weight.reshape(cshape)
        if bias is not None:
            y = y + bias.reshape(cshape)
        self.saved = (x_hat, inv_std, weight)
        self.cshape = cshape
        return y

    def backward(self, gy):
        x_hat, inv_std, weight = self.saved
        need_x, need_w, need_b = self.needs_input_grad
        axes = (0,) + tuple(range(2, gy.ndim))
        gw = (gy * x_hat).sum(axis=axes) if need_w else None
        gb = gy.sum(axis=axes) if need_b else None
        gx = None
        if need_x:
            g = gy if weight is None else gy * weight.reshape(self.cshape)
            N = gy.shape[0]
            g3 = g.reshape(N, self.groups, -1)
            xh3 = x_hat.reshape(N, self.groups, -1)
            gx = _norm_dx(g3, xh3, inv_std, (2,), g3.shape[2]).reshape(gy.shape)
        return gx, gw, gb


class Normalize(Function):
    def forward(self, x):
        xp, p = self.xp, self.p
        ax = self.axis
        a = xp.abs(x)
        if p == 2:
            nrm = xp.sqrt((x * x).sum(axis=ax, keepdims=True))
        elif p == float("inf"):
            nrm = a.max(axis=ax, keepdims=True)
        else:
            nrm = (a ** p).sum(axis=ax, keepdims=True) ** (1.0 / p)
        d = xp.maximum(nrm, self.eps)
        self.saved = (x, nrm, d)
        return x / d

    def backward(self, gy):
        x, nrm, d = self.saved
        xp, p = self.xp, self.p
        gx = gy / d
        active = nrm > self.eps  # below eps the denominator is the constant eps
        if p == 2:
            dn = x / xp.where(active, nrm, 1)
        elif p == float("inf"):
            a = xp.abs(x)
            dn = xp.sign(x) * (a == nrm)
        else:
            safe = xp.where(active, nrm, 1)
            dn = xp.sign(x) * (xp.abs(x) / safe) ** (p - 1)
        coef = (gy * x).sum(axis=self.axis, keepdims=True) / (d * d)
        return (gx - xp.where(active, coef, 0) * dn,)


def _vec(v, name, C, op):
    """Check that an optional per-channel argument has ``C`` elements."""
    if v is None:
        return None
    shape = tuple(unwrap(v).shape)
    if shape != (C,):
        raise op_error(op, f"{name} of shape ({C},) (one value per channel)", f"{shape}")
    return v


def batch_norm(x, running_mean=None, running_var=None, weight=None, bias=None,
               training=False, momentum=0.1, eps=1e-5):
    """Batch normalization over every dimension but the channel dimension 1.

    In training, normalizes with the batch statistics and, when running statistics are given,
    updates them in place: ``running = (1 - momentum) * running + momentum * batch`` (the
    variance term unbiased, as PyTorch). Otherwise normalizes with the running statistics.

    Args:
        x (Tensor): input of shape (N, C) or (N, C, *).
        running_mean, running_var (Tensor | array | None): per-channel running statistics,
            shape (C,), updated in place when ``training``. Required when ``training=False``.
        weight, bias (Tensor | None): per-channel affine parameters, shape (C,). Default None.
        training (bool): use batch statistics (True) or the running ones (False). Default False.
        momentum (float): running-average factor. Default 0.1.
        eps (float): added to the variance. Default 1e-5.

    Returns:
        Tensor: same shape and dtype as ``x``.

    Shape:
        (N, C) or (N, C, L) or (N, C, H, W) ...; statistics per channel C.

    Example:
        >>> y = F.batch_norm(x, rm, rv, gamma, beta, training=True)
    """
    shape = tuple(unwrap(x).shape)
    if len(shape) < 2:
        raise op_error("batch_norm", "input of shape (N, C, *) with at least 2 dimensions",
                       f"{shape}")
    C = shape[1]
    rm, rv = unwrap(running_mean), unwrap(running_var)
    for name, v in (("running_mean", rm), ("running_var", rv), ("weight", weight),
                    ("bias", bias)):
        _vec(v, name, C, "batch_norm")
    if training:
        n = 1
        for i, s in enumerate(shape):
            n *= 1 if i == 1 else s
        if n <= 1:
            raise op_error("batch_norm", "more than 1 value per channel when training",
                           f"input of shape {shape}",
                           "use a batch of at least 2 samples, or call model.eval()")
    elif rm is None or rv is None:
        raise op_error("batch_norm", "running_mean and running_var when training=False",
                       "None", "pass training=True to normalize with batch statistics")
    return BatchNorm.apply(x, weight, bias, running_mean=rm, running_var=rv,
                           training=bool(training), momentum=float(momentum), eps=float(eps))


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Layer normalization over the trailing ``normalized_shape`` dimensions.

    Args:
        x (Tensor): input whose last dimensions equal ``normalized_shape``.
        normalized_shape (int | tuple): the normalized trailing shape.
        weight, bias (Tensor | None): elementwise affine parameters of shape
            ``normalized_shape``. Default None.
        eps (float): added to the variance. Default 1e-5.

    Returns:
        Tensor: same shape and dtype as ``x``.

    Shape:
        (*, *normalized_shape) -> same.

    Example:
        >>> y = F.layer_norm(x, (512,), gamma, beta)
    """
    ns = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    shape = tuple(unwrap(x).shape)
    if len(ns) == 0 or len(shape) < len(ns) or shape[len(shape) - len(ns):] != ns:
        raise op_error("layer_norm", f"input whose trailing dimensions are {ns} "
                       "(normalized_shape)", f"input of shape {shape}")
    for name, v in (("weight", weight), ("bias", bias)):
        if v is not None and tuple(unwrap(v).shape) != ns:
            raise op_error("layer_norm", f"{name} of shape {ns}", f"{tuple(unwrap(v).shape)}")
    return LayerNorm.apply(x, weight, bias, k=len(ns), eps=float(eps))


def group_norm(x, num_groups, weight=None, bias=None, eps=1e-5):
    """Group normalization: channels split into ``num_groups`` groups, each normalized over
    its channels and spatial positions, per sample.

    Args:
        x (Tensor): input of shape (N, C, *), C divisible by ``num_groups``.
        num_groups (int): number of groups.
        weight, bias (Tensor | None): per-channel affine parameters (C,). Default None.
        eps (float): added to the variance. Default 1e-5.

    Returns:
        Tensor: same shape and dtype as ``x``.

    Shape:
        (N, C, *) -> same.
    """
    shape = tuple(unwrap(x).shape)
    if len(shape) < 2 or shape[1] % num_groups:
        raise op_error("group_norm", f"input (N, C, *) with C divisible by num_groups="
                       f"{num_groups}", f"{shape}")
    for name, v in (("weight", weight), ("bias", bias)):
        _vec(v, name, shape[1], "group_norm")
    return GroupNorm.apply(x, weight, bias, groups=int(num_groups), eps=float(eps))


def normalize(x, p=2.0, dim=1, eps=1e-12, *, axis=None):
    """Divide by the ``p``-norm along ``dim``: ``x / max(||x||_p, eps)``.

    Args:
        x (Tensor): input.
        p (float): norm order (2, 1, inf, any positive). Default 2.
        dim (int): dimension to normalize. Default 1 (``axis=`` accepted too).
        eps (float): lower bound of the denominator. Default 1e-12.

    Returns:
        Tensor: same shape; each slice along ``dim`` has unit ``p``-norm (or is ``x / eps``).
    """
    if axis is not None:
        dim = axis
    if not isinstance(x, Tensor):
        x = Tensor(x)
    return Normalize.apply(x, p=float(p), axis=dim, eps=float(eps))


register_methods(normalize=normalize)
