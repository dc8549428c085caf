"""Keras habits in Trainer.fit: validation_data, validation_split, class_weight."""

import numpy as np
import pytest

import lamina
from lamina import functional as F
from lamina import nn, optim
from lamina.data import ArrayDataset
from lamina.train import Trainer
from lamina.train._data import class_weighted


def _data(n=120, d=4, c=3, seed=0):
    rs = np.random.default_rng(seed)
    y = rs.integers(0, c, n)
    X = (rs.standard_normal((c, d))[y] * 2 + rs.standard_normal((n, d))).astype(np.float32)
    return X, y


def _fit(lr=0.05, opt=optim.Adam, **kw):
    lamina.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    tr = Trainer(model, opt(model.parameters(), lr=lr), F.cross_entropy)
    hist = tr.fit(verbose=0, **kw)
    return hist.history, model


def test_validation_data_is_validation():
    X, y = _data()
    a, _ = _fit(train=(X[:90], y[:90]), validation=(X[90:], y[90:]), epochs=2, batch_size=16)
    b, _ = _fit(train=(X[:90], y[:90]), validation_data=(X[90:], y[90:]), epochs=2,
                batch_size=16)
    assert "val_loss" in b and a["val_loss"] == b["val_loss"]
    with pytest.raises(ValueError, match="both"):
        _fit(train=(X, y), validation=(X, y), validation_data=(X, y), epochs=1, batch_size=16)


@pytest.mark.parametrize("as_dataset", [False, True])
def test_validation_split_takes_the_last_fraction_before_shuffling(as_dataset):
    X, y = _data()
    train = ArrayDataset(X, y) if as_dataset else (X, y)
    a, _ = _fit(train=train, validation_split=0.25, epochs=2, batch_size=16)
    b, _ = _fit(train=(X[:90], y[:90]), validation=(X[90:], y[90:]), epochs=2, batch_size=16)
    assert a["val_loss"] == b["val_loss"] and a["loss"] == b["loss"]
    with pytest.raises(ValueError, match="validation_split"):
        _fit(train=(X, y), validation_split=1.5, epochs=1, batch_size=16)


def test_class_weighted_loss_is_keras_sum_over_batch_size():
    rs = np.random.default_rng(1)
    logits = rs.standard_normal((6, 3)).astype(np.float32)
    y = np.array([0, 1, 2, 2, 1, 0])
    w = {0: 1.0, 1: 3.0, 2: 0.5}
    got = class_weighted(F.cross_entropy, w)(lamina.tensor(logits), lamina.tensor(y)).item()
    logp = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    per = -logp[np.arange(6), y]
    want = np.mean(per * np.array([w[k] for k in y]))  # divided by N, not by sum(w)
    assert got == pytest.approx(want, rel=1e-5)


def test_class_weight_scales_training_loss_not_validation():
    X, y = _data()
    # a uniform weight 2 under plain SGD is the same step as twice the learning rate
    a, ma = _fit(train=(X, y), validation=(X, y), epochs=1, batch_size=120, lr=0.1,
                 opt=optim.SGD, class_weight={0: 2.0, 1: 2.0, 2: 2.0}, shuffle=False)
    b, mb = _fit(train=(X, y), validation=(X, y), epochs=1, batch_size=120, lr=0.2,
                 opt=optim.SGD, shuffle=False)
    for pa, pb in zip(ma.parameters(), mb.parameters()):
        np.testing.assert_allclose(pa.array, pb.array, rtol=1e-5, atol=1e-6)
    assert a["loss"][0] == pytest.approx(2 * b["loss"][0], rel=1e-5)
    assert a["val_loss"][0] == pytest.approx(b["val_loss"][0], rel=1e-5)
