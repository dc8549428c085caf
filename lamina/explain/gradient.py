"""Gradient attributions, named and defined as in Captum 0.9: Saliency, InputXGradient,
IntegratedGradients, NoiseTunnel, GuidedBackprop, Deconvolution and GradientShap.

Every method batches the whole input (and every IG step of a chunk) through one forward and
one backward; the model's parameters are frozen for the pass and restored after.
"""

from __future__ import annotations

from .. import backend as B
from ..autograd import Tensor
from ..errors import check
from ..nn.activation import ReLU
from ._core import (Attribution, as_array, expand_args, expand_target, format_baseline,
                    input_gradients)
from ._hooks import override_modules

np = B.np

__all__ = ["Saliency", "InputXGradient", "IntegratedGradients", "NoiseTunnel",
           "GuidedBackprop", "Deconvolution", "GradientShap", "approximation_parameters"]

METHODS = ("riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid",
           "gausslegendre")


def approximation_parameters(method: str, n_steps: int):
    """Step sizes and alphas of Captum's integral rules.

    ``riemann_trapezoid`` follows Captum, not the textbook: ``n`` points on ``linspace(0, 1,
    n)`` with weights ``1/n`` (the two ends ``1/(2n)``), which sum to ``1 - 1/n``; the
    textbook rule on those points weighs ``1/(n-1)`` (ends ``1/(2(n-1))``) and sums to 1.

    Args:
        method (str): one of ``riemann_left``, ``riemann_right``, ``riemann_middle``,
            ``riemann_trapezoid``, ``gausslegendre``.
        n_steps (int): number of points.

    Returns:
        (step_sizes, alphas): float64 arrays of length ``n_steps``.
    """
    check(method in METHODS, "IntegratedGradients", f"method in {METHODS}", repr(method),
          cls=ValueError)
    n = int(n_steps)
    if method == "gausslegendre":
        check(n > 0, "IntegratedGradients", "n_steps > 0", str(n), cls=ValueError)
        pts, w = np.polynomial.legendre.leggauss(n)
        return 0.5 * w, 0.5 * (1 + pts)
    check(n > 1, "IntegratedGradients", "n_steps > 1 for a Riemann rule", str(n),
          cls=ValueError)
    steps = np.full(n, 1.0 / n)
    kind = method.split("_")[1]
    if kind == "trapezoid":
        steps[0] /= 2
        steps[-1] /= 2
        alphas = np.linspace(0, 1, n)
    elif kind == "left":
        alphas = np.linspace(0, 1 - 1 / n, n)
    elif kind == "middle":
        alphas = np.linspace(1 / (2 * n), 1 - 1 / (2 * n), n)
    else:
        alphas = np.linspace(1 / n, 1, n)
    return steps, alphas


class Saliency(Attribution):
    """Gradient of the target score with respect to the input (Simonyan et al. 2013).

    Args:
        forward_func (Module or callable): the model.

    Example:
        >>> attr = Saliency(model).attribute(x, target=3)      # |d f_3 / d x|, shaped as x
    """

    def attribute(self, inputs, target=None, abs=True, additional_forward_args=None):
        """Args:
            inputs (Tensor or array): ``(N, ...)``.
            target (int, sequence or None): class per row, or None for a scalar output.
            abs (bool): absolute value of the gradient. Default True.
            additional_forward_args: extra model arguments (batch-aligned). Default None.

        Returns:
            Tensor: shaped as ``inputs``.
        """
        x = as_array(inputs)
        g, _ = input_gradients(self.forward_func, x, target, additional_forward_args)
        return self._out(np.abs(g) if abs else g, x)


class InputXGradient(Attribution):
    """``inputs * d f / d inputs`` (Shrikumar et al. 2016).

    Args:
        forward_func (Module or callable): the model.
    """

    multiplies_by_inputs = True

    def attribute(self, inputs, target=None, additional_forward_args=None):
        """Args:
            inputs (Tensor or array): ``(N, ...)``.
            target (int, sequence or None): class per row. Default None.
            additional_forward_args: extra model arguments. Default None.

        Returns:
            Tensor: shaped as ``inputs``.
        """
        x = as_array(inputs)
        g, _ = input_gradients(self.forward_func, x, target, additional_forward_args)
        return self._out(g * x, x)


class IntegratedGradients(Attribution):
    """Integrated Gradients (Sundararajan et al. 2017) with Captum's quadrature rules.

    ``attr = (x - x') * sum_k w_k * grad f(x' + a_k (x - x'))``.

    Args:
        forward_func (Module or callable): the model.
        multiply_by_inputs (bool): multiply by ``(x - baseline)`` (global attribution);
            False gives the integrated gradient alone (local). Default True.

    Example:
        >>> ig = IntegratedGradients(model)
        >>> attr, delta = ig.attribute(x, target=y, n_steps=64, return_convergence_delta=True)
    """

    def __init__(self, forward_func, multiply_by_inputs: bool = True):
        super().__init__(forward_func)
        self.multiplies_by_inputs = multiply_by_inputs

    def attribute(self, inputs, baselines=None, target=None, additional_forward_args=None,
                  n_steps: int = 50, method: str = "gausslegendre", internal_batch_size=None,
                  return_convergence_delta: bool = False):
        """Args:
            inputs (Tensor or array): ``(N, ...)``.
            baselines (scalar, array or None): start of the path; None is zeros. Default None.
            target (int, sequence or None): class per row. Default None.
            additional_forward_args: extra model arguments (batch-aligned). Default None.
            n_steps (int): points of the quadrature. Default 50.
            method (str): ``gausslegendre`` (default) or ``riemann_left/right/middle/trapezoid``.
            internal_batch_size (int or None): rows per forward pass (at least N); None puts
                all ``n_steps * N`` rows in one pass. Default None.
            return_convergence_delta (bool): also return ``sum(attr) - (f(x) - f(x'))`` per
                row. Default False.

        Returns:
            Tensor shaped as ``inputs`` (and a delta array ``(N,)`` when asked).
        """
        x = as_array(inputs)
        b = format_baseline(baselines, x)
        steps, alphas = approximation_parameters(method, n_steps)
        total = self._integrate(x, b, target, additional_forward_args, steps, alphas,
                                internal_batch_size)
        attr = total * (x - b) if self.multiplies_by_inputs else total
        attr = attr.astype(x.dtype, copy=False)
        if return_convergence_delta:
            bb = np.broadcast_to(b, x.shape)
            delta = self.compute_convergence_delta(attr, bb, x, target, additional_forward_args)
            return Tensor(attr), delta
        return Tensor(attr)

    def _integrate(self, x, b, target, args, steps, alphas, internal_batch_size):
        n = x.shape[0]
        per = len(alphas) if internal_batch_size is None else max(1, internal_batch_size // n)
        total = np.zeros(x.shape, dtype=x.dtype)
        d = x - b
        for s in range(0, len(alphas), per):
            a = alphas[s:s + per].astype(x.dtype)
            k = len(a)
            xs = b[None] + a.reshape((k,) + (1,) * x.ndim) * d[None]
            xs = xs.reshape((k * n,) + x.shape[1:])
            t = expand_target(target, n)
            tt = t if t is None or isinstance(t, int) else np.tile(t, k)
            g, _ = input_gradients(self.forward_func, xs, tt, expand_args(args, k))
            w = steps[s:s + per].astype(x.dtype).reshape((k,) + (1,) * x.ndim)
            total += (g.reshape((k,) + x.shape) * w).sum(0)
        return total


class NoiseTunnel(Attribution):
    """SmoothGrad / SmoothGrad-squared / VarGrad around any attribution method (Captum's
    ``NoiseTunnel``): average the method's attributions over Gaussian-noised copies of x.

    Args:
        attribution_method (Attribution): e.g. ``Saliency(model)`` or
            ``IntegratedGradients(model)``.
    """

    def __init__(self, attribution_method):
        super().__init__(attribution_method.forward_func)
        self.attribution_method = attribution_method

    def attribute(self, inputs, nt_type: str = "smoothgrad", nt_samples: int = 5,
                  nt_samples_batch_size=None, stdevs: float = 1.0,
                  draw_baseline_from_distrib: bool = False, **kwargs):
        """Args:
            inputs (Tensor or array): ``(N, ...)``.
            nt_type (str): ``smoothgrad`` (mean), ``smoothgrad_sq`` (mean of squares) or
                ``vargrad`` (variance). Default ``smoothgrad``.
            nt_samples (int): noisy copies per input. Default 5.
            nt_samples_batch_size (int or None): copies per call of the inner method; None
                sends all at once. Default None.
            stdevs (float): standard deviation of the noise. Default 1.0.
            draw_baseline_from_distrib (bool): draw one baseline row per copy from
                ``kwargs['baselines']``. Default False.
            **kwargs: passed to the inner ``attribute`` (target, baselines, n_steps, ...).

        Returns:
            Tensor shaped as ``inputs``.
        """
        check(nt_type in ("smoothgrad", "smoothgrad_sq", "vargrad"), "NoiseTunnel",
              "nt_type in smoothgrad, smoothgrad_sq, vargrad", repr(nt_type), cls=ValueError)
        x = as_array(inputs)
        n = x.shape[0]
        per = nt_samples if nt_samples_batch_size is None else max(1, nt_samples_batch_size)
        target = kwargs.pop("target", None)
        base = kwargs.pop("baselines", None)
        rng = B.rng()
        s1 = np.zeros(x.shape, x.dtype)
        s2 = np.zeros(x.shape, x.dtype)
        done = 0
        while done < nt_samples:
            k = min(per, nt_samples - done)
            noisy = x[None] + rng.normal(0.0, stdevs, (k,) + x.shape).astype(x.dtype)
            kw = dict(kwargs)
            t = expand_target(target, n)
            kw["target"] = t if t is None or isinstance(t, int) else np.tile(t, k)
            if base is not None:
                b = as_array(base, x.dtype)
                if draw_baseline_from_distrib:
                    b = b[rng.integers(0, b.shape[0], k * n)]
                elif b.ndim == x.ndim and b.shape[0] == n:
                    b = np.concatenate([b] * k)
                kw["baselines"] = b
            a = as_array(self.attribution_method.attribute(
                noisy.reshape((k * n,) + x.shape[1:]), **kw)).reshape((k,) + x.shape)
            s1 += a.sum(0)
            s2 += (a * a).sum(0)
            done += k
        mean, mean_sq = s1 / nt_samples, s2 / nt_samples
        out = {"smoothgrad": mean, "smoothgrad_sq": mean_sq,
               "vargrad": mean_sq - mean * mean}[nt_type]
        return Tensor(out.astype(x.dtype, copy=False))


def _guided_rule(module, x, y):
    mask = (x > 0).astype(x.dtype)
    return lambda gy: np.maximum(gy * mask, 0)


def _deconv_rule(module, x, y):
    return lambda gy: np.maximum(gy, 0)


class GuidedBackprop(Attribution):
    """Guided backpropagation (Springenberg et al. 2014): the gradient, with every ``ReLU``
    module passing back only positive gradients. As in Captum, only ``nn.ReLU`` modules are
    overridden (a functional ``F.relu`` inside ``forward`` is not).

    Args:
        model (Module): the model.
    """

    _rule = staticmethod(_guided_rule)

    def __init__(self, model):
        super().__init__(model)
        self.model = model

    def attribute(self, inputs, target=None, additional_forward_args=None):
        """Args:
            inputs (Tensor or array): ``(N, ...)``.
            target (int, sequence or None): class per row. Default None.
            additional_forward_args: extra model arguments. Default None.

        Returns:
            Tensor shaped as ``inputs``.
        """
        x = as_array(inputs)
        with override_modules(self.model, self._rule, (ReLU,)):
            g, _ = input_gradients(self.model, x, target, additional_forward_args)
        return self._out(g, x)


class Deconvolution(GuidedBackprop):
    """Deconvolution (Zeiler & Fergus 2014): ReLU modules pass back ``relu(grad_output)``,
    ignoring their own input mask (Captum's definition).

    Args:
        model (Module): the model.
    """

    _rule = staticmethod(_deconv_rule)


class GradientShap(Attribution):
    """GradientSHAP / expected gradients (Lundberg & Lee 2017; Captum's ``GradientShap``):
    ``E[(x + eps - b) * grad f(b + a (x + eps - b))]`` over baselines ``b`` drawn from
    ``baselines``, ``a ~ U(0, 1)`` and ``eps ~ N(0, stdevs^2)``.

    Args:
        forward_func (Module or callable): the model.
        multiply_by_inputs (bool): multiply by ``(x - b)``. Default True.
    """

    def __init__(self, forward_func, multiply_by_inputs: bool = True):
        super().__init__(forward_func)
        self.multiplies_by_inputs = multiply_by_inputs

    def attribute(self, inputs, baselines, target=None, n_samples: int = 5,
                  stdevs: float = 0.0, additional_forward_args=None,
                  return_convergence_delta: bool = False):
        """Args:
            inputs (Tensor or array): ``(N, ...)``.
            baselines (array or callable): ``(B, ...)`` reference rows (the background), or
                a function returning them.
            target (int, sequence or None): class per row. Default None.
            n_samples (int): random draws per input. Default 5.
            stdevs (float): input noise. Default 0.0.
            additional_forward_args: extra model arguments. Default None.
            return_convergence_delta (bool): also return the per-draw completeness gap
                ``(N * n_samples,)``. Default False.

        Returns:
            Tensor shaped as ``inputs`` (and the delta when asked).
        """
        x = as_array(inputs)
        bl = as_array(baselines() if callable(baselines) else baselines, x.dtype)
        if bl.ndim == x.ndim - 1:
            bl = bl[None]
        n, k = x.shape[0], int(n_samples)
        rng = B.rng()
        xr = np.repeat(x, k, axis=0)
        if stdevs:
            xr = xr + rng.normal(0.0, stdevs, xr.shape).astype(x.dtype)
        b = bl[rng.integers(0, bl.shape[0], n * k)]
        a = rng.uniform(0.0, 1.0, n * k).astype(x.dtype).reshape((-1,) + (1,) * (x.ndim - 1))
        t = expand_target(target, n)
        tt = t if t is None or isinstance(t, int) else np.repeat(t, k)
        g, _ = input_gradients(self.forward_func, b + a * (xr - b), tt,
                               _repeat_args(additional_forward_args, k))
        each = g * (xr - b) if self.multiplies_by_inputs else g
        attr = each.reshape((n, k) + x.shape[1:]).mean(1).astype(x.dtype, copy=False)
        if return_convergence_delta:
            delta = self.compute_convergence_delta(each, b, xr, tt,
                                                   _repeat_args(additional_forward_args, k))
            return Tensor(attr), delta
        return Tensor(attr)


def _repeat_args(args, k):
    if args is None:
        return None
    if not isinstance(args, tuple):
        args = (args,)
    return tuple(Tensor(np.repeat(as_array(a), k, axis=0)) if hasattr(a, "shape") else a
                 for a in args)
