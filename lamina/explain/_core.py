"""Shared pieces of every explainer: inputs as arrays, Captum's ``target`` rule, input gradients
that leave the model's parameters, flags and ``.grad`` as they were, and batched forwards.
"""

from __future__ import annotations

from contextlib import contextmanager

from .. import backend as B
from ..autograd import Tensor, enable_grad, no_grad
from ..errors import check
from ..nn.module import Module

np = B.np

__all__ = ["as_array", "feature_groups", "forward_eval", "input_gradients", "target_seed",
           "frozen", "expand_target", "format_baseline", "Attribution"]


def as_array(x, dtype=None):
    """Raw host array of a Tensor, array or nested list (float arrays keep their dtype)."""
    a = x.array if isinstance(x, Tensor) else np.asarray(x)
    if dtype is not None:
        a = a.astype(dtype, copy=False)
    elif a.dtype.kind not in "fc" and a.dtype.kind not in "iub":
        a = a.astype(B.get_default_dtype())
    return a


@contextmanager
def frozen(model):
    """Turn off ``requires_grad`` of the model's parameters for the block, then restore it.

    Explainers need gradients with respect to inputs only: freezing skips the weight
    gradients (half a backward pass) and leaves every ``param.grad`` untouched.
    """
    params = list(model.parameters()) if isinstance(model, Module) else []
    flags = [p._requires_grad for p in params]
    for p in params:
        p._requires_grad = False
    try:
        yield
    finally:
        for p, f in zip(params, flags):
            p._requires_grad = f


def expand_target(target, n_rows: int):
    """Captum's target rule, made per row: None, an int, or one index per row.

    Returns None, an int, or an int array of length ``n_rows`` (a per-row list is tiled when
    the rows are several copies of the batch, as IG's scaled inputs are).
    """
    if target is None:
        return None
    if isinstance(target, Tensor):
        target = target.array
    if isinstance(target, (int, np.integer)):
        return int(target)
    t = np.asarray(target).reshape(-1).astype(np.int64)
    if t.size == 1:
        return int(t[0])
    check(n_rows % t.size == 0, "explain", f"one target per row ({n_rows} rows)",
          f"{t.size} targets")
    return np.tile(t, n_rows // t.size)


def target_seed(out, target):
    """The output gradient that selects ``out[i, target_i]`` (all of ``out`` when target is None
    and each row holds one value)."""
    n = out.shape[0]
    t = expand_target(target, n)
    seed = np.zeros(out.shape, dtype=out.dtype)
    if t is None:
        check(out.ndim == 1 or int(np.prod(out.shape[1:])) == 1, "explain",
              "target=None only for a model with one output per row",
              f"output of shape {tuple(out.shape)}", "pass target=class index")
        seed[...] = 1
    elif isinstance(t, int):
        seed[:, t] = 1
    else:
        seed[np.arange(n), t] = 1
    return seed


def select(out_arr, target):
    """``out[i, target_i]`` as a 1-d array of length N (the forward score explained)."""
    n = out_arr.shape[0]
    t = expand_target(target, n)
    if t is None:
        return out_arr.reshape(n)
    if isinstance(t, int):
        return out_arr[:, t]
    return out_arr[np.arange(n), t]


def _call(model, x, args):
    if args is None:
        return model(x)
    if not isinstance(args, tuple):
        args = (args,)
    return model(x, *args)


def expand_args(args, k: int):
    """Repeat batch-aligned additional forward args ``k`` times along dim 0 (Captum's rule)."""
    if args is None:
        return None
    if not isinstance(args, tuple):
        args = (args,)
    out = []
    for a in args:
        if isinstance(a, Tensor) or hasattr(a, "shape"):
            arr = as_array(a)
            out.append(Tensor(np.concatenate([arr] * k, axis=0)))
        else:
            out.append(a)
    return tuple(out)


def forward_eval(model, x, target=None, additional_forward_args=None, batch_size=None):
    """Target scores ``f(x)[i, target_i]`` without gradients, in chunks of ``batch_size`` rows.

    Returns:
        array ``(N,)``.
    """
    x = as_array(x)
    n = x.shape[0]
    bs = n if batch_size is None else max(1, int(batch_size))
    outs = []
    t = expand_target(target, n)
    args = additional_forward_args
    with no_grad():
        for s in range(0, n, bs):
            out = _call(model, Tensor(x[s:s + bs]), args if bs >= n else _slice_args(args, s, bs))
            tt = t if t is None or isinstance(t, int) else t[s:s + bs]
            outs.append(select(out.array, tt))
    return np.concatenate(outs)


def _slice_args(args, s, bs):
    if args is None:
        return None
    if not isinstance(args, tuple):
        args = (args,)
    return tuple(Tensor(as_array(a)[s:s + bs]) if hasattr(a, "shape") else a for a in args)


def input_gradients(model, x, target=None, additional_forward_args=None):
    """d f(x)[i, target_i] / d x for every row at once (one forward, one backward).

    The parameters are frozen for the pass (see :func:`frozen`), so the model's ``.grad`` and
    ``requires_grad`` flags are as they were afterwards.

    Returns:
        (grad array shaped as x, target scores ``(N,)``).
    """
    t = Tensor(as_array(x), requires_grad=True)
    with frozen(model), enable_grad():
        out = _call(model, t, additional_forward_args)
        seed = target_seed(out.array, target)
        out.backward(Tensor(seed))
    g = t.grad.array if t.grad is not None else np.zeros_like(t.array)
    return g, select(out.array, target)


def format_baseline(baselines, x):
    """Baselines as an array broadcastable to ``x``: None -> zeros, a scalar, or an array of
    x's shape or of one sample's shape."""
    if baselines is None:
        return np.zeros((1,) + x.shape[1:], dtype=x.dtype)
    b = as_array(baselines, x.dtype)
    if b.ndim == 0:
        return np.full((1,) + x.shape[1:], b, dtype=x.dtype)
    if b.shape == x.shape[1:]:
        return b[None]
    check(b.shape[1:] == x.shape[1:] and b.shape[0] in (1, x.shape[0]), "explain",
          f"baselines of shape {x.shape} or (1, *{x.shape[1:]})", f"{b.shape}")
    return b


class Attribution:
    """Base of every explainer: ``Method(forward_func, ...)`` then ``.attribute(inputs, ...)``.

    Args:
        forward_func (Module or callable): the model (or any function of a Tensor).
    """

    multiplies_by_inputs = False

    def __init__(self, forward_func):
        check(callable(forward_func), type(self).__name__, "a Module or callable model",
              type(forward_func).__name__)
        self.forward_func = forward_func

    def _out(self, attr, x, like_tensor=True):
        attr = attr.astype(x.dtype, copy=False)
        return Tensor(attr) if like_tensor else attr

    def compute_convergence_delta(self, attributions, start_point, end_point, target=None,
                                  additional_forward_args=None):
        """Completeness gap ``sum(attr_i) - (f(end_i) - f(start_i))`` per row.

        Returns:
            array ``(N,)``.
        """
        a = as_array(attributions)
        end = as_array(end_point)
        start = np.broadcast_to(as_array(start_point, end.dtype), end.shape)
        fe = forward_eval(self.forward_func, end, target, additional_forward_args)
        fs = forward_eval(self.forward_func, np.ascontiguousarray(start), target,
                          additional_forward_args)
        return a.reshape(a.shape[0], -1).sum(1) - (fe - fs)


def feature_groups(x, feature_mask):
    """Captum's ``feature_mask``: integer group ids broadcastable to one input sample (None:
    every element its own group). Returns ``(mask, ids)``, mask shaped ``(1 or N, *sample)``."""
    if feature_mask is None:
        mask = np.arange(int(np.prod(x.shape[1:]))).reshape((1,) + x.shape[1:])
    else:
        mask = as_array(feature_mask).astype(np.int64)
        if mask.ndim == x.ndim - 1:
            mask = mask[None]
    return mask, np.unique(mask)
