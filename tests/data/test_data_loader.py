"""DataLoader: batch counts, dtypes, vectorized fetching, seeded and resumable order, prefetch."""

import gc
import json
import threading

import numpy as np
import pytest

import lamina
from lamina.data import (ArrayDataset, ConcatDataset, DataLoader, Dataset, MemmapDataset,
                         RandomShift, Subset, TensorDataset)


class CountingArrayDataset(ArrayDataset):
    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        self.getitem_calls = 0
        self.batch_calls = 0

    def __getitem__(self, i):
        self.getitem_calls += 1
        return super().__getitem__(i)

    def get_batch(self, idx):
        self.batch_calls += 1
        return super().get_batch(idx)


class ListDataset(Dataset):
    """A plain map-style dataset (per-sample path)."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return np.full(3, float(i)), i


def _data(n=23):
    rs = np.random.default_rng(0)
    return rs.standard_normal((n, 3)), np.arange(n) % 4


def _orders(loader, epochs):
    return [np.concatenate([y.numpy() for _, y in loader]) for _ in range(epochs)]


@pytest.mark.parametrize("drop_last, expected", [(False, [5, 5, 5, 5, 3]), (True, [5] * 4)])
def test_batch_counts_and_drop_last(drop_last, expected):
    loader = DataLoader(ArrayDataset(*_data()), batch_size=5, drop_last=drop_last)
    assert len(loader) == len(expected)
    assert [len(x) for x, _ in loader] == expected
    assert loader.batch_size == 5 and len(loader.dataset) == 23


def test_shapes_dtypes_and_sequential_order():
    X, y = _data()
    loader = DataLoader(ArrayDataset(X, y), batch_size=8)
    xb, yb = next(iter(loader))
    assert isinstance(xb, lamina.Tensor) and isinstance(yb, lamina.Tensor)
    assert xb.shape == (8, 3) and xb.dtype == np.float32 and yb.dtype == np.int64
    np.testing.assert_allclose(xb.numpy(), X[:8].astype(np.float32))
    reg = DataLoader(ArrayDataset(X, X[:, 0]), batch_size=4)
    assert next(iter(reg))[1].dtype == np.float32


def test_vectorized_path_never_calls_getitem():
    ds = CountingArrayDataset(*_data())
    batches = list(DataLoader(ds, batch_size=4, shuffle=True))
    assert ds.getitem_calls == 0 and ds.batch_calls == len(batches) == 6
    sub = Subset(ds, np.arange(10))
    list(DataLoader(sub, batch_size=3))
    assert ds.getitem_calls == 0


def test_fallback_per_sample_collate():
    loader = DataLoader(ListDataset(7), batch_size=3)
    (xb, yb), *_ = list(loader)
    assert xb.shape == (3, 3) and xb.dtype == np.float32 and yb.dtype == np.int64
    np.testing.assert_array_equal(yb.numpy(), [0, 1, 2])
    assert len(loader) == 3


def test_tensor_memmap_concat_datasets_batch(tmp_path):
    X, y = _data(10)
    t = next(iter(DataLoader(TensorDataset(lamina.tensor(X), lamina.tensor(y)), batch_size=4)))
    assert t[0].shape == (4, 3) and t[1].dtype == np.int64
    np.save(tmp_path / "x.npy", X)  # float64 on disk -> float32 batches
    m = next(iter(DataLoader(MemmapDataset(tmp_path / "x.npy"), batch_size=4)))
    assert isinstance(m, lamina.Tensor) and m.dtype == np.float32
    cat = ConcatDataset([ArrayDataset(X, y), ArrayDataset(X + 100, y)])
    assert cat.supports_batch
    xs = np.concatenate([x.numpy() for x, _ in DataLoader(cat, batch_size=6, shuffle=True)])
    assert sorted(xs[:, 0].tolist()) == sorted(np.r_[X[:, 0], X[:, 0] + 100].astype(np.float32)
                                               .tolist())


def test_seeded_shuffle_is_deterministic_and_changes_each_epoch():
    ds = ArrayDataset(*_data())
    a = _orders(DataLoader(ds, batch_size=5, shuffle=True, seed=3), 3)
    b = _orders(DataLoader(ds, batch_size=5, shuffle=True, seed=3), 3)
    for ea, eb in zip(a, b):
        np.testing.assert_array_equal(ea, eb)
    assert not np.array_equal(a[0], a[1]) and not np.array_equal(a[1], a[2])
    # every epoch is a permutation of the data
    ds2 = ArrayDataset(np.zeros((23, 1)), np.arange(23))
    for order in _orders(DataLoader(ds2, batch_size=5, shuffle=True, seed=3), 2):
        assert sorted(order.tolist()) == list(range(23))


def test_manual_seed_fixes_unseeded_loader():
    ds = ArrayDataset(np.zeros((30, 1)), np.arange(30))
    lamina.manual_seed(7)
    a = _orders(DataLoader(ds, batch_size=4, shuffle=True), 2)
    lamina.manual_seed(7)
    b = _orders(DataLoader(ds, batch_size=4, shuffle=True), 2)
    np.testing.assert_array_equal(np.stack(a), np.stack(b))
    lamina.manual_seed(8)
    c = _orders(DataLoader(ds, batch_size=4, shuffle=True), 1)
    assert not np.array_equal(a[0], c[0])


def test_state_dict_resumes_the_exact_order():
    ds = ArrayDataset(np.zeros((40, 1)), np.arange(40))
    lamina.manual_seed(1)
    full = _orders(DataLoader(ds, batch_size=6, shuffle=True), 5)
    lamina.manual_seed(1)
    first = DataLoader(ds, batch_size=6, shuffle=True)
    _orders(first, 2)
    state = json.loads(json.dumps(first.state_dict()))  # JSON-able, survives a round trip
    assert state["epoch"] == 2
    lamina.manual_seed(99)  # a new process with another seed: the state alone decides
    resumed = DataLoader(ds, batch_size=6, shuffle=True)
    resumed.load_state_dict(state)
    for want, got in zip(full[2:], _orders(resumed, 3)):
        np.testing.assert_array_equal(want, got)
    resumed.set_epoch(0)
    np.testing.assert_array_equal(_orders(resumed, 1)[0], full[0])


def test_two_live_iterators_do_not_share_an_epoch():
    ds = ArrayDataset(np.zeros((20, 1)), np.arange(20))
    loader = DataLoader(ds, batch_size=20, shuffle=True, seed=0)
    e0 = _orders(DataLoader(ds, batch_size=20, shuffle=True, seed=0), 1)[0]
    it0, _ = iter(loader), iter(loader)
    np.testing.assert_array_equal(next(it0)[1].numpy(), e0)


def test_prefetch_matches_and_stops_cleanly():
    ds = ArrayDataset(*_data(50))
    plain = DataLoader(ds, batch_size=7, shuffle=True, seed=5, transform=lambda x: x * 2)
    pre = DataLoader(ds, batch_size=7, shuffle=True, seed=5, prefetch=2,
                     transform=lambda x: x * 2)
    for (xa, ya), (xb, yb) in zip(plain, pre):
        np.testing.assert_array_equal(xa.numpy(), xb.numpy())
        np.testing.assert_array_equal(ya.numpy(), yb.numpy())
    assert len(list(pre)) == len(pre) == 8
    it = iter(pre)
    next(it)
    thread = it._thread
    del it
    gc.collect()
    thread.join(timeout=2)
    assert not thread.is_alive()
    for _ in pre:  # `break` out of a for loop releases the thread too
        break
    gc.collect()
    assert not any(t.name == "lamina-prefetch" and t.is_alive() for t in threading.enumerate())


def test_prefetch_forwards_errors():
    class Broken(ListDataset):
        def __getitem__(self, i):
            if i == 5:
                raise KeyError("sample 5 is broken")
            return super().__getitem__(i)

    with pytest.raises(KeyError, match="sample 5"):
        list(DataLoader(Broken(9), batch_size=2, prefetch=2))


def test_random_transform_is_seeded_by_loader():
    X = np.random.default_rng(0).random((16, 1, 6, 6)).astype(np.float32)
    ds = ArrayDataset(X, np.zeros(16, dtype=np.int64))
    run = [np.concatenate([x.numpy() for x, _ in
                           DataLoader(ds, batch_size=4, seed=2, transform=RandomShift(2))])
           for _ in range(2)]
    np.testing.assert_array_equal(run[0], run[1])
    assert not np.array_equal(run[0], X)


def test_invalid_arguments():
    ds = ArrayDataset(*_data())
    with pytest.raises(ValueError, match="mutually exclusive"):
        DataLoader(ds, batch_size=4, batch_sampler=[[0, 1]])
    with pytest.raises(ValueError, match="shuffle=False"):
        DataLoader(ds, shuffle=True, sampler=range(3))
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(ds, batch_size=0)
