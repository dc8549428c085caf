"""Batch image augmentation: shapes, determinism, what each one does."""

import numpy as np
import pytest

import lamina
from lamina.data import Compose, GaussianNoise, RandomFlip, RandomRotation, RandomShift

AUGS = [RandomShift(2), RandomFlip(), RandomFlip(horizontal=False, vertical=True),
        RandomRotation(15), GaussianNoise(0.1)]


@pytest.mark.parametrize("aug", AUGS, ids=lambda a: type(a).__name__)
@pytest.mark.parametrize("shape", [(6, 3, 8, 8), (6, 8, 8)])
def test_shapes_dtype_and_determinism(aug, shape):
    x = np.random.default_rng(0).random(shape).astype(np.float32)
    lamina.manual_seed(3)
    a = aug(x)
    lamina.manual_seed(3)
    b = aug(x)
    assert a.shape == x.shape and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(aug(x, rng=np.random.default_rng(1)),
                                  aug(x, rng=np.random.default_rng(1)))
    assert not np.array_equal(a, x)


def test_shift_moves_mass_with_zero_fill():
    x = np.zeros((200, 1, 9, 9), dtype=np.float32)
    x[:, 0, 4, 4] = 1.0
    out = RandomShift(2)(x)
    assert np.all(out.reshape(200, -1).sum(1) == 1)  # nothing lost from the centre
    ys, xs = np.nonzero(out[:, 0])[1:]
    assert np.all(np.abs(ys - 4) <= 2) and np.all(np.abs(xs - 4) <= 2)
    assert len(set(zip(ys.tolist(), xs.tolist()))) > 15  # many of the 25 offsets occur
    edge = np.zeros((50, 5, 5), dtype=np.float32)
    edge[:, 0, 0] = 1.0
    assert edge.sum() > RandomShift(1)(edge).sum()  # shifted past the border -> zero fill


def test_flip_is_exact_mirror_per_image():
    x = np.random.default_rng(0).random((64, 2, 4, 5)).astype(np.float32)
    out = RandomFlip(p=0.5)(x)
    flipped = np.array([np.array_equal(o, xi[..., ::-1]) for o, xi in zip(out, x)])
    same = np.array([np.array_equal(o, xi) for o, xi in zip(out, x)])
    assert np.all(flipped ^ same) and 10 < flipped.sum() < 54
    np.testing.assert_array_equal(RandomFlip(p=1.0)(x), x[..., ::-1])


def test_rotation_keeps_centre_and_rotates_90():
    x = np.zeros((1, 7, 7), dtype=np.float32)
    x[0, 3, 3] = 1.0
    np.testing.assert_allclose(RandomRotation(0)(x), x)
    out = RandomRotation(30)(np.repeat(x, 5, 0))
    np.testing.assert_allclose(out[:, 3, 3], 1.0, atol=1e-6)
    bar = np.zeros((1, 1, 7, 7), dtype=np.float32)
    bar[0, 0, 3, 1:6] = 1.0  # horizontal bar -> vertical bar at +-90 degrees

    class Fixed:
        def uniform(self, lo, hi, n):
            return np.full(n, 90.0)

    rot = RandomRotation(90)._apply(bar, Fixed())
    np.testing.assert_allclose(rot[0, 0, 1:6, 3], 1.0, atol=1e-5)
    assert abs(rot.sum() - 5.0) < 1e-4


def test_noise_statistics_and_compose():
    x = np.zeros((100, 1, 8, 8), dtype=np.float32)
    n = GaussianNoise(0.5)(x)
    assert abs(n.std() - 0.5) < 0.02 and abs(n.mean()) < 0.02
    c = Compose([RandomShift(1), GaussianNoise(0.1, clip=(0, 1))])
    out = c(x + 0.5, rng=np.random.default_rng(0))
    assert out.min() >= 0 and out.max() <= 1


def test_tensor_input_and_bad_shape():
    t = lamina.rand(4, 1, 5, 5)
    assert isinstance(RandomShift(1)(t), lamina.Tensor)
    with pytest.raises(ValueError, match=r"RandomShift: expected images shaped \(N, C, H, W\)"):
        RandomShift(1)(np.zeros((4, 5)))
