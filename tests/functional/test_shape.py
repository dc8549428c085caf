"""Shape ops: forward vs NumPy, gradcheck, float32, PyTorch parity, and error messages."""

import numpy as np
import pytest

import lamina as L
import lamina.functional as F
from lamina.testing import check_op

rs = np.random.default_rng(0)
X = rs.standard_normal((2, 3, 4))
Y = rs.standard_normal((2, 3, 4))
V = rs.standard_normal((3, 1, 4))
I4 = rs.standard_normal((2, 3, 4, 5))


def _tf(name):
    """A torch.nn.functional function looked up lazily (torch is imported only when run)."""
    def f(*a, **k):
        import torch.nn.functional as tF
        return getattr(tF, name)(*a, **k)
    return f


def _torch(name):
    def f(*a, **k):
        import torch
        return getattr(torch, name)(*a, **k)
    return f


def _np_repeat_pad(x, pad, mode):
    w = [(0, 0)] * (x.ndim - len(pad) // 2) + [(pad[i], pad[i + 1])
                                                for i in range(len(pad) - 2, -1, -2)]
    return np.pad(x, w, mode=mode)


CASES = [
    ("view", lambda x: x.view(-1, 4), [X], lambda x: x.reshape(-1, 4), lambda x: x.view(-1, 4)),
    ("view_tuple", lambda x: x.view((4, 6)), [X], lambda x: x.reshape(4, 6),
     lambda x: x.view((4, 6))),
    ("reshape", lambda x: F.reshape(x, [3, -1]), [X], lambda x: x.reshape(3, 8),
     lambda x: x.reshape(3, -1)),
    ("view_as", lambda x, y: x.view_as(y.view(6, 4)) * 2, [X, Y], lambda x, y: x.reshape(6, 4) * 2,
     lambda x, y: x.view_as(y.view(6, 4)) * 2),
    ("reshape_as", lambda x, y: x.reshape_as(y) + y, [X.reshape(4, 6), Y],
     lambda x, y: x.reshape(y.shape) + y, lambda x, y: x.reshape_as(y) + y),
    ("transpose", lambda x: x.transpose(0, 2), [X], lambda x: x.swapaxes(0, 2),
     lambda x: x.transpose(0, 2)),
    ("transpose_np", lambda x: x.transpose((1, 2, 0)), [X], lambda x: x.transpose(1, 2, 0),
     lambda x: x.permute(1, 2, 0)),
    ("permute", lambda x: x.permute(2, 0, 1), [X], lambda x: x.transpose(2, 0, 1),
     lambda x: x.permute(2, 0, 1)),
    ("swapaxes", lambda x: x.swapaxes(-1, 0), [X], lambda x: x.swapaxes(-1, 0),
     lambda x: x.swapaxes(-1, 0)),
    ("T", lambda x: x.T, [X[0]], lambda x: x.T, lambda x: x.T),
    ("mT", lambda x: x.mT, [X], lambda x: x.swapaxes(-1, -2), lambda x: x.mT),
    ("movedim", lambda x: x.movedim(0, -1), [X], lambda x: np.moveaxis(x, 0, -1),
     lambda x: x.movedim(0, -1)),
    ("movedim2", lambda x: F.movedim(x, (0, 1), (2, 0)), [X],
     lambda x: np.moveaxis(x, (0, 1), (2, 0)), lambda x: x.movedim((0, 1), (2, 0))),
    ("flatten1", lambda x: x.flatten(1), [I4], lambda x: x.reshape(2, -1),
     lambda x: x.flatten(1)),
    ("flatten_mid", lambda x: x.flatten(1, 2), [I4], lambda x: x.reshape(2, 12, 5),
     lambda x: x.flatten(1, 2)),
    ("unflatten", lambda x: x.unflatten(1, (3, -1)), [X.reshape(2, 12)],
     lambda x: x.reshape(2, 3, 4), lambda x: x.unflatten(1, (3, -1))),
    ("squeeze", lambda x: x.squeeze(), [V], lambda x: x.squeeze(), lambda x: x.squeeze()),
    ("squeeze_dim", lambda x: x.squeeze(1).squeeze(0), [V], lambda x: x.squeeze(1),
     lambda x: x.squeeze(1).squeeze(0)),
    ("unsqueeze", lambda x: x.unsqueeze(-1), [X], lambda x: x[..., None],
     lambda x: x.unsqueeze(-1)),
    ("expand", lambda x: x.expand(2, -1, 5, -1), [V], lambda x: np.broadcast_to(x, (2, 3, 5, 4)),
     lambda x: x.expand(2, -1, 5, -1)),
    ("broadcast_to", lambda x: F.broadcast_to(x, (3, 2, 4)), [V],
     lambda x: np.broadcast_to(x, (3, 2, 4)), lambda x: x.broadcast_to((3, 2, 4))),
    ("expand_as", lambda x, y: x.expand_as(y) * y, [V[:, :, :1], V.repeat(4, 1)],
     lambda x, y: x * y, lambda x, y: x.expand_as(y) * y),
    ("repeat", lambda x: x.repeat(2, 1, 3, 2), [V], lambda x: np.tile(x, (2, 1, 3, 2)),
     lambda x: x.repeat(2, 1, 3, 2)),
    ("tile", lambda x: x.tile((2, 3)), [V], lambda x: np.tile(x, (2, 3)),
     lambda x: x.tile((2, 3))),
    ("cat", lambda a, b, c: L.cat([a, b, c], dim=1), [X, Y[:, :1], X[:, :2]],
     lambda a, b, c: np.concatenate([a, b, c], 1), lambda a, b, c: _torch("cat")([a, b, c], 1)),
    ("concatenate", lambda a, b: F.concatenate((a, b), axis=-1), [X, Y],
     lambda a, b: np.concatenate([a, b], -1), lambda a, b: _torch("concat")((a, b), -1)),
    ("stack", lambda a, b: L.stack([a, b], dim=2), [X, Y], lambda a, b: np.stack([a, b], 2),
     lambda a, b: _torch("stack")([a, b], 2)),
    ("split_int", lambda x: x.split(3, dim=2), [X], lambda x: np.split(x, [3], 2),
     lambda x: x.split(3, dim=2)),
    ("split_list", lambda x: F.split(x, [1, 2], 1), [X], lambda x: np.split(x, [1], 1),
     lambda x: x.split([1, 2], 1)),
    ("split_partial", lambda x: x.split(2)[1], [X[0]], lambda x: x[2:],
     lambda x: x.split(2)[1]),
    ("chunk", lambda x: x.chunk(3, dim=-1), [X], lambda x: np.split(x, [2], -1),
     lambda x: x.chunk(3, dim=-1)),
    ("unbind", lambda x: x.unbind(1), [X], lambda x: [x[:, i] for i in range(3)],
     lambda x: x.unbind(1)),
    ("unbind_one", lambda x: x.unbind(0)[1] * 2, [X], lambda x: x[1] * 2,
     lambda x: x.unbind(0)[1] * 2),
    ("pad_const", lambda x: F.pad(x, (1, 2, 0, 1), value=0.5), [X],
     lambda x: np.pad(x, [(0, 0), (0, 1), (1, 2)], constant_values=0.5),
     lambda x: _tf("pad")(x, (1, 2, 0, 1), value=0.5)),
    ("pad_crop", lambda x: F.pad(x, (-1, 2, 1, -1)), [X],
     lambda x: np.pad(x[:, :-1, 1:], [(0, 0), (1, 0), (0, 2)]),
     lambda x: _tf("pad")(x, (-1, 2, 1, -1))),
    ("pad_reflect", lambda x: F.pad(x, (2, 1, 1, 3), mode="reflect"), [I4],
     lambda x: _np_repeat_pad(x, (2, 1, 1, 3), "reflect"),
     lambda x: _tf("pad")(x, (2, 1, 1, 3), mode="reflect")),
    ("pad_replicate", lambda x: F.pad(x, (2, 1, 1, 3), mode="replicate"), [I4],
     lambda x: _np_repeat_pad(x, (2, 1, 1, 3), "edge"),
     lambda x: _tf("pad")(x, (2, 1, 1, 3), mode="replicate")),
    ("pad_circular", lambda x: F.pad(x, (2, 1, 1, 3), mode="circular"), [I4],
     lambda x: _np_repeat_pad(x, (2, 1, 1, 3), "wrap"),
     lambda x: _tf("pad")(x, (2, 1, 1, 3), mode="circular")),
    ("flip", lambda x: x.flip(0, 2), [X], lambda x: x[::-1, :, ::-1],
     lambda x: x.flip((0, 2))),
    ("roll", lambda x: x.roll(1, 2), [X], lambda x: np.roll(x, 1, 2), lambda x: x.roll(1, 2)),
    ("roll_multi", lambda x: F.roll(x, (1, -2), (0, 2)), [X], lambda x: np.roll(x, (1, -2), (0, 2)),
     lambda x: x.roll((1, -2), (0, 2))),
    ("roll_flat", lambda x: x.roll(5), [X], lambda x: np.roll(x, 5), lambda x: x.roll(5)),
    ("clone", lambda x: x.clone() * x, [X], lambda x: x * x, lambda x: x.clone() * x),
    ("contiguous", lambda x: x.T.contiguous(), [X[0]], lambda x: x.T,
     lambda x: x.T.contiguous()),
]
IDS = [c[0] for c in CASES]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_shape_op(case):
    _, fn, inputs, ref, _ = case
    check_op(fn, inputs, ref=ref, torch_fn=None)


@pytest.mark.torch
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_shape_torch_parity(case):
    _, fn, inputs, ref, tfn = case
    check_op(fn, inputs, ref=ref, torch_fn=tfn)


def test_views_share_memory_and_clone_copies():
    x = L.arange(12.0)
    v = x.view(3, 4)
    v.array[0, 0] = 7.0
    assert x.array[0] == 7.0
    c = x.clone()
    c.array[1] = -1.0
    assert x.array[1] == 1.0
    assert x.contiguous() is x


def test_shape_spellings():
    x = L.zeros(2, 3, 4)
    assert x.view(-1).shape == (24,) and x.reshape(torch_size := (4, 6)).shape == torch_size
    assert x.transpose().shape == (4, 3, 2)
    assert x.transpose(dim0=0, dim1=1).shape == (3, 2, 4)
    assert x.unsqueeze(0).shape == (1, 2, 3, 4) and x.expand_dims(3).shape == (2, 3, 4, 1)
    assert x.squeeze(0).shape == (2, 3, 4)  # non-1 dim: no-op as in torch
    assert x.flatten().shape == (24,) and L.tensor(3.0).flatten().shape == (1,)
    assert x.permute((1, 0, 2)).shape == (3, 2, 4) and x.swapdims(0, 1).shape == (3, 2, 4)
    assert x.mT.shape == (2, 4, 3) and x[0].t().shape == (4, 3)
    assert [p.shape[0] for p in L.zeros(10).split(4)] == [4, 4, 2]
    assert [p.shape[0] for p in L.zeros(5).chunk(3)] == [2, 2, 1]
    assert len(L.zeros(6).chunk(4)) == 3  # torch: ceil(6/4) = 2 per chunk -> 3 chunks
    assert x.repeat(2, 1, 1, 1).shape == (2, 2, 3, 4)
    assert F.cat([x], 0) is x


def test_split_gradient_when_only_some_pieces_are_used():
    x = L.tensor(X, requires_grad=True)
    a, b, c = x.unbind(1)
    (b * 3).sum().backward()
    want = np.zeros_like(X)
    want[:, 1] = 3
    np.testing.assert_array_equal(x.grad, want)
    x.grad = None
    second = x.split([1, 3], dim=2)[1]  # the first piece's tensor is gone: counts as zeros
    second.sum().backward()
    assert x.grad[..., 0].sum() == 0 and (x.grad[..., 1:] == 1).all()


@pytest.mark.parametrize("fn, msg", [
    (lambda x: x.view(5, 3), r"view: expected a shape with 24 elements \(input shape "
                             r"\(2, 3, 4\)\), got shape \(5, 3\)"),
    (lambda x: x.reshape(-1, 5), r"reshape: expected a shape with 24 elements.*\(2, 3, 4\).*"
                                 r"\(-1, 5\)"),
    (lambda x: x.reshape(-1, -1), r"reshape: .*\(-1, -1\)"),
    (lambda x: L.cat([x, L.zeros(2, 4, 4)], dim=2),
     r"cat: expected all tensors to have the same shape except in dim 2, got \(2, 3, 4\) and "
     r"\(2, 4, 4\)"),
    (lambda x: L.stack([x, L.zeros(2, 3)]), r"stack: expected tensors of equal shape"),
    (lambda x: x.expand(2, 5, 4), r"expand: .*\(2, 3, 4\).*\(2, 5, 4\)"),
    (lambda x: x.split([1, 1], 1), r"split: expected sizes summing to 3"),
    (lambda x: x.permute(0, 0, 1), r"permute: expected a permutation of 3 dims"),
    (lambda x: x.transpose(0, 3), r"transpose: expected dim in \[-3, 3\), got dim=3"),
    (lambda x: x.repeat(2, 2), r"repeat: expected at least 3 sizes"),
    (lambda x: x.unflatten(1, (2, 2)), r"unflatten: expected sizes with product 3"),
    (lambda x: F.pad(x, (4, 0), mode="reflect"), r"pad: expected reflect pads <= 3"),
    (lambda x: F.pad(x, (1, 1, 1)), r"pad: expected an even number of pads"),
])
def test_shape_errors_name_op_and_shapes(fn, msg):
    with pytest.raises(L.ShapeError, match=msg):
        fn(L.zeros(2, 3, 4))
