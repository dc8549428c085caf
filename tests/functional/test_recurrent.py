"""Fused recurrent ops: gradcheck of every gate path through several steps, masks, cells."""

import numpy as np
import pytest

import lamina
import lamina.functional as F
from lamina.testing import gradcheck

T, N, I, H = 4, 2, 3, 4
GATES = {"lstm": 4, "gru": 3, "rnn_tanh": 1, "rnn_relu": 1}


def _weights(rs, mode):
    G = GATES[mode]
    return (rs.standard_normal((G * H, I)) * 0.6, rs.standard_normal((G * H, H)) * 0.6,
            rs.standard_normal(G * H) * 0.3, rs.standard_normal(G * H) * 0.3)


def _layer_fn(mode, **kw):
    if mode == "lstm":
        def fn(x, h0, c0, wi, wh, bi, bh):
            return F.rnn_layer(x, wi, wh, bi, bh, h0, c0, mode=mode, **kw)
    else:
        def fn(x, h0, wi, wh, bi, bh):
            return F.rnn_layer(x, wi, wh, bi, bh, h0, mode=mode, **kw)
    return fn


def _args(rs, mode, batch_first=False):
    x = rs.standard_normal((N, T, I) if batch_first else (T, N, I))
    h0 = rs.standard_normal((N, H)) * 0.5
    c0 = rs.standard_normal((N, H)) * 0.5
    w = _weights(rs, mode)
    return (x, h0, c0, *w) if mode == "lstm" else (x, h0, *w)


@pytest.mark.parametrize("mode", list(GATES))
@pytest.mark.parametrize("reverse", [False, True])
def test_gradcheck_every_gate_through_time(rs, mode, reverse):
    gradcheck(_layer_fn(mode, reverse=reverse), *_args(rs, mode), max_full=300)


@pytest.mark.parametrize("mode", list(GATES))
def test_gradcheck_lengths_batch_first(rs, mode):
    gradcheck(_layer_fn(mode, lengths=[2, 4], batch_first=True, reverse=True),
              *_args(rs, mode, batch_first=True), max_full=300)
    gradcheck(_layer_fn(mode, lengths=[4, 2]), *_args(rs, mode), max_full=300)


@pytest.mark.parametrize("mode", list(GATES))
@pytest.mark.parametrize("reverse", [False, True])
def test_padded_steps_no_effect_no_grad(rs, mode, reverse):
    args = [lamina.tensor(a, requires_grad=True) for a in _args(rs, mode)]
    lengths = [4, 2]
    out = _layer_fn(mode, lengths=lengths, reverse=reverse)(*args)
    y, h_n = out[0], out[1]
    assert np.all(y.array[2:, 1] == 0)                       # padded outputs are zeros
    # the second sequence alone, truncated to its length, gives the same outputs and state
    short = [a.array[:2, 1:2] if i == 0 else a.array[1:2] if i < (3 if mode == "lstm" else 2)
             else a.array for i, a in enumerate(args)]
    ref = _layer_fn(mode, reverse=reverse)(*[lamina.tensor(a) for a in short])
    np.testing.assert_allclose(y.array[:2, 1:2], ref[0].array, atol=1e-12)
    np.testing.assert_allclose(h_n.array[1:2], ref[1].array, atol=1e-12)
    loss = (y * lamina.tensor(rs.standard_normal(y.shape))).sum() + h_n.sum()
    loss.backward()
    assert np.all(args[0].grad[2:, 1] == 0)                 # no gradient into padding
    assert np.any(args[0].grad[:2, 1] != 0)


def test_mask_equals_lengths(rs):
    args = [lamina.tensor(a) for a in _args(rs, "gru")]
    a = F.rnn_layer(args[0], *args[2:], h0=args[1], mode="gru", lengths=[3, 1])
    m = np.array([[1, 1, 1, 0], [1, 0, 0, 0]], bool).T
    b = F.rnn_layer(args[0], *args[2:], h0=args[1], mode="gru", mask=m)
    np.testing.assert_array_equal(a[0].array, b[0].array)
    np.testing.assert_array_equal(a[1].array, b[1].array)


@pytest.mark.parametrize("mode", list(GATES))
def test_float32_stays_float32(rs, mode):
    args = [lamina.tensor(a.astype(np.float32), requires_grad=True) for a in _args(rs, mode)]
    out = _layer_fn(mode, lengths=[4, 3])(*args)
    assert all(o.dtype == np.float32 for o in out)
    (out[0].sum() + out[1].sum()).backward()
    assert all(a.grad.dtype == np.float32 for a in args)


def test_no_h0_and_no_bias(rs):
    x = lamina.tensor(rs.standard_normal((T, N, I)), requires_grad=True)
    wi, wh, _, _ = _weights(rs, "lstm")
    y, h, c = F.rnn_layer(x, wi, wh, mode="lstm")
    y0, h0_, c0_ = F.rnn_layer(x, wi, wh, h0=np.zeros((N, H)), c0=np.zeros((N, H)),
                               mode="lstm")
    np.testing.assert_allclose(y.array, y0.array)
    gradcheck(lambda x, wi, wh: F.rnn_layer(x, wi, wh, mode="gru"), x.array,
              *_weights(rs, "gru")[:2])


@pytest.mark.parametrize("mode", list(GATES))
def test_cells_gradcheck_and_match_layer(rs, mode):
    x = rs.standard_normal((N, I))
    h = rs.standard_normal((N, H)) * 0.5
    c = rs.standard_normal((N, H)) * 0.5
    w = _weights(rs, mode)
    if mode == "lstm":
        gradcheck(lambda x, h, c, *w: F.lstm_cell(x, (h, c), *w), x, h, c, *w, max_full=300)
        hn, cn = F.lstm_cell(lamina.tensor(x), (lamina.tensor(h), lamina.tensor(c)), *w)
        ref = F.rnn_layer(lamina.tensor(x[None]), *w, h0=h, c0=c, mode=mode)
        np.testing.assert_allclose(cn.array, ref[2].array, atol=1e-12)
    else:
        cell = {"gru": F.gru_cell, "rnn_tanh": F.rnn_tanh_cell, "rnn_relu": F.rnn_relu_cell}[mode]
        gradcheck(lambda x, h, *w: cell(x, h, *w), x, h, *w, max_full=300)
        hn = cell(lamina.tensor(x), lamina.tensor(h), *w)
        ref = F.rnn_layer(lamina.tensor(x[None]), *w, h0=h, mode=mode)
    np.testing.assert_allclose(hn.array, ref[1].array, atol=1e-12)


def test_errors_name_the_op(rs):
    x = lamina.tensor(rs.standard_normal((T, N, I)))
    wi, wh, _, _ = _weights(rs, "lstm")
    with pytest.raises(ValueError, match=r"rnn_layer\(gru\): expected weight_ih"):
        F.rnn_layer(x, wi, wh, mode="gru")
    with pytest.raises(ValueError, match="lengths"):
        F.rnn_layer(x, wi, wh, mode="lstm", lengths=[5, 1])
    with pytest.raises(ValueError, match="mode in"):
        F.rnn_layer(x, wi, wh, mode="lstmx")


def test_lengths_to_mask():
    m = F.lengths_to_mask([3, 1], 4)
    assert m.shape == (4, 2) and m[:, 0].tolist() == [True, True, True, False]
    assert F.lengths_to_mask([3, 1], 4, batch_first=True).shape == (2, 4)
