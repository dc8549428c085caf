"""Hypothesis: for random broadcast-compatible shapes, binary ops match NumPy forward and each
input's gradient is the upstream gradient summed over that input's broadcast dims."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

import lamina as L


def _sum_to(g, shape):
    """NumPy reference of un-broadcasting: sum leading dims, then dims where ``shape`` is 1."""
    g = g.sum(axis=tuple(range(g.ndim - len(shape))))
    return g.sum(axis=tuple(i for i, s in enumerate(shape) if s == 1), keepdims=True) \
        .reshape(shape)


# op: (lamina fn, forward ref, d out / d a, d out / d b), all on broadcast arrays
OPS = {
    "add": (lambda a, b: a + b, np.add, lambda a, b: np.ones_like(a), lambda a, b: np.ones_like(b)),
    "sub": (lambda a, b: a - b, np.subtract, lambda a, b: np.ones_like(a),
            lambda a, b: -np.ones_like(b)),
    "mul": (lambda a, b: a * b, np.multiply, lambda a, b: b, lambda a, b: a),
    "div": (lambda a, b: a / b, np.divide, lambda a, b: 1 / b, lambda a, b: -a / b ** 2),
    "maximum": (L.maximum, np.maximum, lambda a, b: (a > b) * 1.0, lambda a, b: (b > a) * 1.0),
}

SETTINGS = settings(max_examples=50, deadline=None, database=None, derandomize=True)
shapes2 = mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=4)


def _draw(seed, shape, positive=False):
    a = np.random.default_rng(seed).standard_normal(shape)
    return np.asarray(np.abs(a) + 0.5 if positive else a)  # shape () gives a float: re-wrap


@SETTINGS
@given(shapes=shapes2, op=st.sampled_from(sorted(OPS)), seed=st.integers(0, 2 ** 16))
def test_binary_broadcast_forward_and_grads(shapes, op, seed):
    (sa, sb), out_shape = shapes.input_shapes, shapes.result_shape
    fn, ref, da, db = OPS[op]
    a, b = _draw(seed, sa), _draw(seed + 1, sb, positive=op == "div")
    w = _draw(seed + 2, out_shape)
    ta, tb = L.tensor(a, requires_grad=True), L.tensor(b, requires_grad=True)
    out = fn(ta, tb)
    assert out.shape == out_shape
    np.testing.assert_allclose(out.array, ref(a, b), rtol=1e-12)
    (out * L.tensor(w)).sum().backward()
    ab, bb = np.broadcast_arrays(a, b)
    assert ta.grad.shape == sa and tb.grad.shape == sb
    np.testing.assert_allclose(ta.grad, _sum_to(w * da(ab, bb), sa), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(tb.grad, _sum_to(w * db(ab, bb), sb), rtol=1e-10, atol=1e-12)


@SETTINGS
@given(shapes=mutually_broadcastable_shapes(num_shapes=3, max_dims=4, max_side=4),
       seed=st.integers(0, 2 ** 16))
def test_where_broadcast_forward_and_grads(shapes, seed):
    (sc, sa, sb), out_shape = shapes.input_shapes, shapes.result_shape
    c = _draw(seed, sc) > 0
    a, b, w = _draw(seed + 1, sa), _draw(seed + 2, sb), _draw(seed + 3, out_shape)
    ta, tb = L.tensor(a, requires_grad=True), L.tensor(b, requires_grad=True)
    out = L.where(L.tensor(c), ta, tb)
    np.testing.assert_array_equal(out.array, np.where(c, a, b))
    (out * L.tensor(w)).sum().backward()
    cb = np.broadcast_to(c, out_shape)
    np.testing.assert_allclose(ta.grad, _sum_to(np.where(cb, w, 0), sa), rtol=1e-12)
    np.testing.assert_allclose(tb.grad, _sum_to(np.where(cb, 0, w), sb), rtol=1e-12)


@SETTINGS
@given(shapes=shapes2, seed=st.integers(0, 2 ** 16))
def test_float32_broadcast_stays_float32(shapes, seed):
    (sa, sb), _ = shapes.input_shapes, shapes.result_shape
    ta = L.tensor(_draw(seed, sa).astype(np.float32), requires_grad=True)
    tb = L.tensor(_draw(seed + 1, sb).astype(np.float32), requires_grad=True)
    out = (ta * tb + ta / (tb * tb + 1.0) - 2.0 * tb)
    assert out.dtype == np.float32
    out.sum().backward()
    assert ta.grad.dtype == np.float32 and tb.grad.dtype == np.float32
    assert ta.grad.shape == sa and tb.grad.shape == sb
