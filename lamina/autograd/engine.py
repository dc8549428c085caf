"""The backward engine: iterative, by generation, so a 10,000-op chain needs no recursion.

Functions are processed in decreasing generation (a function's generation is one more than the
newest function that produced its inputs), so every consumer of a tensor runs before the tensor's
producer: by then its gradient is complete, hooks see the total, and diamonds are exact.
"""

from __future__ import annotations

import heapq

from .. import backend as B
from .function import _FREED, _shapes
from .grad_mode import STATE, no_grad
from .tensor import Tensor

__all__ = ["run_backward", "sum_to", "grad"]


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
        g0 = xp.ones_like(root.data)
    else:
        g0 = grad.data if isinstance(grad, Tensor) else xp.asarray(grad, dtype=root.dtype)
        if g0.shape != root.shape:
            raise RuntimeError(f"backward: expected grad of shape {root.shape}, got {g0.shape}")
    with no_grad():
        _backward(root, g0, retain_graph)


def _backward(root, g0, retain_graph):
    anomaly = STATE.anomaly
    leaf_grads: dict = {}   # id -> [tensor, grad, owned]
    handed = set()           # ids of arrays already handed to a leaf's .grad

    def add_leaf(t, g):
        e = leaf_grads.get(id(t))
        if e is None:
            leaf_grads[id(t)] = [t, g, False]
        elif e[2]:
            e[1] += g
        else:
            e[1] = e[1] + g
            e[2] = True

    creator = root._creator
    if creator is None:
        add_leaf(root, g0)
    else:
        heap = []
        seq = 0
        creator._gys = [None] * len(creator.outputs)
        creator._owned = [False] * len(creator.outputs)
        creator._gys[root._out_idx] = g0
        heapq.heappush(heap, (-creator.generation, seq, creator))
        while heap:
            fn = heapq.heappop(heap)[2]
            gys = fn._gys
            del fn._gys, fn._owned
            if fn.__dict__.get("saved", None) is _FREED:
                raise RuntimeError(
                    f"backward: trying to backward through {fn.name} a second time, after its "
                    "saved arrays were freed; call backward(retain_graph=True) the first time")
            for i, r in enumerate(fn.outputs):
                o = r()
                if o is None:
                    continue
                if gys[i] is None:
                    continue
                if o._hooks:
                    gys[i] = _run_hooks(o, gys[i])
                if o._retain:
                    o.grad = gys[i] if o.grad is None else o.grad + gys[i]
            if len(gys) > 1 and any(g is None for g in gys):
                for i, r in enumerate(fn.outputs):
                    if gys[i] is None:
                        o = r()
                        shape_dtype = o.data if o is not None else None
                        gys[i] = (fn.xp.zeros_like(shape_dtype) if shape_dtype is not None
                                  else None)
            gxs = fn.backward(*gys)
            if not isinstance(gxs, tuple):
                gxs = (gxs,)
            if len(gxs) != len(fn.inputs):
                raise RuntimeError(f"{fn.name}.backward returned {len(gxs)} gradients for "
                                   f"{len(fn.inputs)} inputs")
            for x, gx, need in zip(fn.inputs, gxs, fn.needs_input_grad):
                if not need or gx is None:
                    continue
                if gx.shape != x.data.shape:
                    gx = sum_to(gx, x.data.shape)
                    if gx.shape != x.data.shape:
                        raise RuntimeError(
                            f"{fn.name}.backward: gradient shape {gx.shape} does not match "
                            f"input shape {x.data.shape}")
                if gx.dtype != x.data.dtype:
                    gx = gx.astype(x.data.dtype)
                if anomaly and not bool(fn.xp.isfinite(gx).all()):
                    raise FloatingPointError(
                        f"detect_anomaly: backward of {fn.name} produced NaN/Inf in the "
                        f"gradient of an input of shape {tuple(x.shape)}; input shapes "
                        f"({_shapes([i.data if i is not None else None for i in fn.inputs])})")
                c = x._creator
                if c is None:
                    add_leaf(x, gx)
                    continue
                k = x._out_idx
                pend = c.__dict__.get("_gys")
                if pend is None:
                    c._gys = pend = [None] * len(c.outputs)
                    c._owned = [False] * len(c.outputs)
                    seq += 1
                    heapq.heappush(heap, (-c.generation, seq, c))
                if pend[k] is None:
                    pend[k] = gx
                elif c._owned[k]:
                    pend[k] += gx
                else:
                    pend[k] = pend[k] + gx
                    c._owned[k] = True
            if not retain_graph:
                fn.release()
    for t, g, owned in leaf_grads.values():
        if t._hooks:
            g = _run_hooks(t, g)
        if t.grad is None:
            if not owned and id(g) in handed:
                g = g.copy()
            handed.add(id(g))
            t.grad = g
        else:
            t.grad = t.grad + g


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
