"""ONNX converters for lamina's reductions: sum, mean, max/min, variance, logsumexp, norms,
cumulative sums (opset 17: ReduceSum takes its axes as an input, the others as an attribute)."""

from __future__ import annotations

from .. import backend as B
from ._graph import register

np = B.np


def _axes(fn, ndim):
    ax = getattr(fn, "axis", None)
    if ax is None:
        return list(range(ndim))
    return [int(a) % max(ndim, 1) for a in (ax if isinstance(ax, (tuple, list)) else (ax,))]


@register("Sum")
def _sum(g, op):
    axes = _axes(op.fn, op.xs[0].ndim)
    return g.node("ReduceSum", [op.ins[0], g.ints(axes, "axes")],
                  keepdims=int(bool(op.fn.keepdims)))


_REDUCE_ATTR = {"Mean": "ReduceMean", "LogSumExp": "ReduceLogSumExp", "Prod": "ReduceProd",
                "Norm2": "ReduceL2"}


@register(*_REDUCE_ATTR)
def _reduce(g, op):
    axes = _axes(op.fn, op.xs[0].ndim)
    return g.node(_REDUCE_ATTR[op.name], op.ins[:1], axes=axes,
                  keepdims=int(bool(getattr(op.fn, "keepdims", False))))


@register("AMax")
def _amax(g, op):
    axes = _axes(op.fn, op.xs[0].ndim)
    return g.node("ReduceMax" if op.fn.largest else "ReduceMin", op.ins[:1], axes=axes,
                  keepdims=int(bool(op.fn.keepdims)))


@register("MaxDim")
def _maxdim(g, op):
    ax = int(op.fn.axis) % op.xs[0].ndim
    keep = int(op.ys[0].ndim == op.xs[0].ndim)
    kind = "Max" if op.fn.largest else "Min"
    vals = g.node(f"Reduce{kind}", op.ins[:1], axes=[ax], keepdims=keep)
    idx = g.node(f"Arg{kind}", op.ins[:1], axis=ax, keepdims=keep, select_last_index=0)
    return [vals, idx]


@register("Var")
def _var(g, op):
    axes = _axes(op.fn, op.xs[0].ndim)
    x = op.ins[0]
    dt = op.xs[0].dtype
    n = int(np.prod([op.xs[0].shape[a] for a in axes]))
    n2 = int(np.prod([op.xs2[0].shape[a] for a in axes]))
    if n != n2:
        raise op.fail("a variance over static axes", f"{n} vs {n2} values")
    m = g.node("ReduceMean", [x], axes=axes, keepdims=1)
    d = g.node("Sub", [x, m])
    s = g.node("ReduceSum", [g.node("Mul", [d, d]), g.ints(axes, "axes")],
               keepdims=int(bool(op.fn.keepdims)))
    v = g.node("Div", [s, g.const(np.asarray(max(n - op.fn.correction, 0), dt))])
    return g.node("Sqrt", [v]) if getattr(op.fn, "std", False) else v


@register("CumSum")
def _cumsum(g, op):
    return g.node("CumSum", [op.ins[0], g.const(np.asarray(int(op.fn.axis), np.int64))])
