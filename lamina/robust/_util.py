"""Shared pieces of the robust package: the model-state guard, input gradients, norms.

Every attack and defence runs the model inside :func:`frozen`, which puts each module in the
mode asked for, turns every parameter's ``requires_grad`` off (so the backward pass computes no
weight gradients and leaves ``.grad`` alone) and restores all of it afterwards, even on error.
"""

from __future__ import annotations

from contextlib import contextmanager

from .. import backend as B
from .. import functional as F
from ..autograd import Tensor, enable_grad, grad, no_grad
from ..errors import check

np = B.np

__all__ = ["frozen", "as_array", "input_grad", "logits_of", "flat_norm", "project_l2",
           "to_like"]


@contextmanager
def frozen(model, training: bool = False):
    """Run ``model`` in one mode with frozen parameters; restore every flag afterwards.

    Args:
        model (Module): the network.
        training (bool): the mode every module is put in meanwhile. Default False (eval).
    """
    modes = [(m, m.training) for m in model.modules()]
    params = [(p, p.requires_grad, p._grad) for p in model.parameters()]
    try:
        for m, _ in modes:
            object.__setattr__(m, "training", training)
        for p, _, _ in params:
            p.requires_grad = False
        yield model
    finally:
        for m, flag in modes:
            object.__setattr__(m, "training", flag)
        for p, flag, g in params:
            p.requires_grad = flag
            p._grad = g


def as_array(x, dtype=None):
    """The raw array of a Tensor or array-like (``dtype`` casts when given)."""
    a = x.array if isinstance(x, Tensor) else B.np.asarray(x)
    return a if dtype is None or a.dtype == dtype else a.astype(dtype)


def to_like(arr, ref):
    """``arr`` as a Tensor when ``ref`` is one, else the raw array."""
    return Tensor(arr) if isinstance(ref, Tensor) else arr


def logits_of(model, x, batch_size: int | None = None):
    """Model outputs (raw array) for the raw array ``x``, without recording a graph."""
    with no_grad():
        if batch_size is None or len(x) <= batch_size:
            return model(Tensor(x)).array
        xp = B.get_array_module(x)
        return xp.concatenate([model(Tensor(x[i:i + batch_size])).array
                               for i in range(0, len(x), batch_size)])


def input_grad(model, x, loss_fn):
    """Gradient of ``loss_fn(logits)`` (a scalar Tensor) with respect to the array ``x``.

    Returns:
        tuple: ``(grad, logits, loss)`` as raw arrays / float.
    """
    xt = Tensor(x, requires_grad=True)
    with enable_grad():
        out = model(xt)
        loss = loss_fn(out)
    (g,) = grad(loss, [xt])
    check(g is not None, "input_grad", "a loss that depends on the input",
          "a loss without a path to the input (is the model's output detached?)")
    return g.array, out.array, float(loss.item())


def ce_loss(labels, sign: float = 1.0):
    """``sign * cross_entropy(logits, labels)`` (mean over the batch, as torchattacks)."""
    yt = Tensor(labels)

    def fn(out):
        loss = F.cross_entropy(out, yt)
        return loss if sign > 0 else -loss
    return fn


def flat_norm(a, p="l2"):
    """Per-sample norm of ``a`` ``(N, ...)``: ``'l2'`` or ``'linf'``. Returns ``(N,)``."""
    xp = B.get_array_module(a)
    flat = a.reshape(len(a), -1)
    if p == "linf":
        return xp.abs(flat).max(axis=1)
    return xp.sqrt((flat * flat).sum(axis=1))


def project_l2(delta, eps):
    """Scale each sample of ``delta`` into the L2 ball of radius ``eps`` (torchattacks' rule)."""
    xp = B.get_array_module(delta)
    n = flat_norm(delta)
    with np.errstate(divide="ignore"):
        factor = xp.minimum(eps / n, 1.0).astype(delta.dtype)
    return delta * factor.reshape((-1,) + (1,) * (delta.ndim - 1))


def bshape(v, ndim):
    """Reshape a per-sample vector ``(N,)`` to broadcast over ``(N, ...)`` of ``ndim`` dims."""
    return v.reshape((-1,) + (1,) * (ndim - 1))
