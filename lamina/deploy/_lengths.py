"""Sequence lengths in an exported graph: ``sequence_lens`` of ONNX's recurrent ops and the
padding masks text models build from a ``lengths`` input in NumPy.

A model called as ``model(ids, lengths)`` turns ``lengths`` into masks outside lamina's ops
(``arange(T) < lengths[:, None]``), so the tracer sees them as constants that changed between
its two runs. Such a constant is recognised when it equals, in both runs, one of a few
functions of a 1-D integer graph input ``L`` (as given or shifted by a constant, such as
TextCNN's ``L - k + 1`` windows, and possibly clipped to ``>= 1``): the prefix
mask ``m = arange(T) < L[:, None]``, its negation ``~m``, or the mean-pooling weights
``m / L[:, None]``, in any dtype, with size-1 axes around the ``(N, T)`` or ``(T, N)`` core.
Each is then written as ONNX nodes reading ``L`` and ``T`` at run time. Two runs with
different random lengths and sizes make an accidental match practically impossible.
"""

from __future__ import annotations

from .. import backend as B

np = B.np

__all__ = ["derived_constant", "find_lengths", "prefix_mask"]


def _lengths_inputs(g):
    return [(n, a, a2) for n, a, a2 in g.input_arrays
            if a.ndim == 1 and a.dtype.kind in "iu" and a2.ndim == 1]


def _shifts(l1, l2, lens1, lens2):
    """``(offset, clip)`` with ``lens == L + offset`` (clipped to ``>= 1`` when ``clip``) in
    both runs, or None. Clipping is tried first: where both fit the traces, a length that
    they did not exercise (``<= 0`` after the offset) becomes 1, as the zoo's models do."""
    for clip in (True, False):
        keep1 = lens1 > 1 if clip else np.ones(len(l1), bool)
        if not keep1.any():
            continue
        off = int(lens1[keep1][0]) - int(l1[keep1][0])
        f1, f2 = l1.astype(np.int64) + off, l2.astype(np.int64) + off
        if clip:
            f1, f2 = np.maximum(f1, 1), np.maximum(f2, 1)
        if np.array_equal(f1, lens1) and np.array_equal(f2, lens2):
            return off, clip
    return None


def _lengths_node(g, name, off, clip):
    key = ("lengths", name, off, clip)
    if key not in g.cache:
        out = g.node("Cast", [name], to=g.onnx.TensorProto.INT64)
        if off:
            out = g.node("Add", [out, g.const(np.asarray(off, np.int64))])
        if clip:
            out = g.node("Max", [out, g.const(np.asarray(1, np.int64))])
        g.cache[key] = out
    return g.cache[key]


def find_lengths(g, lens1, lens2):
    """ONNX name (int64 ``(N,)``) of ``L + offset`` (clipped to ``>= 1`` where needed) for the
    1-D integer graph input ``L`` giving ``lens1`` in run 1 and ``lens2`` in run 2, or None."""
    lens1, lens2 = np.asarray(lens1, np.int64), np.asarray(lens2, np.int64)
    for name, l1, l2 in _lengths_inputs(g):
        if l1.shape != lens1.shape or l2.shape != lens2.shape:
            continue
        found = _shifts(l1, l2, lens1, lens2)
        if found is not None:
            return _lengths_node(g, name, *found)
    return None


def _size(g, s1, s2):
    """A 0-d int64 ONNX value: ``s1`` when static, else the dynamic input axis it follows."""
    if s1 == s2:
        return g.const(np.asarray(s1, np.int64))
    # the nearest dynamic axis (a conv output is k - 1 shorter than its input); all dynamic
    # axes grow by one in the probe, so an offset is ambiguous beyond the nearest one
    ds = sorted((abs(a - s1), a < s1, a - s1) for a, b in g.axis_sizes if a - s1 == b - s2)
    if not ds:
        return None
    d = ds[0][2]
    src, ax = g.axis_sizes[(s1 + d, s2 + d)]
    n = g.node("Gather", [g.node("Shape", [src]), g.const(np.asarray(ax, np.int64))], axis=0)
    return n if d == 0 else g.node("Sub", [n, g.const(np.asarray(d, np.int64))])


def prefix_mask(g, lengths, T):
    """``arange(T)[None, :] < lengths[:, None]``: bool ``(N, T)``."""
    key = ("prefix", lengths, T)
    if key not in g.cache:
        one = g.const(np.asarray(1, np.int64))
        r = g.node("Range", [g.const(np.asarray(0, np.int64)), T, one])
        g.cache[key] = g.node("Less", [g.node("Unsqueeze", [r, g.ints([0], "axes")]),
                                       g.node("Unsqueeze", [lengths, g.ints([1], "axes")])])
    return g.cache[key]


def _core(a, a2):
    """The two axes longer than 1 (same positions in both runs) and the 2-D views."""
    pos = [i for i, s in enumerate(a.shape) if s != 1]
    pos2 = [i for i, s in enumerate(a2.shape) if s != 1]
    if len(pos) != 2 or pos != pos2:
        return None
    return pos, a.reshape([a.shape[i] for i in pos]), a2.reshape([a2.shape[i] for i in pos])


def _prefix_lengths(m):
    """Per-row lengths of a bool ``(N, T)`` prefix mask, or None when it has gaps."""
    lens = m.sum(1).astype(np.int64)
    ok = np.array_equal(m, np.arange(m.shape[1])[None, :] < lens[:, None])
    return lens if ok else None


def _explain(c):
    """``(kind, lengths)`` when ``c`` is a prefix mask (``mask``), its negation (``not``) or
    the mean weights ``mask / lengths`` (``mean``); else None."""
    if c.dtype == np.bool_:
        b = c
    elif c.dtype.kind == "f" and np.all((c == 0) | (c == 1)):
        b = c == 1
    elif c.dtype.kind == "f" and np.all(c >= 0):
        b = c > 0
        lens = _prefix_lengths(b)
        tol = 1e-6 if c.dtype == np.float32 else 1e-12
        if lens is None or not lens.all() or not np.allclose(
                c, b / lens[:, None], rtol=tol, atol=tol):
            return None
        return "mean", lens
    else:
        return None
    for kind, m in (("mask", b), ("not", ~b)):
        lens = _prefix_lengths(m)
        if lens is not None:
            return kind, lens
    return None


def _match(g, c1, c2):
    """(lengths node, kind, transposed) explaining the 2-D constants, or None."""
    for transposed in (False, True):
        x1, x2 = (c1.T, c2.T) if transposed else (c1, c2)
        e1, e2 = _explain(x1), _explain(x2)
        if e1 is None or e2 is None or e1[0] != e2[0]:
            continue
        if (e1[1] == x1.shape[1]).all() and (e2[1] == x2.shape[1]).all():
            continue   # nothing depends on the lengths: a plain filled constant
        L = find_lengths(g, e1[1], e2[1])
        if L is not None:
            return L, e1[0], transposed
    return None


def derived_constant(g, a, a2):
    """ONNX name of a constant that is a padding mask (or mean weights) of a lengths input,
    computed at run time; None when ``a``/``a2`` are not one."""
    a, a2 = np.asarray(a), np.asarray(a2)
    if a.ndim < 2 or a.ndim != a2.ndim or a.shape == a2.shape or not a.size or not a2.size:
        return None
    if a.dtype != np.bool_ and a.dtype.kind != "f":
        return None
    core = _core(a, a2)
    if core is None:
        return None
    pos, c1, c2 = core
    found = _match(g, c1, c2)
    if found is None:
        return None
    L, kind, transposed = found
    t_ax = 0 if transposed else 1
    T = _size(g, c1.shape[t_ax], c2.shape[t_ax])
    if T is None:
        return None
    m = prefix_mask(g, L, T)
    if kind == "not":
        m = g.node("Not", [m])
    if a.dtype != np.bool_:
        dt = g.helper.np_dtype_to_tensor_dtype(a.dtype)
        m = g.node("Cast", [m], to=dt)
        if kind == "mean":
            Lf = g.node("Cast", [L], to=dt)
            m = g.node("Div", [m, g.node("Unsqueeze", [Lf, g.ints([1], "axes")])])
    if transposed:
        m = g.node("Transpose", [m], perm=[1, 0])
    ones = [i for i in range(a.ndim) if i not in pos]
    if ones:
        m = g.node("Unsqueeze", [m, g.ints(ones, "axes")])
    return m
