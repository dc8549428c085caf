"""The backward engine: iterative, by generation, so a 10,000-op chain needs no recursion.

Functions are processed in decreasing generation (a function's generation is one more than the
newest function that produced its inputs), so every consumer of a tensor runs before the tensor's
producer: by then its gradient is complete, hooks see the total, and diamonds are exact.
"""

from __future__ import annotations

import heapq

from .. import backend as B
from .function import _FREED, _shapes
from .grad_mode import HOOKS, STATE
from .tensor import Tensor

__all__ = ["run_backward", "sum_to", "grad"]


_INPLACE_MIN = 4096  # below this many elements a fresh add beats NumPy's in-place dispatch


def sum_to(g, shape):
    """Sum the broadcast dimensions of ``g`` away so it has ``shape`` (the one unbroadcast)."""
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, s in enumerate(shape) if s == 1 and g.shape[i + lead] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    if lead:
        g = g.reshape(shape)
    return g


def _run_hooks(t: Tensor, g):
    for h in t._hooks:
        r = h(Tensor(g))
        if r is not None:
            g = r.data if isinstance(r, Tensor) else r
    return g


def run_backward(root: Tensor, grad=None, retain_graph: bool = False) -> None:
    """Backpropagate from ``root``; see :meth:`Tensor.backward`."""
    if not root._requires_grad:
        raise RuntimeError("backward: the tensor does not require grad and has no grad_fn; "
                           "did you compute it under no_grad() or from tensors without "
                           "requires_grad=True?")
    xp = B.get_array_module(root.data)
    if grad is None:
        if root.data.size != 1:
            raise RuntimeError(
                f"backward: grad can be implicitly created only for one-element outputs, got "
                f"shape {root.shape}; pass grad= (e.g. lamina.ones_like(y)) or reduce first")
        g0 = xp.ones(root.data.shape, root.data.dtype)
    else:
        g0 = grad.data if isinstance(grad, Tensor) else xp.asarray(grad, dtype=root.dtype)
        if g0.shape != root.shape:
            raise RuntimeError(f"backward: expected grad of shape {root.shape}, got {g0.shape}")
    prev = STATE.grad_enabled
    STATE.grad_enabled = False  # backward itself records nothing
    try:
        _backward(root, g0, retain_graph)
    finally:
        STATE.grad_enabled = prev


def _backward(root, g0, retain_graph):
    anomaly = STATE.anomaly
    hooks = HOOKS.active
    leaves: dict = {}   # id(tensor) -> [tensor, grad]
    mine = set()        # ids of gradient arrays this pass allocated (safe to add into in place)
    creator = root._creator
    if creator is None:
        leaves[id(root)] = [root, g0]
    else:
        # pending[fn] = list of gradients of fn's outputs; processed by decreasing generation
        pending = {creator: [None] * creator.nout}
        pending[creator][root._out_idx] = g0
        heap = [(-creator.generation, 0, creator)]
        seq = 0
        pop, push = heapq.heappop, heapq.heappush
        while heap:
            fn = pop(heap)[2]
            gys = pending.pop(fn)
            d = fn.__dict__
            if d.get("saved") is _FREED:
                raise RuntimeError(
                    f"backward: trying to backward through {fn.name} a second time, after its "
                    "saved arrays were freed; call backward(retain_graph=True) the first time")
            if hooks and "_hooked" in d:
                _output_hooks(fn, gys, d["_hooked"])
            if fn.nout > 1:
                _fill_missing(fn, gys)
            if anomaly:
                with fn.xp.errstate(all="ignore"):
                    gxs = fn.backward(*gys)
            else:
                gxs = fn.backward(*gys)
            if type(gxs) is not tuple:
                gxs = (gxs,)
            inputs = fn.inputs
            if len(gxs) != len(inputs):
                raise RuntimeError(f"{fn.name}.backward returned {len(gxs)} gradients for "
                                   f"{len(inputs)} inputs")
            for x, gx, need in zip(inputs, gxs, fn.needs_input_grad):
                if not need or gx is None:
                    continue
                xd = x.data
                if gx.shape != xd.shape:
                    gx = sum_to(gx, xd.shape)
                    if gx.shape != xd.shape:
                        raise RuntimeError(
                            f"{fn.name}.backward: gradient shape {gx.shape} does not match "
                            f"input shape {xd.shape}")
                if gx.dtype != xd.dtype:
                    gx = gx.astype(xd.dtype)
                if anomaly:
                    _check_backward(fn, x, gx)
                c = x._creator
                if c is None:
                    e = leaves.get(id(x))
                    if e is None:
                        leaves[id(x)] = [x, gx]
                    elif gx.size > _INPLACE_MIN and id(e[1]) in mine:
                        e[1] += gx  # large and ours: add in place (no new allocation)
                    else:
                        e[1] = e[1] + gx
                        mine.add(id(e[1]))
                    continue
                k = x._out_idx
                g = pending.get(c)
                if g is None:
                    g = pending[c] = [None] * c.nout
                    seq += 1
                    push(heap, (-c.generation, seq, c))
                prev = g[k]
                if prev is None:
                    g[k] = gx
                elif gx.size > _INPLACE_MIN and id(prev) in mine:
                    prev += gx
                else:
                    g[k] = prev + gx
                    mine.add(id(g[k]))
            if not retain_graph:
                fn.saved = _FREED
    handed = set()  # arrays already given to a leaf: a second leaf gets a copy, not an alias
    for t, g in leaves.values():
        if t._hooks:
            g = _run_hooks(t, g)
        if t.grad is None:
            # .grad must be a writable array of its own: not a broadcast view, not shared
            if id(g) in handed or not g.flags.owndata or not g.flags.writeable:
                g = g.copy()
            handed.add(id(g))
            t.grad = g
        else:
            t.grad = t.grad + g


def _output_hooks(fn, gys, hooked) -> None:
    for i, r in hooked.items():
        o = r()
        if o is None or gys[i] is None:
            continue
        if o._hooks:
            gys[i] = _run_hooks(o, gys[i])
        if o._retain:
            o.grad = gys[i] if o.grad is None else o.grad + gys[i]


def _fill_missing(fn, gys) -> None:
    """Outputs of a multi-output op that got no gradient get zeros."""
    for i, r in enumerate(fn.outputs):
        if gys[i] is None:
            o = r()
            if o is not None:
                gys[i] = fn.xp.zeros_like(o.data)


def _check_backward(fn, x, gx) -> None:
    if not bool(fn.xp.isfinite(gx).all()):
        raise FloatingPointError(
            f"detect_anomaly: backward of {fn.name} produced NaN/Inf in the gradient of an "
            f"input of shape {tuple(x.shape)}; input shapes "
            f"({_shapes([getattr(i, 'data', None) for i in fn.inputs])})")


def grad(outputs, inputs, grad_outputs=None, retain_graph: bool = False):
    """Return d(outputs)/d(inputs) as a tuple of arrays without touching ``.grad``.

    Args:
        outputs (Tensor): a scalar tensor (or pass ``grad_outputs``).
        inputs (sequence of Tensor): tensors that require grad.
    """
    inputs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    saved = [(t.grad) for t in inputs]
    for t in inputs:
        t.grad = None
    try:
        # temporarily treat the inputs as leaves of the pass by collecting their grads via hooks
        got = {}
        handles = []
        for t in inputs:
            def hook(g, _t=t):
                got[id(_t)] = g.data
            if t._creator is not None:
                t.retain_grad()
            handles.append(t.register_hook(hook))
        run_backward(outputs, grad_outputs, retain_graph)
        for h in handles:
            h.remove()
        return tuple(Tensor(got[id(t)]) if id(t) in got else None for t in inputs)
    finally:
        for t, g in zip(inputs, saved):
            t.grad = g
