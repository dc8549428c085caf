"""DeepLift with the rescale rule and DeepLiftShap, as Captum 0.9 defines them.

Inputs and baselines run through the model as one batch ``[x; x']``. Every supported
non-linear module (matched by exact type, as Captum does) sends back the multiplier
``grad_out * (y - y') / (x - x')`` (its ordinary gradient where ``|x - x'| < eps``); max-pooling
routes ``grad_out * delta_out`` through each half's own argmax as Captum's ``maxpool`` does.
The attribution is ``(x - x') * multiplier``.
"""

from __future__ import annotations

from .. import backend as B
from ..autograd import Tensor
from ..nn.activation import ELU, LeakyReLU, ReLU, Sigmoid, Softplus, Tanh
from ..nn.pooling import MaxPool1d, MaxPool2d
from ._core import (Attribution, as_array, expand_args, expand_target, format_baseline,
                    input_gradients)
from ._hooks import override_modules, vjp

np = B.np

__all__ = ["DeepLift", "DeepLiftShap", "NONLINEAR"]

NONLINEAR = (ReLU, ELU, LeakyReLU, Sigmoid, Tanh, Softplus)
POOLS = (MaxPool1d, MaxPool2d)


def _rescale(eps, captum_hooks):
    def make(module, x, y):
        n = x.shape[0] // 2
        dx = x[:n] - x[n:]
        dx = np.concatenate([dx, dx])
        small = np.abs(dx) < eps
        safe = np.where(small, 1, dx)
        if type(module) in POOLS:
            ymax = np.maximum(y[:n], y[n:])
            dout = np.concatenate([ymax - y[n:], y[:n] - ymax])

            def rule(gy):
                u = vjp(module, x, gy * dout)
                u = u[:n] + u[n:]
                u = np.concatenate([u, u])
                plain = vjp(module, x, gy)
                return np.where(small, plain[:1] if captum_hooks else plain, u / safe)
        else:
            dy = y[:n] - y[n:]
            dy = np.concatenate([dy, dy])

            def rule(gy):
                return np.where(small, vjp(module, x, gy), gy * dy / safe)
        return rule
    return make


class DeepLift(Attribution):
    """DeepLift, rescale rule (Shrikumar et al. 2017; Ancona et al. 2018), Captum's
    ``DeepLift``. Non-linearities must be modules (``nn.ReLU``, ...), each used once, as in
    Captum; a functional ``F.relu`` keeps its ordinary gradient.

    Args:
        model (Module): the model.
        multiply_by_inputs (bool): multiply by ``(x - baseline)``. Default True.
        eps (float): below this ``|x - x'|`` a module's ordinary gradient is used.
            Default 1e-10.
        captum_hooks (bool): reproduce two behaviours of Captum 0.9's hooks, for parity
            (default True): a rule-bearing module fed directly by another one (the usual
            ``ReLU -> MaxPool2d``) keeps its ordinary gradient, since Captum's upstream hook
            records grad_output before the downstream hook rescales it; and max-pooling's
            ``|x - x'| < eps`` fallback takes the first row's gradient (``grad_input[0]``).
            False applies every rule as the paper defines it.

    Example:
        >>> attr, delta = DeepLift(model).attribute(x, baselines=0.0, target=y,
        ...                                         return_convergence_delta=True)
    """

    def __init__(self, model, multiply_by_inputs: bool = True, eps: float = 1e-10,
                 captum_hooks: bool = True):
        super().__init__(model)
        self.captum_hooks = captum_hooks
        self.model = model
        self.multiplies_by_inputs = multiply_by_inputs
        self.eps = eps

    def attribute(self, inputs, baselines=None, target=None, additional_forward_args=None,
                  return_convergence_delta: bool = False):
        """Args:
            inputs (Tensor or array): ``(N, ...)``.
            baselines (scalar, array or None): reference input; None is zeros. Default None.
            target (int, sequence or None): class per row. Default None.
            additional_forward_args: extra model arguments (tensors are doubled with the
                batch). Default None.
            return_convergence_delta (bool): also return ``sum(attr) - (f(x) - f(x'))``.

        Returns:
            Tensor shaped as ``inputs`` (and the delta array ``(N,)`` when asked).
        """
        x = as_array(inputs)
        b = np.ascontiguousarray(np.broadcast_to(format_baseline(baselines, x), x.shape))
        n = x.shape[0]
        t = expand_target(target, n)
        tt = t if t is None or isinstance(t, int) else np.tile(t, 2)
        with override_modules(self.model, _rescale(self.eps, self.captum_hooks),
                              NONLINEAR + POOLS, self.captum_hooks):
            g, _ = input_gradients(self.model, np.concatenate([x, b]), tt,
                                   expand_args(additional_forward_args, 2))
        g = g[:n]
        attr = ((x - b) * g if self.multiplies_by_inputs else g).astype(x.dtype, copy=False)
        if return_convergence_delta:
            return Tensor(attr), self.compute_convergence_delta(attr, b, x, target,
                                                                additional_forward_args)
        return Tensor(attr)


class DeepLiftShap(DeepLift):
    """DeepLift averaged over a distribution of baselines (Captum's ``DeepLiftShap``): each
    input is explained against every baseline row and the attributions are averaged.

    Args:
        model (Module): the model.
        multiply_by_inputs (bool): multiply by ``(x - baseline)``. Default True.
    """

    def attribute(self, inputs, baselines, target=None, additional_forward_args=None,
                  return_convergence_delta: bool = False):
        """Args:
            inputs (Tensor or array): ``(N, ...)``.
            baselines (array): ``(B, ...)`` background rows (B >= 2 in Captum).
            target (int, sequence or None): class per row. Default None.
            additional_forward_args: extra model arguments. Default None.
            return_convergence_delta (bool): also return the per-pair delta ``(N * B,)``.

        Returns:
            Tensor shaped as ``inputs``.
        """
        x = as_array(inputs)
        bl = as_array(baselines, x.dtype)
        n, k = x.shape[0], bl.shape[0]
        xr = np.repeat(x, k, axis=0)
        br = np.tile(bl, (n,) + (1,) * (x.ndim - 1))
        t = expand_target(target, n)
        tt = t if t is None or isinstance(t, int) else np.repeat(t, k)
        res = DeepLift.attribute(self, xr, br, tt, None, return_convergence_delta)
        a = res[0] if return_convergence_delta else res
        attr = Tensor(as_array(a).reshape((n, k) + x.shape[1:]).mean(1))
        return (attr, res[1]) if return_convergence_delta else attr
