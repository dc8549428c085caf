"""Can an explanation be trusted? Deletion / insertion curves (AOPC), infidelity and
sensitivity-max (Yeh et al. 2019, Captum's ``infidelity`` / ``sensitivity_max``). The
randomization sanity checks of Adebayo et al. 2018 live in :mod:`lamina.explain.sanity`.
"""

from __future__ import annotations

from .. import backend as B
from ..autograd import Tensor, no_grad
from ..errors import check
from ._core import as_array, expand_target, forward_eval, select

np = B.np

__all__ = ["deletion_curve", "insertion_curve", "aopc", "infidelity", "sensitivity_max"]


def _scores(model, x, target, softmax):
    if not softmax:
        return forward_eval(model, x, target)
    with no_grad():
        out = as_array(model(Tensor(x)))
    e = np.exp(out - out.max(1, keepdims=True))
    return select(e / e.sum(1, keepdims=True), target)


def _curve(model, inputs, attributions, target, steps, baseline, order, softmax, insert):
    x = as_array(inputs)
    a = as_array(attributions).reshape(x.shape[0], -1)
    n, d = a.shape
    check(a.shape[1] == int(np.prod(x.shape[1:])), "deletion_curve",
          f"attributions shaped as the inputs {x.shape}", f"{as_array(attributions).shape}")
    if order == "random":
        rank = np.argsort(B.rng().random((n, d)), axis=1)
    else:
        check(order == "attribution", "deletion_curve", "order 'attribution' or 'random'",
              repr(order), cls=ValueError)
        rank = np.argsort(-a, axis=1, kind="stable")
    pos = np.empty_like(rank)
    np.put_along_axis(pos, rank, np.arange(d)[None].repeat(n, 0), axis=1)
    fracs = np.linspace(0, 1, steps + 1)
    counts = np.round(fracs * d).astype(np.int64)
    gone = pos[None] < counts[:, None, None]  # (S+1, N, D): the top-k features are switched
    flat = x.reshape(n, -1)
    b = np.broadcast_to(as_array(baseline, x.dtype), flat.shape) if np.ndim(baseline) \
        else np.full(flat.shape, baseline, x.dtype)
    xs = np.where(gone, flat[None], b[None]) if insert else np.where(gone, b[None], flat[None])
    t = expand_target(target, n)
    tt = t if t is None or isinstance(t, int) else np.tile(t, steps + 1)
    sc = _scores(model, xs.reshape(((steps + 1) * n,) + x.shape[1:]), tt, softmax)
    return fracs, sc.reshape(steps + 1, n).T


def deletion_curve(model, inputs, attributions, target=None, steps: int = 20, baseline=0.0,
                   order: str = "attribution", softmax: bool = True):
    """Target score as the most important features are replaced by ``baseline``, in
    ``steps`` equal fractions (Petsiuk et al. 2018). A faithful explanation drops fast.

    Args:
        model (Module or callable): the model.
        inputs (array): ``(N, ...)``.
        attributions (array): shaped as ``inputs``; larger means more important.
        target (int, sequence or None): class per row.
        steps (int): fractions ``0, 1/steps, ..., 1``. Default 20.
        baseline (float or array): replacement value(s). Default 0.
        order (str): ``attribution`` or ``random`` (the reference curve). Default
            ``attribution``.
        softmax (bool): use class probabilities instead of raw outputs. Default True.

    Returns:
        (fractions ``(steps+1,)``, scores ``(N, steps+1)``).
    """
    return _curve(model, inputs, attributions, target, steps, baseline, order, softmax, False)


def insertion_curve(model, inputs, attributions, target=None, steps: int = 20, baseline=0.0,
                    order: str = "attribution", softmax: bool = True):
    """Target score as the most important features are put back into a ``baseline`` input
    (Petsiuk et al. 2018); a faithful explanation rises fast. Arguments as
    :func:`deletion_curve`.

    Returns:
        (fractions ``(steps+1,)``, scores ``(N, steps+1)``).
    """
    return _curve(model, inputs, attributions, target, steps, baseline, order, softmax, True)


def aopc(scores):
    """Area over the perturbation curve (Samek et al. 2017): the mean of ``f(x) - f(x_k)``
    over the steps, per row. Larger for deletion means more faithful.

    Args:
        scores (array): ``(N, steps+1)`` from :func:`deletion_curve`.

    Returns:
        array ``(N,)``.
    """
    s = as_array(scores)
    return (s[:, :1] - s).mean(1)


def infidelity(forward_func, perturb_func, inputs, attributions, baselines=None,
               additional_forward_args=None, target=None, n_perturb_samples: int = 10,
               max_examples_per_batch=None, normalize: bool = False):
    """Infidelity (Yeh et al. 2019), Captum's definition:
    ``E_I[(I . attr - (f(x) - f(x - I)))^2]`` over perturbations ``I``.

    Args:
        forward_func (Module or callable): the model.
        perturb_func (callable): ``inputs -> (I, inputs - I)`` for a batch; None draws
            ``I ~ N(0, 0.1^2)``.
        inputs (array): ``(N, ...)``.
        attributions (array): shaped as ``inputs``.
        baselines: unused (Captum passes it to ``perturb_func``); kept for the signature.
        additional_forward_args: extra model arguments. Default None.
        target (int, sequence or None): class per row.
        n_perturb_samples (int): perturbations per row. Default 10.
        max_examples_per_batch (int or None): rows per forward. Default None (all).
        normalize (bool): rescale attributions by the least-squares ``beta`` first (Captum's
            ``normalize``). Default False.

    Returns:
        array ``(N,)``.
    """
    x = as_array(inputs)
    a = as_array(attributions, x.dtype)
    n, k = x.shape[0], int(n_perturb_samples)
    xr = np.repeat(x, k, axis=0)  # Captum's order: each row's copies side by side
    if perturb_func is None:
        pert = B.rng().normal(0.0, 0.1, xr.shape).astype(x.dtype)
        px = xr - pert
    else:
        pert, px = perturb_func(xr)
        pert, px = as_array(pert, x.dtype), as_array(px, x.dtype)
    t = expand_target(target, n)
    tt = t if t is None or isinstance(t, int) else np.repeat(t, k)
    f0 = forward_eval(forward_func, x, target, additional_forward_args)
    fp = forward_eval(forward_func, px, tt, _repeat(additional_forward_args, k),
                      max_examples_per_batch)
    dot = (pert.reshape(n, k, -1) * a.reshape(n, 1, -1)).sum(-1)  # (N, k)
    diff = f0[:, None] - fp.reshape(n, k)
    if normalize:
        beta = (dot * diff).mean(1) / np.maximum((dot * dot).mean(1), 1e-30)
        dot = dot * beta[:, None]
    return ((dot - diff) ** 2).mean(1)


def _repeat(args, k):
    if args is None:
        return None
    args = args if isinstance(args, tuple) else (args,)
    return tuple(Tensor(np.repeat(as_array(a), k, axis=0)) if hasattr(a, "shape") else a
                 for a in args)


def sensitivity_max(explanation_func, inputs, perturb_func=None, perturb_radius: float = 0.02,
                    n_perturb_samples: int = 10, norm_ord="fro", max_examples_per_batch=None,
                    **kwargs):
    """Max-sensitivity (Yeh et al. 2019), Captum's ``sensitivity_max``:
    ``max ||e(x + d) - e(x)|| / ||e(x)||`` over perturbations ``d`` (default uniform in the
    L-inf ball of ``perturb_radius``).

    Args:
        explanation_func (callable): e.g. ``IntegratedGradients(model).attribute``.
        inputs (array): ``(N, ...)``.
        perturb_func (callable or None): ``inputs -> perturbed inputs``. Default None.
        perturb_radius (float): radius of the default perturbation. Default 0.02.
        n_perturb_samples (int): perturbations per row. Default 10.
        norm_ord: ``'fro'`` (2-norm of the flattened map) or an order for ``np.linalg.norm``.
        max_examples_per_batch: unused (every perturbed copy goes in one call).
        **kwargs: passed to ``explanation_func`` (``target`` is tiled with the copies).

    Returns:
        array ``(N,)``.
    """
    x = as_array(inputs)
    n, k = x.shape[0], int(n_perturb_samples)
    xr = np.repeat(x, k, axis=0)
    if perturb_func is None:
        px = xr + B.rng().uniform(-perturb_radius, perturb_radius, xr.shape).astype(x.dtype)
    else:
        px = as_array(perturb_func(xr), x.dtype)
    e0 = as_array(explanation_func(x, **kwargs)).reshape(n, -1)
    kw = dict(kwargs)
    t = expand_target(kw.get("target"), n)
    if t is not None and not isinstance(t, int):
        kw["target"] = np.repeat(t, k)
    ep = as_array(explanation_func(px, **kw)).reshape(n, k, -1)
    o = None if norm_ord == "fro" else norm_ord
    num = np.linalg.norm(ep - e0[:, None], ord=o, axis=-1)
    den = np.maximum(np.linalg.norm(e0, ord=o, axis=-1), 1e-30)
    return (num / den[:, None]).max(1)
