"""nn.RNN / LSTM / GRU and their cells: names, init, PyTorch parity, long unrolls."""

import numpy as np
import pytest

import lamina
from lamina import nn

T, N, I, H = 5, 3, 3, 4
CLASSES = [("LSTM", {}), ("GRU", {}), ("RNN", {}), ("RNN", {"nonlinearity": "relu"})]


def test_parameter_names_shapes_and_init():
    m = nn.LSTM(I, H, num_layers=2, bidirectional=True)
    names = [k for k, _ in m.named_parameters()]
    assert names[:8] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
                         "weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse",
                         "bias_hh_l0_reverse"]
    assert m.weight_ih_l1.shape == (4 * H, 2 * H) and m.weight_hh_l0.shape == (4 * H, H)
    assert m.weight_ih_l0.dtype == np.float32
    k = 1 / np.sqrt(H)
    assert all(np.abs(p.array).max() <= k for p in m.parameters())
    g = nn.GRU(I, H, bias=False)
    assert [k for k, _ in g.named_parameters()] == ["weight_ih_l0", "weight_hh_l0"]
    assert g.weight_ih_l0.shape == (3 * H, I)
    assert [k for k, _ in nn.GRUCell(I, H).named_parameters()] == [
        "weight_ih", "weight_hh", "bias_ih", "bias_hh"]


@pytest.mark.parametrize("name,kw", CLASSES)
def test_shapes_unbatched_and_default_state(rs, name, kw):
    m = getattr(nn, name)(I, H, num_layers=2, bidirectional=True, batch_first=True, **kw)
    x = lamina.tensor(rs.standard_normal((N, T, I)).astype(np.float32))
    out, state = m(x)
    h_n = state[0] if name == "LSTM" else state
    assert out.shape == (N, T, 2 * H) and h_n.shape == (4, N, H)
    out1, _ = m(x[0])                       # unbatched (T, I)
    np.testing.assert_allclose(out1.array, out.array[0], atol=1e-6)


def test_dropout_between_layers():
    m = nn.GRU(I, H, num_layers=2, dropout=0.5)
    x = lamina.randn(T, N, I)
    a, b = m(x)[0], m(x)[0]
    assert not np.allclose(a.array, b.array)  # different dropout masks in training
    m.eval()
    np.testing.assert_array_equal(m(x)[0].array, m(x)[0].array)


def test_rnn_cell_unrolled_2000_steps_backprops():
    cell = nn.RNNCell(2, 3)
    x = lamina.randn(2000, 1, 2)
    h = None
    for t in range(2000):
        h = cell(x[t], h)
    h.sum().backward()
    assert cell.weight_hh.grad is not None and np.all(np.isfinite(cell.weight_hh.grad))


def test_cells_compose_with_autograd_ops(rs):
    cell = nn.LSTMCell(I, H).double()
    x = lamina.tensor(rs.standard_normal((T, N, I)))
    seq = nn.LSTM(I, H).double()
    seq.load_state_dict({k + "_l0": v for k, v in cell.state_dict().items()})
    h = c = None
    for t in range(T):
        h, c = cell(x[t], None if h is None else (h * 1.0, c))
    _, (h_n, c_n) = seq(x)
    np.testing.assert_allclose(h.array, h_n.array[0], atol=1e-12)
    np.testing.assert_allclose(c.array, c_n.array[0], atol=1e-12)


def test_errors_name_the_module():
    m = nn.LSTM(I, H)
    with pytest.raises(ValueError, match=r"LSTM: expected input.shape\[-1\] == 3"):
        m(lamina.randn(T, N, I + 1))
    with pytest.raises(ValueError, match="initial states of shape"):
        m(lamina.randn(T, N, I), (lamina.randn(2, N, H), lamina.randn(2, N, H)))
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNN(I, H, nonlinearity="sigmoid")


def _torch_copy(torch, m, tm):
    tm.load_state_dict({k: torch.tensor(v) for k, v in m.state_dict().items()})


@pytest.mark.torch
@pytest.mark.parametrize("name,kw", CLASSES)
@pytest.mark.parametrize("batch_first,bidirectional,lengths", [
    (False, False, None), (True, True, None), (False, True, [5, 2, 4]), (True, False, [3, 5, 1])])
def test_torch_parity(rs, name, kw, batch_first, bidirectional, lengths):
    torch = pytest.importorskip("torch")
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
    opts = dict(num_layers=2, bidirectional=bidirectional, batch_first=batch_first, **kw)
    m = getattr(nn, name)(I, H, **opts).double()
    tm = getattr(torch.nn, name)(I, H, **opts).double()
    _torch_copy(torch, m, tm)
    D, lstm = (2 if bidirectional else 1), name == "LSTM"
    x = rs.standard_normal((N, T, I) if batch_first else (T, N, I))
    h0, c0 = rs.standard_normal((2, 2 * D, N, H))
    lt = [lamina.tensor(a, requires_grad=True) for a in (x, h0, c0)]
    tt = [torch.tensor(a, requires_grad=True) for a in (x, h0, c0)]
    lo = m(lt[0], (lt[1], lt[2]) if lstm else lt[1], lengths=lengths)
    tin = tt[0] if lengths is None else pack_padded_sequence(
        tt[0], torch.tensor(lengths), batch_first=batch_first, enforce_sorted=False)
    to = tm(tin, (tt[1], tt[2]) if lstm else tt[1])
    ty = to[0] if lengths is None else pad_packed_sequence(to[0], batch_first=batch_first,
                                                           total_length=T)[0]
    louts = [lo[0], *(lo[1] if lstm else [lo[1]])]
    touts = [ty, *(to[1] if lstm else [to[1]])]
    loss_l, loss_t = 0, 0
    for a, b in zip(louts, touts):
        np.testing.assert_allclose(a.array, b.detach().numpy(), atol=1e-10)
        w = rs.standard_normal(a.shape)
        loss_l = loss_l + (a * lamina.tensor(w)).sum()
        loss_t = loss_t + (b * torch.tensor(w)).sum()
    loss_l.backward()
    loss_t.backward()
    for a, b in zip(lt if lstm else lt[:2], tt):
        np.testing.assert_allclose(a.grad, b.grad.numpy(), atol=1e-10)
    for (k, p), (k2, q) in zip(m.named_parameters(), tm.named_parameters()):
        assert k == k2
        np.testing.assert_allclose(p.grad, q.grad.numpy(), atol=1e-10, err_msg=k)


@pytest.mark.torch
@pytest.mark.parametrize("name,kw", [("LSTMCell", {}), ("GRUCell", {}), ("RNNCell", {}),
                                     ("RNNCell", {"nonlinearity": "relu"})])
def test_cell_torch_parity(rs, name, kw):
    torch = pytest.importorskip("torch")
    m = getattr(nn, name)(I, H, **kw).double()
    tm = getattr(torch.nn, name)(I, H, **kw).double()
    _torch_copy(torch, m, tm)
    x, h, c = rs.standard_normal((N, I)), rs.standard_normal((N, H)), rs.standard_normal((N, H))
    lt = [lamina.tensor(a, requires_grad=True) for a in (x, h, c)]
    tt = [torch.tensor(a, requires_grad=True) for a in (x, h, c)]
    lstm = name == "LSTMCell"
    lo = m(lt[0], (lt[1], lt[2]) if lstm else lt[1])
    to = tm(tt[0], (tt[1], tt[2]) if lstm else tt[1])
    lo, to = (lo, to) if lstm else ((lo,), (to,))
    for a, b in zip(lo, to):
        np.testing.assert_allclose(a.array, b.detach().numpy(), atol=1e-12)
    sum(o.sum() * (i + 1) for i, o in enumerate(lo)).backward()
    sum(o.sum() * (i + 1) for i, o in enumerate(to)).backward()
    for a, b in zip(lt if lstm else lt[:2], tt):
        np.testing.assert_allclose(a.grad, b.grad.numpy(), atol=1e-12)
    for (k, p), (_, q) in zip(m.named_parameters(), tm.named_parameters()):
        np.testing.assert_allclose(p.grad, q.grad.numpy(), atol=1e-12, err_msg=k)


def test_batch_first_loss_on_final_state_only_backpropagates():
    """Regression: a batch_first model that uses only h_n (not the output) must backprop, and
    its gradients equal those of the same model fed time-major."""
    lamina.manual_seed(0)
    for cls in (nn.GRU, nn.LSTM):
        a = cls(3, 4, batch_first=True)
        b = cls(3, 4, batch_first=False)
        b.load_state_dict(a.state_dict())
        x = np.random.default_rng(0).standard_normal((2, 5, 3)).astype(np.float32)
        ha = a(lamina.tensor(x))[1]
        hb = b(lamina.tensor(x.transpose(1, 0, 2).copy()))[1]
        ha = ha[0] if isinstance(ha, tuple) else ha
        hb = hb[0] if isinstance(hb, tuple) else hb
        ha.sum().backward()
        hb.sum().backward()
        for (name, pa), (_, pb) in zip(a.named_parameters(), b.named_parameters()):
            np.testing.assert_allclose(pa.grad, pb.grad, rtol=1e-5, atol=1e-6, err_msg=name)
