"""Transforms: fit on training data only, round trips, state_dict, errors."""

import json

import numpy as np
import pytest

import lamina
from lamina.data import (ArrayDataset, Compose, MinMaxScale, NotFittedError, OneHot,
                         Standardize)


@pytest.fixture
def split(rs):
    x = rs.normal(5.0, 3.0, size=(200, 4))
    return x[:150], x[150:] + 10.0  # the "test" part has another distribution


def test_standardize_uses_training_statistics_only(split):
    train, test = split
    s = Standardize().fit(train)
    z = s(train)
    assert z.dtype == np.float32
    np.testing.assert_allclose(z.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(z.std(0), 1, atol=1e-4)
    np.testing.assert_allclose(s.mean, train.mean(0), rtol=1e-6)
    zt = s(test)  # test data is NOT re-centered: its shift stays visible
    assert np.all(zt.mean(0) > 2.0)
    np.testing.assert_allclose(s.inverse_transform(zt), test, rtol=1e-5)


def test_standardize_constant_feature_and_per_channel():
    x = np.ones((10, 2), dtype=np.float32)
    x[:, 1] = np.arange(10)
    z = Standardize().fit_transform(x)
    assert np.all(np.isfinite(z)) and np.all(z[:, 0] == 0)
    imgs = np.random.default_rng(0).normal(3, 2, size=(8, 3, 4, 4)).astype(np.float32)
    s = Standardize(axis=(0, 2, 3)).fit(imgs)
    assert s.mean.shape == (3, 1, 1)
    np.testing.assert_allclose(s(imgs).mean(axis=(0, 2, 3)), 0, atol=1e-5)


def test_transform_before_fit_raises_clear_error():
    for t in (Standardize(), MinMaxScale(), OneHot()):
        with pytest.raises(NotFittedError, match=r"call fit\(x_train\) first"):
            t.transform(np.zeros((2, 3), dtype=np.int64))


def test_shape_mismatch_names_the_transform(split):
    s = Standardize().fit(split[0])
    with pytest.raises(ValueError, match="Standardize.transform"):
        s(np.zeros((3, 5)))


def test_minmax_range_and_round_trip(split):
    train, test = split
    m = MinMaxScale(feature_range=(-1, 1)).fit(train)
    out = m(train)
    np.testing.assert_allclose(out.min(0), -1, atol=1e-6)
    np.testing.assert_allclose(out.max(0), 1, atol=1e-6)
    np.testing.assert_allclose(m.inverse_transform(m(test)), test, rtol=1e-5)
    with pytest.raises(ValueError, match="low < high"):
        MinMaxScale((1, 0))


def test_one_hot_round_trip_and_range_error():
    y = np.array([0, 2, 1, 2])
    oh = OneHot().fit(y)
    out = oh(y)
    assert out.shape == (4, 3) and out.dtype == np.float32
    np.testing.assert_array_equal(oh.inverse_transform(out), y)
    with pytest.raises(ValueError, match=r"labels in \[0, 3\)"):
        oh(np.array([3]))
    assert OneHot(5)(np.array([4])).shape == (1, 5)  # num_classes given: no fit needed


def test_state_dict_roundtrip_is_plain_and_jsonable(split):
    train, test = split
    for make in (Standardize, lambda: MinMaxScale((0, 2)), OneHot):
        t = make()
        data = np.arange(6) if isinstance(t, OneHot) else train
        t.fit(data)
        state = t.state_dict()
        json.dumps({k: np.asarray(v).tolist() for k, v in state.items()})
        fresh = make().load_state_dict(state)
        probe = np.array([1, 5]) if isinstance(t, OneHot) else test
        np.testing.assert_array_equal(fresh(probe), t(probe))
    # JSON-decoded lists load too
    s = Standardize().fit(train)
    restored = Standardize().load_state_dict(json.loads(json.dumps(
        {k: v.tolist() for k, v in s.state_dict().items()})))
    np.testing.assert_allclose(restored(test), s(test), rtol=1e-6)


def test_compose_fits_in_sequence_and_flat_state(split):
    train, test = split
    c = Compose([Standardize(), MinMaxScale()]).fit(train)
    out = c(train)
    np.testing.assert_allclose(out.min(0), 0, atol=1e-6)
    np.testing.assert_allclose(c.inverse_transform(c(test)), test, rtol=1e-4)
    state = c.state_dict()
    assert set(state) == {"0.mean", "0.std", "1.data_min", "1.data_max", "1.feature_range"}
    c2 = Compose([Standardize(), MinMaxScale()]).load_state_dict(state)
    np.testing.assert_allclose(c2(test), c(test))


def test_tensor_in_tensor_out_and_dataset_transform(split):
    train, _ = split
    s = Standardize().fit(train)
    out = s(lamina.tensor(train))
    assert isinstance(out, lamina.Tensor) and out.dtype == np.float32
    ds = ArrayDataset(train, np.zeros(150, dtype=np.int64), transform=s)
    np.testing.assert_allclose(ds[3][0], s(train[3:4])[0])
    np.testing.assert_allclose(ds.get_batch([3, 4])[0], s(train[3:5]))
