"""Shapley-value attributions: exact ``ShapleyValues``, ``ShapleyValueSampling``, ``KernelShap``
and ``Lime``, with Captum 0.9's names and arguments.

A feature (or a group of ``feature_mask``) is "present" at its input value and "absent" at the
baseline. Every coalition a method needs goes through the model in one batch; KernelShap and
Lime then fit their surrogate row by row on those scores.
"""

from __future__ import annotations

from math import factorial

from .. import backend as B
from ..autograd import Tensor
from ..errors import check
from ._core import (Attribution, as_array, expand_args, expand_target, feature_groups,
                    forward_eval)

np = B.np

__all__ = ["ShapleyValues", "ShapleyValueSampling", "KernelShap", "Lime", "coalition_values"]




def _baseline(baselines, x):
    if baselines is None:
        return np.zeros((1,) + x.shape[1:], x.dtype)
    b = as_array(baselines, x.dtype)
    return b.reshape((1,) * x.ndim) if b.ndim == 0 else (b[None] if b.ndim == x.ndim - 1 else b)


def coalition_values(forward_func, x, baselines, coalitions, mask, ids, target=None,
                     additional_forward_args=None, perturbations_per_eval=None):
    """``v(S) = f(x with the features of S present, the rest at the baseline)``.

    Args:
        coalitions: bool ``(K, M)`` (a shared set) or ``(K, N, M)`` (one per row).

    Returns:
        array ``(K, N)``.
    """
    n = x.shape[0]
    c = coalitions if coalitions.ndim == 3 else coalitions[:, None, :]
    k_all = c.shape[0]
    per = k_all if perturbations_per_eval is None else max(1, int(perturbations_per_eval))
    onehot = mask[..., None] == ids  # (1|N, ..., M)
    t = expand_target(target, n)
    out = np.empty((k_all, n), dtype=x.dtype if x.dtype.kind == "f" else np.float64)
    for s in range(0, k_all, per):
        cc = c[s:s + per]
        k = cc.shape[0]
        # present[k, n, ...] = any feature of the coalition owns the element
        sh = (k, cc.shape[1]) + (1,) * (x.ndim - 1) + (len(ids),)
        present = (onehot[None] & cc.reshape(sh)).any(-1)
        xa = np.where(present, x[None], baselines[None])
        xa = xa.reshape((k * n,) + x.shape[1:])
        tt = t if t is None or isinstance(t, int) else np.tile(t, k)
        out[s:s + k] = forward_eval(forward_func, xa, tt,
                                    expand_args(additional_forward_args, k)).reshape(k, n)
    return out


def _spread(phi, mask, ids, x):
    """Per-feature values ``(N, M)`` onto the input's elements."""
    onehot = (mask[..., None] == ids).astype(phi.dtype)
    return np.einsum("n...m,nm->n...", np.broadcast_to(onehot, x.shape + (len(ids),)), phi)


class ShapleyValues(Attribution):
    """Exact Shapley values over all ``2^M`` coalitions of the ``M`` features (groups):
    ``phi_i = sum_S |S|! (M-|S|-1)! / M! * (v(S+i) - v(S))``. Captum enumerates all ``M!``
    orderings; the subset sum is the same number with ``2^M`` model calls per row, so up to
    ~14 features are practical.

    Args:
        forward_func (Module or callable): the model.
    """

    def attribute(self, inputs, baselines=None, target=None, additional_forward_args=None,
                  feature_mask=None, perturbations_per_eval=None):
        """Args:
            inputs (Tensor or array): ``(N, ...)``.
            baselines (scalar or array): values of absent features; None is 0.
            target (int, sequence or None): class per row. Default None.
            additional_forward_args: extra model arguments. Default None.
            feature_mask (int array or None): group ids shaped as one sample; None makes
                every scalar a feature.
            perturbations_per_eval (int or None): coalitions per forward. Default None (all).

        Returns:
            Tensor shaped as ``inputs`` (every element holds its group's value); the values
            sum to ``f(x) - f(baseline)`` (efficiency).
        """
        x = as_array(inputs)
        mask, ids = feature_groups(x, feature_mask)
        m = len(ids)
        check(m <= 16, "ShapleyValues", "at most 16 features (2^M model calls)",
              f"{m} features", "use ShapleyValueSampling or KernelShap")
        coal = ((np.arange(2 ** m)[:, None] >> np.arange(m)) & 1).astype(bool)
        v = coalition_values(self.forward_func, x, _baseline(baselines, x), coal, mask, ids,
                             target, additional_forward_args, perturbations_per_eval)
        size = coal.sum(1)
        w = np.array([factorial(s) * factorial(m - s - 1) / factorial(m) if s < m else 0.0
                      for s in range(m + 1)])
        phi = np.zeros((x.shape[0], m), dtype=v.dtype)
        for i in range(m):
            without = ~coal[:, i]
            idx = np.nonzero(without)[0]
            phi[:, i] = (w[size[idx]][:, None] * (v[idx + (1 << i)] - v[idx])).sum(0)
        return Tensor(_spread(phi, mask, ids, x).astype(v.dtype, copy=False))


class ShapleyValueSampling(Attribution):
    """Shapley values estimated from ``n_samples`` random feature orderings (Castro et al.
    2009; Captum's ``ShapleyValueSampling``): each ordering adds the features one by one to
    the baseline and credits each with its marginal change.

    Args:
        forward_func (Module or callable): the model.
    """

    def attribute(self, inputs, baselines=None, target=None, additional_forward_args=None,
                  feature_mask=None, n_samples: int = 25, perturbations_per_eval=None):
        """Args:
            inputs (Tensor or array): ``(N, ...)``.
            baselines (scalar or array): values of absent features; None is 0.
            target (int, sequence or None): class per row. Default None.
            additional_forward_args: extra model arguments. Default None.
            feature_mask (int array or None): group ids shaped as one sample; None makes
                every scalar a feature.
            n_samples (int): random orderings. Default 25.
            perturbations_per_eval (int or None): coalitions per forward. Default None.

        Returns:
            Tensor shaped as ``inputs``; efficiency holds exactly for every ordering.
        """
        x = as_array(inputs)
        mask, ids = feature_groups(x, feature_mask)
        m = len(ids)
        rng = B.rng()
        perms = np.stack([rng.permutation(m) for _ in range(int(n_samples))])
        # coalition j of ordering p holds its first j features: (n_samples * (m + 1), m)
        rank = np.argsort(perms, axis=1)
        coal = (rank[:, None, :] < np.arange(m + 1)[None, :, None]).reshape(-1, m)
        v = coalition_values(self.forward_func, x, _baseline(baselines, x), coal, mask, ids,
                             target, additional_forward_args, perturbations_per_eval)
        v = v.reshape(n_samples, m + 1, -1)
        gains = v[:, 1:] - v[:, :-1]  # (P, m, N): gain of the j-th added feature
        phi = np.zeros((x.shape[0], m), dtype=v.dtype)
        for p in range(n_samples):
            phi[:, perms[p]] += gains[p].T
        return Tensor(_spread(phi / n_samples, mask, ids, x).astype(v.dtype, copy=False))


class Lime(Attribution):
    """LIME (Ribeiro et al. 2016), Captum's ``Lime``: sample binary masks of the
    interpretable features, score the masked inputs, weight each sample by its similarity to
    the input and fit a linear surrogate; its coefficients are the attributions.

    Args:
        forward_func (Module or callable): the model.
        interpretable_model: a scikit-learn regressor with ``fit(X, y, sample_weight)`` and
            ``coef_``; None is ``Lasso(alpha=0.01)`` (Captum's default). Needs scikit-learn.
        similarity_func (callable or None): ``(original, perturbed, binary) -> weights``
            on flattened arrays; None is Captum's ``exp(-d^2 / (2 w^2))`` of the cosine
            distance with ``kernel_width`` 1.
        kernel_width (float): width of the default kernel. Default 1.0.
    """

    def __init__(self, forward_func, interpretable_model=None, similarity_func=None,
                 kernel_width: float = 1.0):
        super().__init__(forward_func)
        self.interpretable_model = interpretable_model
        self.similarity_func = similarity_func
        self.kernel_width = kernel_width

    def _model(self):
        if self.interpretable_model is not None:
            from sklearn.base import clone
            return clone(self.interpretable_model)
        try:
            from sklearn.linear_model import Lasso
        except ImportError as e:  # pragma: no cover - sklearn ships with the dev env
            raise ImportError("Lime needs scikit-learn: pip install scikit-learn") from e
        return Lasso(alpha=0.01)

    def _sample(self, rng, n_samples, m):
        return rng.random((n_samples, m)) < 0.5, None

    def _weights(self, x_row, xa_rows, coal, m):
        if self.similarity_func is not None:
            return np.asarray(self.similarity_func(x_row, xa_rows, coal), dtype=np.float64)
        a = x_row.reshape(1, -1).astype(np.float64)
        z = xa_rows.reshape(xa_rows.shape[0], -1).astype(np.float64)
        cos = (z @ a[0]) / np.maximum(np.linalg.norm(z, axis=1) * np.linalg.norm(a), 1e-12)
        return np.exp(-((1 - cos) ** 2) / (2 * self.kernel_width ** 2))

    def attribute(self, inputs, baselines=None, target=None, additional_forward_args=None,
                  feature_mask=None, n_samples: int = 50, perturbations_per_eval=None,
                  return_input_shape: bool = True):
        """Args:
            inputs (Tensor or array): ``(N, ...)``.
            baselines (scalar or array): values of absent features; None is 0.
            target (int, sequence or None): class per row. Default None.
            additional_forward_args: extra model arguments. Default None.
            feature_mask (int array or None): group ids shaped as one sample; None makes
                every scalar a feature.
            n_samples (int): sampled masks per row. Default 50.
            perturbations_per_eval (int or None): masks per forward. Default None (all).
            return_input_shape (bool): spread the coefficients onto the input's shape;
                False returns ``(N, M)``. Default True.

        Returns:
            Tensor shaped as ``inputs`` (or ``(N, M)``).
        """
        x = as_array(inputs)
        mask, ids = feature_groups(x, feature_mask)
        m, n = len(ids), x.shape[0]
        b = _baseline(baselines, x)
        coal, w0 = self._sample(B.rng(), int(n_samples), m)
        v = coalition_values(self.forward_func, x, b, coal, mask, ids, target,
                             additional_forward_args, perturbations_per_eval)
        onehot = mask[..., None] == ids
        phi = np.zeros((n, m))
        for i in range(n):
            if w0 is None:
                present = (onehot[min(i, onehot.shape[0] - 1)][None] & coal.reshape(
                    (coal.shape[0],) + (1,) * (x.ndim - 1) + (m,))).any(-1)
                xb = b[min(i, b.shape[0] - 1)]
                w = self._weights(x[i], np.where(present, x[i][None], xb[None]), coal, m)
            else:
                w = w0
            est = self._model()
            est.fit(coal.astype(np.float64), v[:, i].astype(np.float64), sample_weight=w)
            phi[i] = np.asarray(est.coef_).reshape(-1)
        phi = phi.astype(x.dtype if x.dtype.kind == "f" else np.float64)
        return Tensor(_spread(phi, mask, ids, x) if return_input_shape else phi)


class KernelShap(Lime):
    """Kernel SHAP (Lundberg & Lee 2017), Captum's ``KernelShap``: Lime with coalition sizes
    drawn from the Shapley kernel ``p(k) ~ (M-1) / (k (M-k))``, unit weights, the empty and
    full coalitions weighted 1e6 (Captum's ``inf_weight``) and an unregularised linear
    regression, so the values approach the Shapley values as ``n_samples`` grows.

    Args:
        forward_func (Module or callable): the model.
    """

    def __init__(self, forward_func):
        super().__init__(forward_func)

    def _model(self):
        from sklearn.linear_model import LinearRegression
        return LinearRegression()

    def _sample(self, rng, n_samples, m):
        check(m >= 2, "KernelShap", "at least 2 features", f"{m}")
        k = np.arange(1, m)
        p = (m - 1) / (k * (m - k))
        sizes = rng.choice(k, size=max(n_samples - 2, 1), p=p / p.sum())
        order = np.argsort(rng.random((len(sizes), m)), axis=1)
        coal = np.argsort(order, axis=1) < sizes[:, None]
        coal = np.concatenate([np.zeros((1, m), bool), np.ones((1, m), bool), coal])
        w = np.ones(len(coal))
        w[:2] = 1e6
        return coal, w

    def attribute(self, inputs, baselines=None, target=None, additional_forward_args=None,
                  feature_mask=None, n_samples: int = 25, perturbations_per_eval=None,
                  return_input_shape: bool = True):
        """Args: as :meth:`Lime.attribute` (``n_samples`` default 25).

        Returns:
            Tensor shaped as ``inputs`` (or ``(N, M)``).
        """
        return super().attribute(inputs, baselines, target, additional_forward_args,
                                 feature_mask, n_samples, perturbations_per_eval,
                                 return_input_shape)
