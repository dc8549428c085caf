"""Samplers: weighted frequencies, stratified batch proportions, seeding and state."""

import numpy as np
import pytest

from lamina.data import (ArrayDataset, BatchSampler, DataLoader, RandomSampler,
                         SequentialSampler, StratifiedBatchSampler, WeightedRandomSampler)


def test_sequential_and_random_samplers():
    assert list(SequentialSampler(5)) == [0, 1, 2, 3, 4]
    s = RandomSampler(10, seed=0)
    a, b = s.sample(), s.sample()
    assert sorted(a.tolist()) == list(range(10)) and not np.array_equal(a, b)
    s.set_epoch(0)
    np.testing.assert_array_equal(s.sample(), a)
    r = RandomSampler(3, replacement=True, num_samples=50, seed=0)
    assert len(r) == 50 and set(r.sample().tolist()) <= {0, 1, 2}
    with pytest.raises(ValueError, match="replacement=True"):
        RandomSampler(3, num_samples=5)


def test_sampler_state_dict_roundtrip():
    s = RandomSampler(12, seed=4)
    s.sample()
    state = s.state_dict()
    want = s.sample()
    t = RandomSampler(12, seed=0)
    t.load_state_dict(state)
    np.testing.assert_array_equal(t.sample(), want)


def test_weighted_sampling_frequencies():
    w = np.array([1.0, 2.0, 7.0])
    s = WeightedRandomSampler(w, num_samples=20000, seed=0)
    freq = np.bincount(s.sample(), minlength=3) / 20000
    np.testing.assert_allclose(freq, w / w.sum(), atol=0.015)
    no_rep = WeightedRandomSampler([1, 1, 1, 0], num_samples=3, replacement=False, seed=0)
    assert sorted(no_rep.sample().tolist()) == [0, 1, 2]
    with pytest.raises(ValueError, match="non-negative"):
        WeightedRandomSampler([1, -1], num_samples=2)


def test_weighted_sampler_balances_classes_in_loader():
    y = np.r_[np.zeros(90, np.int64), np.ones(10, np.int64)]
    w = 1.0 / np.bincount(y)[y]
    loader = DataLoader(ArrayDataset(np.zeros((100, 2)), y), batch_size=50,
                        sampler=WeightedRandomSampler(w, 4000, seed=1))
    labels = np.concatenate([b.numpy() for _, b in loader])
    assert len(loader) == 80 and abs(labels.mean() - 0.5) < 0.04


def test_batch_sampler_counts():
    bs = BatchSampler(SequentialSampler(10), 4, drop_last=False)
    assert [len(b) for b in bs] == [4, 4, 2] and len(bs) == 3
    assert len(BatchSampler(SequentialSampler(10), 4, drop_last=True)) == 2


def test_stratified_batches_keep_class_proportions():
    y = np.repeat([0, 1, 2], [60, 30, 10])
    s = StratifiedBatchSampler(y, batch_size=10, seed=0)
    batches = list(s)
    assert len(batches) == len(s) == 10
    assert sorted(np.concatenate(batches).tolist()) == list(range(100))
    for b in batches:
        np.testing.assert_array_equal(np.bincount(y[b], minlength=3), [6, 3, 1])
    # uneven sizes: every batch within one sample of the expected count per class
    y2 = np.random.default_rng(0).choice(3, size=257, p=[0.5, 0.3, 0.2])
    p = np.bincount(y2) / len(y2)
    s2 = StratifiedBatchSampler(y2, batch_size=32, seed=1, drop_last=True)
    for b in s2:
        assert np.all(np.abs(np.bincount(y2[b], minlength=3) - 32 * p) <= 1.5)
    e0, e1 = s2.sample(), s2.sample()
    assert not np.array_equal(e0, e1)


def test_stratified_batch_sampler_in_loader():
    y = np.repeat([0, 1], [75, 25])
    loader = DataLoader(ArrayDataset(np.zeros((100, 1)), y),
                        batch_sampler=StratifiedBatchSampler(y, batch_size=20, seed=0))
    assert len(loader) == 5 and loader.batch_size is None
    for _, yb in loader:
        assert yb.numpy().sum() == 5
