"""The backward engine: iterative, by generation, so a 10,000-op chain needs no recursion.

Functions are processed in decreasing generation (a function's generation is one more than the
newest function that produced its inputs), so every consumer of a tensor runs before the tensor's
producer: by then its gradient is complete, hooks see the total, and diamonds are exact.
"""

from __future__ import annotations

from heapq import heappop, heappush, heappushpop

from .. import backend as B
from .function import _FREED, _shapes, _wrap
from .grad_mode import _LOCAL, HOOKS, NOT_DEFAULT
from .inplace import check_versions
from .tensor import INPLACE_USED, POST_HOOKS_USED, Tensor

__all__ = ["run_backward", "sum_to", "grad"]

_HAS_CUPY = B.cupy is not None
_F32 = B.np.dtype("float32")
_ONE32 = B.np.ones((), _F32)  # the usual implicit root gradient, copied per backward


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
            g = r.array if isinstance(r, Tensor) else r
    return g


TRACING: list = [None]   # lamina.compile's tracer while it traces (backward is not captured)


def run_backward(root: Tensor, grad=None, retain_graph: bool = False) -> None:
    """Backpropagate from ``root``; see :meth:`Tensor.backward`."""
    if TRACING[0] is not None and TRACING[0].problem is None:
        TRACING[0].problem = ("the function calls backward(); compile the loss computation "
                              "and call backward() on its output outside")
    if not root._requires_grad:
        raise RuntimeError("backward: the tensor does not require grad and has no grad_fn; "
                           "did you compute it under no_grad() or from tensors without "
                           "requires_grad=True?")
    d = root.array
    xp = B.get_array_module(d) if _HAS_CUPY else B.np
    if grad is None:
        if d.size != 1:
            raise RuntimeError(
                f"backward: grad can be implicitly created only for one-element outputs, got "
                f"shape {root.shape}; pass grad= (e.g. lamina.ones_like(y)) or reduce first")
        dt = d.dtype
        # ones() is Python-level; a copy of a ready 0-d one is the cheapest fresh array
        g0 = _ONE32.copy() if dt is _F32 and xp is B.np else xp.array(1, dt)
        if d.ndim:
            g0 = g0.reshape(d.shape)
        strict = False
    else:
        g0 = grad.array if isinstance(grad, Tensor) else xp.asarray(grad, dtype=root.dtype)
        if g0.shape != root.shape:
            raise RuntimeError(f"backward: expected grad of shape {root.shape}, got {g0.shape}")
        strict = g0.dtype != d.dtype  # then no op may take its gradient's dtype on trust
    m = _LOCAL.mode
    if not m.grad:
        _backward(root, g0, retain_graph, m.anomaly, strict)
        return
    # backward itself records nothing: grad off for this thread (set_mode's logic, inlined)
    m.grad = False
    if not m.anomaly:
        NOT_DEFAULT.append(None)
    try:
        _backward(root, g0, retain_graph, m.anomaly, strict)
    finally:
        m.grad = True
        if not m.anomaly:
            NOT_DEFAULT.pop()


def _backward(root, g0, retain_graph, anomaly, strict=False):
    hooks = HOOKS.active
    # hooks (which may replace a gradient), anomaly mode or a root gradient of another dtype:
    # every function goes through _call_backward and every gradient is checked
    slow = hooks or anomaly or strict
    versions = INPLACE_USED[0]  # in-place ops exist: check what each function saved
    leaves: dict = {}   # id(tensor) -> [tensor, grad, grad is an array this pass made]
    # ids of large gradient arrays this pass allocated and still holds (safe to add into in
    # place); an id leaves the set when its array is handed to backward, so a recycled id
    # never lets the engine write into an array it does not own
    mine = set()
    fn = root._creator
    if fn is None:
        leaves[id(root)] = [root, g0, False]
    elif fn.nout != 1:
        gl = [None] * fn.nout
        gl[root._out_idx] = g0
        g0 = gl
    # leaves with post-accumulate-grad hooks: the functions feeding them and the edges each
    # still waits for, so a leaf is accumulated (and its hooks run) once its last edge ran
    post = _post_edges(fn) if POST_HOOKS_USED[0] and fn is not None else None
    # Functions run by decreasing generation. The gradient of a scheduled function's output (a
    # list of them when it has several outputs) waits in ``pending`` and the function in the
    # heap, except the next one to run, which waits in ``nxt``/``nxt_g``: a chain never
    # touches the heap or the dict.
    pending = {}
    heap = []
    seq = 0
    nxt, nxt_g = fn, g0
    while True:
        if nxt is not None:
            fn, gys = nxt, nxt_g
            nxt = None
            if heap and heap[0][0] < -fn.generation:  # a newer function waits: park this one
                pending[fn] = gys
                seq += 1
                fn = heappushpop(heap, (-fn.generation, seq, fn))[2]
                gys = pending.pop(fn)
        elif heap:
            fn = heappop(heap)[2]
            gys = pending.pop(fn)
        else:
            break
        if fn.saved is _FREED:
            raise RuntimeError(
                f"backward: trying to backward through {fn.name} a second time, after its "
                "saved arrays were freed; call backward(retain_graph=True) the first time")
        if versions:
            check_versions(fn)
        if slow or type(gys) is list:  # hooks, anomaly mode or several outputs
            gxs = _call_backward(fn, gys, hooks, anomaly, mine)
            fit = False
        else:
            if mine:
                mine.discard(id(gys))
            gxs = fn.backward(gys)
            fit = fn.grads_fit  # its gradients need no shape/dtype check
        if type(gxs) is not tuple:
            gxs = (gxs,)
        inputs = fn.inputs
        if len(gxs) != len(inputs):
            raise RuntimeError(f"{fn.name}.backward returned {len(gxs)} gradients for "
                               f"{len(inputs)} inputs")
        for x, gx, need in zip(inputs, gxs, fn.needs_input_grad):
            if not need or gx is None:
                continue
            if not fit:
                xd = x.array
                if gx.shape != xd.shape:
                    gx = sum_to(gx, xd.shape)
                    if gx.shape != xd.shape:
                        raise RuntimeError(
                            f"{fn.name}.backward: gradient shape {gx.shape} does not match "
                            f"input shape {xd.shape}")
                dt = gx.dtype
                if dt is not xd.dtype and dt != xd.dtype:
                    gx = gx.astype(xd.dtype)
            if anomaly:
                _check_backward(fn, x, gx)
            c = x._creator
            if c is None:
                e = leaves.get(id(x))
                if e is None:
                    leaves[id(x)] = [x, gx, False]
                else:
                    e[1] = e[1] + gx if gx.size <= _INPLACE_MIN else _accumulate(e[1], gx, mine)
                    e[2] = True
                continue
            if c.nout == 1:
                if c is nxt:
                    nxt_g = _accumulate(nxt_g, gx, mine)
                    continue
                g = pending.get(c)
                if g is not None:
                    pending[c] = _accumulate(g, gx, mine)
                    continue
                g = gx
            else:
                g = nxt_g if c is nxt else pending.get(c)
                k = x._out_idx
                if g is not None:
                    prev = g[k]
                    g[k] = gx if prev is None else _accumulate(prev, gx, mine)
                    continue
                g = [None] * c.nout
                g[k] = gx
            if nxt is None:  # c is newly scheduled
                nxt, nxt_g = c, g
            else:
                pending[c] = g
                seq += 1
                heappush(heap, (-c.generation, seq, c))
        if post is not None and fn in post[0]:
            _post_accumulate(post[0].pop(fn), post[1], leaves, mine)
        if not retain_graph:
            fn.saved = _FREED
    # arrays already given to a leaf: a second leaf gets a copy, not an alias
    handed = set() if len(leaves) > 1 else None
    late = [] if POST_HOOKS_USED[0] else None  # hooked leaves the edge count did not finish
    for t, g, fresh in leaves.values():
        if t._hooks:
            g = _run_hooks(t, g)
            fresh = False
        if t._grad is None:
            # .grad must be a writable array of its own: not a broadcast view, not shared (a
            # sum this pass made for this leaf alone is)
            if not fresh:
                f = g.flags
                if not f.owndata or not f.writeable or handed and id(g) in handed:
                    g = g.copy()
                if handed is not None:
                    handed.add(id(g))
            t._grad = _wrap(g)
        else:
            _add_into(t, g)
        if late is not None and t._post_hooks:
            late.append(t)
    if late:
        for t in late:
            _run_post_hooks(t)


def _post_edges(root_fn):
    """``(feeds, left)`` for the leaves with post-accumulate hooks reached from ``root_fn``:
    ``feeds[fn]`` lists the hooked leaves ``fn`` has an edge to (once per edge) and
    ``left[id(leaf)]`` counts the edges not yet run; None when the graph reaches none."""
    feeds, left = {}, {}
    seen, stack = {root_fn}, [root_fn]
    while stack:
        f = stack.pop()
        for x, need in zip(f.inputs, f.needs_input_grad):
            if not need:
                continue
            c = x._creator
            if c is None:
                if x._post_hooks:
                    feeds.setdefault(f, []).append(x)
                    left[id(x)] = left.get(id(x), 0) + 1
            elif c not in seen:
                seen.add(c)
                stack.append(c)
    return (feeds, left) if feeds else None


def _post_accumulate(xs, left, leaves, mine) -> None:
    """One more edge into each of ``xs`` ran; a leaf with none left gets its ``.grad`` now
    (grad hooks first) and its post-accumulate hooks run, during the pass."""
    for x in xs:
        k = id(x)
        left[k] -= 1
        if left[k]:
            continue
        e = leaves.pop(k, None)
        if e is None:  # every edge gave None: no gradient, no hook (as PyTorch)
            continue
        g, fresh = e[1], e[2]
        if x._hooks:
            g, fresh = _run_hooks(x, g), False
        mine.discard(id(g))  # .grad owns it now: its id must not mark a pass-owned array
        if x._grad is None:
            # a gradient array may still be pending for another consumer: .grad gets its own
            x._grad = _wrap(g if fresh else g.copy())
        else:
            _add_into(x, g)
        _run_post_hooks(x)


def _run_post_hooks(t) -> None:
    for h in tuple(t._post_hooks):
        h(t)


def _add_into(t, g) -> None:
    """Accumulate into an existing ``.grad`` in place, as PyTorch does (a tensor holding
    ``p.grad`` sees the sum); a fresh sum when the stored array cannot take it."""
    cur = t._grad.array
    if cur.flags.writeable and cur.shape == g.shape and cur.dtype == g.dtype:
        cur += g
    else:
        t._grad.array = cur + g


def _call_backward(fn, gys, hooks, anomaly, mine):
    """``fn.backward`` with output hooks, anomaly mode or several outputs (the slow path)."""
    single = type(gys) is not list
    gl = [gys] if single else gys
    if mine:
        for g in gl:
            mine.discard(id(g))
    if hooks and "_hooked" in fn.__dict__:
        _output_hooks(fn, gl, fn._hooked)
    if not single:
        _fill_missing(fn, gl)
    if anomaly:
        with fn.xp.errstate(all="ignore"):
            return fn.backward(*gl)
    return fn.backward(*gl)


def _accumulate(prev, gx, mine):
    """``prev + gx``; in place when large and ``prev`` is an array this pass allocated."""
    if gx.size > _INPLACE_MIN:
        if id(prev) in mine:
            prev += gx
            return prev
        s = prev + gx
        mine.add(id(s))
        return s
    return prev + gx


def _output_hooks(fn, gys, hooked) -> None:
    for i, r in hooked.items():
        o = r()
        if o is None or gys[i] is None:
            continue
        if o._hooks:
            gys[i] = _run_hooks(o, gys[i])
        if o._retain:
            if o._grad is None:
                o._grad = _wrap(gys[i].copy())
            else:
                _add_into(o, gys[i])


def _fill_missing(fn, gys) -> None:
    """Outputs of a multi-output op that got no gradient get zeros."""
    for i, r in enumerate(fn.outputs):
        if gys[i] is None:
            o = r()
            if o is not None:
                gys[i] = fn.xp.zeros_like(o.array)


def _check_backward(fn, x, gx) -> None:
    if not bool(fn.xp.isfinite(gx).all()):
        raise FloatingPointError(
            f"detect_anomaly: backward of {fn.name} produced NaN/Inf in the gradient of an "
            f"input of shape {tuple(x.shape)}; input shapes "
            f"({_shapes([getattr(i, 'array', None) for i in fn.inputs])})")


def grad(outputs, inputs, grad_outputs=None, retain_graph: bool = False):
    """Return d(outputs)/d(inputs) as a tuple of arrays without touching ``.grad``.

    Args:
        outputs (Tensor): a scalar tensor (or pass ``grad_outputs``).
        inputs (sequence of Tensor): tensors that require grad.
    """
    inputs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    saved = [(t._grad) for t in inputs]
    for t in inputs:
        t._grad = None
    try:
        # temporarily treat the inputs as leaves of the pass by collecting their grads via hooks
        got = {}
        handles = []
        for t in inputs:
            def hook(g, _t=t):
                got[id(_t)] = g.array
            if t._creator is not None:
                t.retain_grad()
            handles.append(t.register_hook(hook))
        run_backward(outputs, grad_outputs, retain_graph)
        for h in handles:
            h.remove()
        return tuple(Tensor(got[id(t)]) if id(t) in got else None for t in inputs)
    finally:
        for t, g in zip(inputs, saved):
            t._grad = g
