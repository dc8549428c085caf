"""``torch.nn.utils`` equivalents: gradient clipping and parameter <-> vector conversion, plus
batched eval-mode inference (``batched_eval``) shared by the models and the CLI.

Clipping lives here (in ``nn``) because ``optim`` sits above ``nn``; ``lamina.optim`` re-exports
these functions.
"""

from __future__ import annotations

import math

from .. import backend as B
from .. import functional as F
from ..autograd.creation import tensor
from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor
from ..errors import check, op_error

__all__ = ["clip_grad_norm_", "clip_grad_value_", "get_total_norm", "parameters_to_vector",
           "vector_to_parameters", "as_model_dtype", "batched_eval"]


def _as_list(parameters) -> list:
    if isinstance(parameters, Tensor):
        return [parameters]
    return list(parameters)


def _grads(parameters) -> list:
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p._grad.array for p in parameters if p._grad is not None]


def _norm_type(norm_type) -> float:
    if isinstance(norm_type, str):
        check(norm_type.lower() == "inf", "clip_grad_norm_", "norm_type a number or 'inf'",
              repr(norm_type), cls=ValueError)
        return math.inf
    return float(norm_type)


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite: bool = False):
    """The ``norm_type``-norm of all ``tensors`` taken together, as if concatenated into one
    vector (``torch.nn.utils.get_total_norm``).

    Args:
        tensors (list of Tensor or arrays): e.g. ``[p.grad for p in model.parameters()]``;
            None entries are skipped.
        norm_type (float or 'inf'): p of the p-norm; ``inf`` is the max-abs norm. Default 2.
        error_if_nonfinite (bool): raise when the norm is NaN or infinite. Default False.

    Returns:
        Tensor: 0-d, in the tensors' floating dtype; 0.0 for an empty list.
    """
    grads = [t.array if isinstance(t, Tensor) else t for t in tensors if t is not None]
    total = _total_norm(grads, norm_type)
    if error_if_nonfinite and not bool(B.get_array_module(total).isfinite(total)):
        raise RuntimeError(f"get_total_norm: expected a finite total norm of order "
                           f"{norm_type}, got {float(total)}")
    return Tensor(total)


def _total_norm(grads, norm_type):
    """:func:`get_total_norm` on arrays, returning a 0-d array."""
    p = _norm_type(norm_type)
    if not grads:
        return B.np.asarray(0.0, dtype=B.get_default_dtype())
    xp = B.get_array_module(*grads)
    dtype = xp.result_type(*grads)
    if p == math.inf:
        norms = xp.stack([xp.max(xp.abs(g)) if g.size else xp.zeros((), g.dtype)
                          for g in grads])
        return xp.max(norms).astype(dtype, copy=False)
    if p == 2.0:
        total = sum(xp.vdot(g.ravel(), g.ravel()).real for g in grads)
        return xp.sqrt(xp.asarray(total, dtype=dtype))
    check(p > 0, "clip_grad_norm_", "norm_type > 0", str(norm_type), cls=ValueError)
    total = sum(xp.sum(xp.abs(g) ** p) for g in grads)
    return xp.asarray(total ** (1.0 / p), dtype=dtype)


def clip_grad_norm_(parameters, max_norm: float, norm_type=2.0, error_if_nonfinite: bool = False):
    """Scale all gradients in place so that their global norm is at most ``max_norm``.

    The norm is taken over every gradient together (one vector); each gradient is multiplied
    by ``min(1, max_norm / (total_norm + 1e-6))``, PyTorch's rule. Parameters whose ``.grad``
    is None are ignored.

    Args:
        parameters: a Parameter or an iterable of them (e.g. ``model.parameters()``).
        max_norm (float): the largest norm allowed.
        norm_type (float or 'inf'): p of the p-norm. Default 2.0.
        error_if_nonfinite (bool): raise when the total norm is NaN or infinite instead of
            scaling by a NaN factor. Default False.

    Returns:
        Tensor: 0-d, the total norm of the gradients before clipping (``float(...)`` gives a
        Python number; it stays on the GPU for CuPy arrays, so no synchronisation happens).

    Example:
        >>> loss.backward()
        >>> total = nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        >>> opt.step()
    """
    grads = _grads(parameters)
    max_norm = float(max_norm)
    total = _total_norm(grads, norm_type)
    if not grads:
        return Tensor(total)
    xp = B.get_array_module(*grads)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(
            f"clip_grad_norm_: expected a finite total norm of order {norm_type}, got "
            f"{float(total)}; set error_if_nonfinite=False to scale anyway")
    coef = xp.minimum(max_norm / (total + 1e-6), 1.0)
    for g in grads:
        g *= coef.astype(g.dtype, copy=False)
    return Tensor(total)


def clip_grad_value_(parameters, clip_value: float) -> None:
    """Clamp every gradient element into ``[-clip_value, clip_value]`` in place.

    Args:
        parameters: a Parameter or an iterable of them.
        clip_value (float): the largest absolute value allowed (>= 0).

    Example:
        >>> nn.utils.clip_grad_value_(model.parameters(), 0.5)
    """
    clip_value = float(clip_value)
    check(clip_value >= 0, "clip_grad_value_", "clip_value >= 0", str(clip_value),
          cls=ValueError)
    for g in _grads(parameters):
        xp = B.get_array_module(g)
        xp.clip(g, -clip_value, clip_value, out=g)


def parameters_to_vector(parameters) -> Tensor:
    """Concatenate parameters into one 1-D tensor (differentiable, as PyTorch's).

    Args:
        parameters (iterable of Tensor): e.g. ``model.parameters()``.

    Returns:
        Tensor: shape (total number of elements,).
    """
    ps = _as_list(parameters)
    if not ps:
        raise op_error("parameters_to_vector", "at least one parameter", "none")
    return F.cat([F.reshape(p, -1) for p in ps], dim=0)


def vector_to_parameters(vec, parameters) -> None:
    """Copy slices of the 1-D ``vec`` into the parameters' data, in order (in place).

    Args:
        vec (Tensor): 1-D, as many elements as the parameters hold together.
        parameters (iterable of Tensor): destinations.
    """
    v = vec.array if isinstance(vec, Tensor) else vec
    ps = _as_list(parameters)
    total = sum(p.numel() for p in ps)
    if v.ndim != 1 or v.shape[0] != total:
        raise op_error("vector_to_parameters", f"a 1-D vector of {total} elements (the "
                       "parameters' total)", f"shape {tuple(v.shape)}")
    i = 0
    for p in ps:
        n = p.numel()
        p.array[...] = v[i:i + n].reshape(p.shape).astype(p.dtype, copy=False)
        i += n


def as_model_dtype(model, X):
    """Host array ``X``; floating data in the dtype of ``model``'s parameters (float64 data would
    otherwise upcast every step). Integer and bool data (token ids, masks) keep their dtype."""
    a = B.np.asarray(B.to_host(X.array if isinstance(X, Tensor) else X))
    if a.dtype.kind in "biu":
        return a
    first = next(iter(model.parameters()), None)
    dtype = B.get_default_dtype() if first is None else first.dtype
    return a.astype(dtype, copy=False)


def batched_eval(model, X, fn=None, batch_size: int = 512):
    """Apply ``fn`` (default: ``model`` itself) to the array ``X`` in batches, in eval mode
    without recording a graph, and concatenate the host results.

    Args:
        model (Module): switched to eval mode for the call; its mode is restored afterwards.
        X: array or Tensor ``(N, ...)``, cast to the dtype of the model's parameters.
        fn (callable, optional): Tensor batch -> Tensor or array. Default: ``model``.
        batch_size (int): rows per forward pass. Default 512.

    Returns:
        NumPy array ``(N, ...)``: the concatenated outputs (``(0,)`` when ``X`` is empty).
    """
    fn = model if fn is None else fn
    X = as_model_dtype(model, X)
    was = model.training
    model.eval()
    out = []
    try:
        with no_grad():
            for i in range(0, len(X), batch_size):
                r = fn(tensor(X[i:i + batch_size]))
                out.append(B.to_host(r.array if isinstance(r, Tensor) else r))
    finally:
        model.train(was)
    return B.np.concatenate(out) if out else B.np.zeros((0,), X.dtype)
