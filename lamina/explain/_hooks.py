"""Override a module's backward rule through a forward hook, leaving its code alone.

A forward hook returns ``Override.apply(input, output, rule=...)``: the same output values, but
the gradient that reaches the module's input is whatever ``rule(grad_output)`` returns. This is
what Captum does with ``register_full_backward_hook`` (GuidedBackprop, DeepLift's rescale rule,
LRP's pass-through activations), written as one custom autograd Function.
"""

from __future__ import annotations

from contextlib import contextmanager

from ..autograd import Function, Tensor, enable_grad

__all__ = ["Override", "override_modules", "vjp"]


class Override(Function):
    """Identity on ``y`` in forward; backward sends ``self.rule(gy)`` to the input ``x``."""

    def forward(self, x, y):
        return y.copy()

    def backward(self, gy):
        return self.rule(gy), None


def vjp(module, x, gy):
    """The module's own input gradient ``J(x)^T gy`` (re-running its forward on ``x``)."""
    t = Tensor(x, requires_grad=True)
    with enable_grad():
        y = module.forward(t)
        y.backward(Tensor(gy))
    return t.grad.array


@contextmanager
def override_modules(model, make_rule, types, captum_chain=False):
    """For each submodule of one of ``types``, route its backward through
    ``make_rule(module, x, y)`` (which returns ``rule(gy) -> gx``) for the block.

    ``captum_chain``: reproduce how Captum's tensor hooks compose when a hooked module reads
    the output of another hooked module directly (``ReLU -> MaxPool2d``): the upstream module
    records its grad_output before the downstream hook rewrites it, so the downstream rule is
    lost (it keeps its ordinary gradient) and the next one down the chain applies again.
    """
    handles = []
    made = {}  # id(output tensor) -> (tensor, its module's rule was applied)

    def hook(module, args, out):
        x = args[0]
        if not isinstance(x, Tensor) or not x.requires_grad:
            return None
        prev = made.get(id(x))
        if captum_chain and prev is not None and prev[1]:
            made[id(out)] = (out, False)
            return None
        new = Override.apply(x, out.array, rule=make_rule(module, x.array, out.array))
        made[id(new)] = (new, True)
        return new

    for m in model.modules():
        if type(m) in types:
            handles.append(m.register_forward_hook(hook))
    try:
        yield
    finally:
        for h in handles:
            h.remove()
