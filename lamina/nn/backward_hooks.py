"""``Module.register_full_backward_hook``: PyTorch's module backward hooks, on our autograd.

As in PyTorch, the module's Tensor inputs and outputs pass through two identity ops. The one on
the outputs records ``grad_output`` when backward reaches the module; the one on the inputs
receives ``grad_input`` once the module's whole backward is done, calls each
``hook(module, grad_input, grad_output)`` and lets a non-None return replace ``grad_input``.
When no input needs a gradient the hooks run at the outputs with ``grad_input`` all None.
Interpretability (guided backprop, DeepLift) and per-example gradients (DP-SGD) use it.
"""

from __future__ import annotations

from ..autograd.function import Function
from ..autograd.tensor import Tensor

__all__ = ["call_with_backward_hooks"]


class _State:
    __slots__ = ("module", "hooks", "grad_output", "n_in")

    def __init__(self, module, hooks, n_in):
        self.module, self.hooks, self.grad_output, self.n_in = module, hooks, None, n_in


def _as_tensors(grads):
    return tuple(None if g is None else Tensor(g) for g in grads)


def _run(state, grad_input):
    """Call the hooks; returns the (possibly replaced) grad_input as raw arrays."""
    gin = _as_tensors(grad_input)
    gout = _as_tensors(state.grad_output or ())
    for hook in list(state.hooks):
        r = hook(state.module, gin, gout)
        if r is not None:
            r = (r,) if isinstance(r, Tensor) or not isinstance(r, (tuple, list)) else tuple(r)
            if len(r) != len(gin):
                raise ValueError(
                    f"backward hook of {type(state.module).__name__}: expected {len(gin)} "
                    f"gradient(s) (one per tensor input), got {len(r)}")
            gin = tuple(None if g is None else g if isinstance(g, Tensor) else Tensor(g)
                        for g in r)
    return tuple(None if g is None else g.array for g in gin)


class _HookInputs(Function):
    """Identity over the module's tensor inputs; runs the hooks with grad_input."""

    def forward(self, *xs):
        return xs if len(xs) != 1 else xs[0]

    def backward(self, *gys):
        gys = tuple(g if need else None for g, need in zip(gys, self.needs_input_grad))
        return _run(self.state, gys)


class _HookOutputs(Function):
    """Identity over the module's tensor outputs; records grad_output."""

    def forward(self, *xs):
        return xs if len(xs) != 1 else xs[0]

    def backward(self, *gys):
        self.state.grad_output = gys
        if not self.state.n_in:  # no input needs a gradient: PyTorch fires the hooks here
            _run(self.state, (None,))
        return gys


def call_with_backward_hooks(module, hooks, forward, args, kwargs):
    """Run ``forward(*args, **kwargs)`` with the module's full backward hooks attached.

    Args:
        module (Module): the module whose hooks run.
        hooks (list): its ``hook(module, grad_input, grad_output)`` callables.
        forward (callable): the forward to run (forward hooks already wrapped around it).
        args (tuple): positional inputs; Tensors among them get ``grad_input`` entries.
        kwargs (dict): keyword inputs (passed through, no gradients reported).

    Returns:
        The forward's output, its Tensors passed through the recording identity op.
    """
    idx = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
    need_in = [i for i in idx if args[i].requires_grad]
    state = _State(module, hooks, len(need_in))
    if need_in:
        wrapped = _HookInputs.apply(*[args[i] for i in idx], state=state)
        wrapped = wrapped if isinstance(wrapped, tuple) else (wrapped,)
        args = list(args)
        for i, w in zip(idx, wrapped):
            args[i] = w
        args = tuple(args)
    out = forward(*args, **kwargs)
    single = isinstance(out, Tensor)
    outs = (out,) if single else tuple(out) if isinstance(out, (tuple, list)) else None
    if outs is None:
        return out
    pos = [i for i, o in enumerate(outs) if isinstance(o, Tensor) and o.requires_grad]
    if not pos:
        return out
    got = _HookOutputs.apply(*[outs[i] for i in pos], state=state)
    got = got if isinstance(got, tuple) else (got,)
    outs = list(outs)
    for i, g in zip(pos, got):
        outs[i] = g
    return outs[0] if single else type(out)(outs)
