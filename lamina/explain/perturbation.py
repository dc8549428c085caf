"""Perturbation attributions as in Captum 0.9: FeatureAblation and Occlusion.

All perturbed copies of a chunk of features go through the model as one batch
(``perturbations_per_eval`` features at a time), never one sample at a time.
"""

from __future__ import annotations

from .. import backend as B
from ..autograd import Tensor
from ..errors import check
from ._core import (Attribution, as_array, expand_args, expand_target, feature_groups,
                    forward_eval)

np = B.np

__all__ = ["FeatureAblation", "Occlusion", "ablate"]


def ablate(forward_func, x, masks, baseline, target, args, per_eval):
    """``f(x) - f(x with mask k set to baseline)`` for every mask, batched.

    Args:
        masks: bool array ``(K, N or 1, *x.shape[1:])``.

    Returns:
        (diffs ``(K, N)``, f(x) ``(N,)``).
    """
    n = x.shape[0]
    f0 = forward_eval(forward_func, x, target, args)
    t = expand_target(target, n)
    k_all = masks.shape[0]
    per = k_all if per_eval is None else max(1, int(per_eval))
    diffs = np.empty((k_all, n), dtype=f0.dtype)
    for s in range(0, k_all, per):
        m = masks[s:s + per]
        k = m.shape[0]
        xa = np.where(m, baseline[None], x[None]).reshape((k * n,) + x.shape[1:])
        tt = t if t is None or isinstance(t, int) else np.tile(t, k)
        fa = forward_eval(forward_func, xa, tt, expand_args(args, k) if args else None)
        diffs[s:s + k] = f0[None] - fa.reshape(k, n)
    return diffs, f0


class FeatureAblation(Attribution):
    """Replace each feature (or group of ``feature_mask``) with the baseline and record the
    drop of the target score: ``attr[group] = f(x) - f(x_without_group)`` (Captum's
    ``FeatureAblation``).

    Args:
        forward_func (Module or callable): the model.

    Example:
        >>> FeatureAblation(model).attribute(x, target=y, feature_mask=groups)
    """

    def attribute(self, inputs, baselines=None, target=None, additional_forward_args=None,
                  feature_mask=None, perturbations_per_eval=None):
        """Args:
            inputs (Tensor or array): ``(N, ...)``.
            baselines (scalar or array): replacement values; None is 0. Default None.
            target (int, sequence or None): class per row. Default None.
            additional_forward_args: extra model arguments. Default None.
            feature_mask (array of int or None): group ids, shaped as one sample (or
                ``(1, ...)`` / ``(N, ...)``); None makes every scalar its own feature.
            perturbations_per_eval (int or None): features ablated per forward pass. Captum's
                default is 1; lamina's None sends all in one batch (same numbers, faster).

        Returns:
            Tensor shaped as ``inputs``; every element of a group holds the group's value.
        """
        x = as_array(inputs)
        b = _baseline(baselines, x)
        mask, ids = feature_groups(x, feature_mask)
        masks = mask[None] == ids.reshape((-1,) + (1,) * mask.ndim)
        diffs, _ = ablate(self.forward_func, x, masks, b, target, additional_forward_args,
                          perturbations_per_eval)
        attr = np.einsum("kn,kn...->n...", diffs,
                         np.broadcast_to(masks, (len(ids), x.shape[0]) + x.shape[1:])
                         .astype(diffs.dtype))
        return Tensor(attr.astype(x.dtype, copy=False))


class Occlusion(FeatureAblation):
    """Slide a window of baseline values over the input (Zeiler & Fergus 2014), Captum's
    ``Occlusion``: each element's attribution is the mean score drop over the windows that
    cover it.

    Captum's window count per dimension is ``ceil((D - w) / s) + 1``, so when the stride
    does not divide ``D - w`` the last window hangs over the edge and is cut there; lamina
    follows it (the textbook count would be ``(D - w) // s + 1``).

    Args:
        forward_func (Module or callable): the model.

    Example:
        >>> Occlusion(model).attribute(x, sliding_window_shapes=(1, 3, 3), strides=(1, 2, 2),
        ...                            target=y)
    """

    def attribute(self, inputs, sliding_window_shapes, strides=None, baselines=None,
                  target=None, additional_forward_args=None, perturbations_per_eval=None):
        """Args:
            inputs (Tensor or array): ``(N, ...)``.
            sliding_window_shapes (tuple): window shape, one entry per non-batch dim.
            strides (int, tuple or None): step per dim; None is 1. Default None.
            baselines (scalar or array): replacement values; None is 0. Default None.
            target (int, sequence or None): class per row. Default None.
            additional_forward_args: extra model arguments. Default None.
            perturbations_per_eval (int or None): windows per forward pass; None all.

        Returns:
            Tensor shaped as ``inputs``.
        """
        x = as_array(inputs)
        shape = x.shape[1:]
        win = tuple(sliding_window_shapes)
        check(len(win) == len(shape), "Occlusion", f"a window with {len(shape)} dims",
              str(win))
        st = (1,) * len(shape) if strides is None else (
            (strides,) * len(shape) if isinstance(strides, int) else tuple(strides))
        counts = []
        for d, w, s in zip(shape, win, st):
            check(w <= d, "Occlusion", f"window {win} within the input {shape}", str(win))
            check(d == w or s <= w, "Occlusion", "stride <= window", f"stride {st}")
            counts.append(int(np.ceil((d - w) / s)) + 1)
        grids = np.stack(np.meshgrid(*[np.arange(c) for c in counts], indexing="ij"), -1)
        starts = grids.reshape(-1, len(shape)) * np.array(st)
        masks = np.zeros((len(starts),) + shape, dtype=bool)
        for i, s0 in enumerate(starts):
            masks[(i,) + tuple(slice(a, a + w) for a, w in zip(s0, win))] = True
        b = _baseline(baselines, x)
        diffs, _ = ablate(self.forward_func, x, masks[:, None], b, target,
                          additional_forward_args, perturbations_per_eval)
        total = np.einsum("kn,k...->n...", diffs, masks.astype(diffs.dtype))
        weights = masks.sum(0)
        return Tensor((total / weights).astype(x.dtype, copy=False))


def _baseline(baselines, x):
    if baselines is None:
        return np.zeros((1,) + x.shape[1:], x.dtype)
    b = as_array(baselines, x.dtype)
    return b[None] if b.ndim == x.ndim - 1 else (b.reshape((1,) * x.ndim) if b.ndim == 0 else b)
