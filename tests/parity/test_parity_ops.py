"""Randomized PyTorch parity: every op in the tables below runs on hypothesis-drawn shapes,
dtypes, dim/keepdim spellings and edge values through lamina and torch; values, dtypes, shapes
and (for floating inputs) gradients are compared, and every mismatch is reported at once."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lamina as L
import lamina.functional as F

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")

DTYPES = ["float32", "float64", "int32", "int64", "bool"]
EDGE = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, 1.0, -2.5])

# op name -> (lamina fn, torch fn, dtypes accepted)
UNARY = {n: (lambda x, n=n: getattr(F, n)(x), lambda x, n=n: getattr(torch, n)(x), k)
         for n, k in [("exp", "fi"), ("log", "fi"), ("sqrt", "fi"), ("sin", "fi"),
                      ("tanh", "fi"), ("sigmoid", "fi"), ("abs", "fi"), ("neg", "fi"),
                      ("sign", "fi")]}
BINARY = {n: (getattr(F, n), getattr(torch, n), k)
          for n, k in [("add", "fi"), ("sub", "fi"), ("mul", "fi"), ("div", "fi"),
                       ("maximum", "fi"), ("minimum", "fi")]}
REDUCE = {n: (getattr(F, n), getattr(torch, n), k)
          for n, k in [("sum", "fi"), ("mean", "f"), ("amax", "fi"), ("amin", "fi"),
                       ("logsumexp", "f"), ("prod", "fi")]}

# Deliberate (or not yet fixed) differences: (op, what) -> reason
ALLOW = {  # (op, what) -> why lamina deliberately differs; empty: every draw matches torch
}


def _array(data, shape, dtype, edges):
    rs = np.random.default_rng(data.draw(st.integers(0, 2**31 - 1)))
    a = rs.standard_normal(shape) * 3
    if edges and a.size:
        a.flat[rs.integers(0, a.size, max(1, a.size // 3))] = rs.choice(EDGE)
    if dtype == "bool":
        return a > 0
    if dtype.startswith("int"):
        return np.nan_to_num(a, nan=0, posinf=7, neginf=-7).round().astype(dtype)
    return a.astype(dtype)


def _cmp(out, name, la, ta, grads=(), int_inputs=False):
    """Append to ``out`` every way lamina's result ``la`` differs from torch's ``ta``."""
    lv, tv = la.numpy(), ta.detach().numpy()
    if lv.shape != tv.shape:
        out.append((name, "shape", f"{lv.shape} vs {tv.shape}"))
        return
    if str(lv.dtype) != str(tv.dtype):
        out.append((name, "int-dtype" if int_inputs and lv.dtype.kind == "f" else "dtype",
                    f"{lv.dtype} vs {tv.dtype}"))
    tol = 1e-4 if "float32" in (str(lv.dtype), str(tv.dtype)) else 1e-10
    if not np.allclose(lv.astype(float), tv.astype(float), rtol=tol, atol=tol, equal_nan=True):
        out.append((name, "value", f"{lv!r} vs {tv!r}"))
    for i, (lg, tg) in enumerate(grads):
        lgv = None if lg is None else lg.numpy()
        tgv = None if tg is None else tg.numpy()
        if (lgv is None) != (tgv is None):
            out.append((name, f"grad{i}", f"{lgv!r} vs {tgv!r}"))
        elif lgv is not None and not np.allclose(lgv, tgv, rtol=tol, atol=tol, equal_nan=True):
            out.append((name, f"grad{i}", f"{lgv!r} vs {tgv!r}"))


def _report(mismatches):
    bad = [m for m in mismatches if (m[0], m[1]) not in ALLOW and ("*", m[1]) not in ALLOW]
    assert not bad, "\n".join(f"{op} [{what}]: {msg}" for op, what, msg in bad)


shapes = st.lists(st.integers(0, 3), min_size=0, max_size=3).map(tuple)
# derandomize: CI runs the same draws every time (a new mismatch shows on a code change, not
# on a lucky seed); run with --hypothesis-seed or derandomize=False to explore further
SETTINGS = settings(max_examples=10, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


def _run(fn_l, fn_t, arrays, name, out):
    floating = all(a.dtype.kind == "f" for a in arrays)
    lx = [L.tensor(a, dtype=a.dtype, requires_grad=floating) for a in arrays]
    tx = [torch.tensor(a, requires_grad=floating) for a in arrays]
    try:
        tr = fn_t(*tx)
    except Exception as e:  # torch refuses: lamina must refuse too
        try:
            fn_l(*lx)
            out.append((name, "raises", f"torch raised {type(e).__name__}: {e}"))
        except Exception:
            pass
        return
    with np.errstate(all="ignore"):
        try:
            lr = fn_l(*lx)
        except Exception as e:
            out.append((name, "raises", f"lamina raised {type(e).__name__}: {e}"))
            return
    grads = ()
    if floating and tr.numel():
        tr.sum().backward()
        with np.errstate(all="ignore"):
            lr.sum().backward()
        grads = [(a.grad, b.grad) for a, b in zip(lx, tx)]
    _cmp(out, name, lr, tr, grads, int_inputs=not all(a.dtype.kind == "f" for a in arrays))


@SETTINGS
@given(data=st.data(), shape=shapes, dtype=st.sampled_from(DTYPES), edges=st.booleans())
def test_unary_parity(data, shape, dtype, edges):
    out = []
    for name, (fl, ft, kinds) in UNARY.items():
        if np.dtype(dtype).kind not in kinds:
            continue
        _run(fl, ft, [_array(data, shape, dtype, edges)], name, out)
    _report(out)


@SETTINGS
@given(data=st.data(), shape=shapes, cut=st.integers(0, 3),
       dtypes=st.tuples(st.sampled_from(DTYPES), st.sampled_from(DTYPES)), edges=st.booleans())
def test_binary_broadcast_parity(data, shape, cut, dtypes, edges):
    out = []
    for name, (fl, ft, kinds) in BINARY.items():
        if any(np.dtype(d).kind not in kinds for d in dtypes):
            continue
        a = _array(data, shape, dtypes[0], edges)
        b = _array(data, shape[cut:], dtypes[1], edges)  # a trailing slice broadcasts
        if name == "div" and all(np.dtype(d).kind == "i" for d in dtypes):
            b = np.where(b == 0, 1, b)
        _run(fl, ft, [a, b], name, out)
    _report(out)


@SETTINGS
@given(data=st.data(), shape=st.lists(st.integers(1, 3), min_size=1, max_size=3).map(tuple),
       dtype=st.sampled_from(DTYPES), keep=st.booleans(), numpy_spelling=st.booleans(),
       edges=st.booleans())
def test_reduction_parity(data, shape, dtype, keep, numpy_spelling, edges):
    out = []
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    for name, (fl, ft, kinds) in REDUCE.items():
        if np.dtype(dtype).kind not in kinds:
            continue
        if numpy_spelling:
            def f_l(x, fl=fl):
                return fl(x, axis=dim, keepdims=keep)
        else:
            def f_l(x, fl=fl):
                return fl(x, dim=dim, keepdim=keep)
        _run(f_l, lambda x, ft=ft: ft(x, dim=dim, keepdim=keep),
             [_array(data, shape, dtype, edges)], name, out)
    _report(out)
