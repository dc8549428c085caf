"""Finite-difference gradient checking in float64.

Small inputs get the full Jacobian-vector check (every element perturbed); large inputs are
checked along random directions. The output is projected on a fixed random vector, so one scalar
per perturbation is compared (this checks the whole vector-Jacobian product).
"""

from __future__ import annotations

import numpy as np

from ..autograd.tensor import Tensor

__all__ = ["gradcheck", "GradcheckError"]


class GradcheckError(AssertionError):
    """Analytic and numeric gradients disagree."""


def _to_input(x):
    if isinstance(x, Tensor):
        a = np.asarray(x.array)
    else:
        a = np.asarray(x)
    if a.dtype.kind == "f":
        return Tensor(a.astype(np.float64), requires_grad=True)
    return Tensor(a)


def _scalar(out, w) -> float:
    outs = out if isinstance(out, (tuple, list)) else (out,)
    return float(sum((np.asarray(o.array, dtype=np.float64) * wi).sum() for o, wi in zip(outs, w)))


def gradcheck(fn, *inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              max_full: int = 256, n_directions: int = 6, seed: int = 0) -> bool:
    """Compare the engine's gradients of ``fn`` with central differences, in float64.

    Args:
        fn: callable taking Tensors (in ``inputs`` order) and returning a Tensor (or a tuple).
        *inputs: arrays or Tensors; floating ones are cast to float64 and checked, others are
            passed through unchanged (labels, masks, indices).
        eps (float): finite-difference step. Default 1e-6.
        atol, rtol (float): tolerance ``|analytic - numeric| <= atol + rtol * |numeric|``.
        max_full (int): inputs with at most this many elements get every element perturbed;
            larger ones are checked along ``n_directions`` random unit directions.
        seed (int): seed of the projection vector and the directions.

    Returns:
        True when every check passes.

    Raises:
        GradcheckError: naming the input, the worst element (or direction), analytic and
        numeric values.
    """
    rs = np.random.default_rng(seed)
    ts = [_to_input(x) for x in inputs]
    out = fn(*ts)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    w = [rs.standard_normal(o.shape) for o in outs]
    # analytic: d(sum(w * out))/d(input)
    total = None
    for o, wi in zip(outs, w):
        if not o.requires_grad:
            continue
        term = (o * Tensor(wi.astype(o.dtype))).sum()
        total = term if total is None else total + term
    for t in ts:
        t._grad = None
    if total is not None:
        total.backward()

    def f_at() -> float:
        return _scalar(fn(*ts), w)

    for idx, t in enumerate(ts):
        if not t.requires_grad:
            continue
        g = t._grad
        analytic = np.zeros(t.shape) if g is None else np.asarray(g.array, dtype=np.float64)
        x = t.array
        if x.size <= max_full:
            numeric = np.zeros(x.shape)
            flat = x.reshape(-1)
            nflat = numeric.reshape(-1)
            for i in range(flat.size):
                old = flat[i]
                flat[i] = old + eps
                fp = f_at()
                flat[i] = old - eps
                fm = f_at()
                flat[i] = old
                nflat[i] = (fp - fm) / (2 * eps)
            err = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
            if (err > 0).any():
                k = np.unravel_index(int(np.argmax(err)), x.shape)
                raise GradcheckError(
                    f"gradcheck: input {idx} (shape {x.shape}) differs at element {k}: "
                    f"analytic {analytic[k]:.8g} vs numeric {numeric[k]:.8g} "
                    f"(max abs diff {np.abs(analytic - numeric).max():.3g}, atol {atol}, "
                    f"rtol {rtol})")
        else:
            for d in range(n_directions):
                v = rs.standard_normal(x.shape)
                v /= np.linalg.norm(v)
                old = x.copy()
                x += eps * v
                fp = f_at()
                x[...] = old - eps * v
                fm = f_at()
                x[...] = old
                num = (fp - fm) / (2 * eps)
                ana = float((analytic * v).sum())
                if abs(ana - num) > atol + rtol * abs(num):
                    raise GradcheckError(
                        f"gradcheck: input {idx} (shape {x.shape}) differs along random "
                        f"direction {d}: analytic {ana:.8g} vs numeric {num:.8g}")
    return True
