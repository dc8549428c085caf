"""Layer-wise relevance propagation (Bach et al. 2015), Captum 0.9's ``LRP`` and its rules.

Two passes, as in Captum: the first records every rule layer's input activation ``a`` and the
target score; the rules then rewrite weights (gamma, z+) and the second pass backpropagates
``R_in = a * (W^T (R_out / (z + eps * sign(z))))`` layer by layer (``z`` with the rewritten
weights on the recorded ``a``), activations passing relevance through unchanged. The weights
are restored afterwards. Set a rule as in Captum: ``model.fc1.rule = EpsilonRule(0.1)``.
"""

from __future__ import annotations

from .. import backend as B
from ..autograd import Tensor
from ..errors import check
from ..nn.activation import ReLU, Tanh
from ..nn.conv import Conv2d
from ..nn.layers import Dropout, Flatten, Identity, Linear
from ..nn.normalization import BatchNorm2d
from ..nn.pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool1d, MaxPool2d
from ._core import Attribution, as_array, forward_eval, input_gradients
from ._hooks import Override

np = B.np

__all__ = ["LRP", "PropagationRule", "EpsilonRule", "GammaRule", "Alpha1_Beta0_Rule",
           "IdentityRule"]


class PropagationRule:
    """Base of the LRP rules: ``STABILITY_FACTOR`` is the epsilon of ``z + eps * sign(z)``."""

    STABILITY_FACTOR = 1e-9

    def manipulate_weights(self, module) -> None:
        """Rewrite the module's parameter arrays in place (restored after attribution)."""


class EpsilonRule(PropagationRule):
    """LRP-epsilon: ``eps`` absorbs weak or contradictory relevance.

    Args:
        epsilon (float): stabiliser. Default 1e-9.
    """

    def __init__(self, epsilon: float = 1e-9):
        self.STABILITY_FACTOR = epsilon


class GammaRule(PropagationRule):
    """LRP-gamma: ``W + gamma * max(W, 0)`` favours positive contributions.

    Args:
        gamma (float): Default 0.25.
        set_bias_to_zero (bool): Default False.
    """

    def __init__(self, gamma: float = 0.25, set_bias_to_zero: bool = False):
        self.gamma, self.set_bias_to_zero = gamma, set_bias_to_zero

    def manipulate_weights(self, module):
        w = getattr(module, "weight", None)
        if w is not None:
            w.array = w.array + self.gamma * np.maximum(w.array, 0)
        _zero_bias(module, self.set_bias_to_zero)


class Alpha1_Beta0_Rule(PropagationRule):  # noqa: N801  (Captum's name)
    """LRP-alpha1-beta0 (z+ / deep Taylor): only positive weights propagate.

    Args:
        set_bias_to_zero (bool): Default False.
    """

    def __init__(self, set_bias_to_zero: bool = False):
        self.set_bias_to_zero = set_bias_to_zero

    def manipulate_weights(self, module):
        w = getattr(module, "weight", None)
        if w is not None:
            w.array = np.maximum(w.array, 0)
        _zero_bias(module, self.set_bias_to_zero)


class IdentityRule(EpsilonRule):
    """Relevance passes unchanged (input and output of the same shape, e.g. BatchNorm2d)."""


def _zero_bias(module, flag):
    b = getattr(module, "bias", None)
    if flag and b is not None:
        b.array = np.zeros_like(b.array)


RULE_LAYERS = (Linear, Conv2d, MaxPool1d, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, BatchNorm2d)
PASS_LAYERS = (ReLU, Dropout, Tanh)
SHAPE_LAYERS = (Flatten, Identity)


class LRP(Attribution):
    """Layer-wise relevance propagation with per-layer rules (Captum's ``LRP``).

    Rule layers (Linear, Conv2d, pools, BatchNorm2d) default to :class:`EpsilonRule`; set
    ``module.rule`` to choose another (Captum's way), or give a rule per layer type with
    ``layer_rules`` (lamina's addition; a module's own ``.rule`` wins over its type's).
    ReLU, Dropout and Tanh pass relevance through; Flatten and Identity (which Captum
    rejects) are plain reshapes. Any other leaf module raises TypeError, as in Captum. Each
    module must be used once per forward.

    Args:
        model (Module): the model.
        layer_rules (dict or None): ``{module type: PropagationRule}``, matched with
            ``isinstance`` in the dict's order. Default None.

    Example:
        >>> model[0].rule = GammaRule(0.25)
        >>> rel, delta = LRP(model).attribute(x, target=y, return_convergence_delta=True)
        >>> LRP(model, layer_rules={nn.Conv2d: GammaRule(0.25)}).attribute(x, target=y)
    """

    def __init__(self, model, layer_rules=None):
        super().__init__(model)
        self.model = model
        self.layer_rules = dict(layer_rules or {})
        for t, r in self.layer_rules.items():
            check(isinstance(t, type) and isinstance(r, PropagationRule), "LRP",
                  "layer_rules as {module type: PropagationRule}",
                  f"{t!r}: {type(r).__name__}", cls=TypeError)

    def _type_rule(self, m):
        return next((r for t, r in self.layer_rules.items() if isinstance(m, t)), None)

    def _rules(self):
        rules = {}
        for m in self.model.modules():
            if next(iter(m.children()), None) is not None:
                continue
            rule = m.__dict__.get("rule")
            rule = self._type_rule(m) if rule is None else rule
            if rule is not None:
                check(isinstance(rule, PropagationRule), "LRP", "a PropagationRule as .rule",
                      type(rule).__name__, cls=TypeError)
                rules[m] = rule
            elif type(m) in RULE_LAYERS:
                rules[m] = EpsilonRule()
            elif type(m) not in PASS_LAYERS + SHAPE_LAYERS:
                raise TypeError(f"LRP: expected a module with a rule, got {type(m).__name__} "
                                "without one; set module.rule = EpsilonRule() (or another)")
        return rules

    def attribute(self, inputs, target=None, additional_forward_args=None,
                  return_convergence_delta: bool = False, verbose: bool = False):
        """Args:
            inputs (Tensor or array): ``(N, ...)``.
            target (int, sequence or None): class per row. Default None.
            additional_forward_args: extra model arguments. Default None.
            return_convergence_delta (bool): also return ``f(x)_target - sum(R)``.
            verbose (bool): print the rule of each layer. Default False.

        Returns:
            Tensor of relevances shaped as ``inputs`` (and the delta ``(N,)`` when asked).
        """
        x = as_array(inputs)
        rules = self._rules()
        if verbose:
            for m, r in rules.items():
                print(f"{type(m).__name__}: {type(r).__name__}")
        acts, handles = {}, []

        def record(module, args):
            check(module not in acts, "LRP", "each module used once per forward",
                  f"{type(module).__name__} called twice")
            acts[module] = as_array(args[0])

        try:
            handles = [m.register_forward_pre_hook(record) for m in rules]
            out = forward_eval(self.model, x, target, additional_forward_args)
        finally:
            for h in handles:
                h.remove()
        saved = {m: [(p, p.array) for p in m.parameters(recurse=False)] for m in rules}
        handles = []
        try:
            for m, r in rules.items():
                r.manipulate_weights(m)
                handles += self._register(m, r, acts[m])
            for m in self.model.modules():
                if type(m) in PASS_LAYERS:
                    handles.append(m.register_forward_hook(_pass_through))
            g, _ = input_gradients(self.model, x, target, additional_forward_args)
        finally:
            for h in handles:
                h.remove()
            for pairs in saved.values():
                for p, arr in pairs:
                    p.array = arr
        rel = (g * out.reshape((-1,) + (1,) * (x.ndim - 1))).astype(x.dtype, copy=False)
        if return_convergence_delta:
            return Tensor(rel), out - rel.reshape(rel.shape[0], -1).sum(1)
        return Tensor(rel)

    @staticmethod
    def _register(module, rule, a):
        box = {}

        def pre(mod, args):
            t = args[0]
            if isinstance(rule, IdentityRule):
                return (Override.apply(t, a, rule=lambda gy: box["gy"]),) + tuple(args[1:])
            return (Override.apply(t, a, rule=lambda gy: gy * a),) + tuple(args[1:])

        def post(mod, args, z):
            za = z.array
            sign = np.where(za >= 0, 1.0, -1.0).astype(za.dtype)
            eps = rule.STABILITY_FACTOR

            def div(gy):
                box["gy"] = gy
                return gy / (za + sign * eps)
            return Override.apply(z, za, rule=div)

        return [module.register_forward_pre_hook(pre), module.register_forward_hook(post)]


def _pass_through(module, args, out):
    x = args[0]
    if not isinstance(x, Tensor) or not x.requires_grad:
        return None
    return Override.apply(x, out.array, rule=lambda gy: gy)
