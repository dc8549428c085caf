"""Sequence zoo: model checks (layouts, padded lengths, CLI builder, torch parity) and learning
outcomes on real data (fixed seeds; figures in docs/models.md).

- MNIST-1D (stratified 80/20 split of 5,000): a GRU classifier and a 1-D CNN each beat an MLP
  baseline trained on the same split.
- Sunspots (yearly, chronological split, test = 1947-2008): a GRU forecaster has a lower test
  RMSE than the seasonal-naive forecast (the value 11 years, one solar cycle, earlier: the
  first value of each 11-year window) and than persistence (last year's value).
"""

import numpy as np
import pytest

import lamina as L
import lamina.functional as F
from lamina import data as D
from lamina import datasets, optim
from lamina.cli.build import build_model
from lamina.models import MLP, CNN1DClassifier, Forecaster, GRUClassifier, LSTMClassifier
from lamina.models.sequence import sequence_layout
from lamina.train import Trainer


def _t(rs, *shape):
    return L.tensor(rs.standard_normal(shape).astype(np.float32))


# ---------------------------------------------------------------- model checks
@pytest.mark.parametrize("cls", [GRUClassifier, LSTMClassifier])
def test_recurrent_classifier_layouts(rs, cls):
    assert cls(num_classes=5)(_t(rs, 3, 7)).shape == (3, 5)  # (N, T): one feature per step
    m = cls(input_size=4, hidden_size=8, num_classes=5, bidirectional=True, num_layers=2)
    assert m.fc.weight.shape == (5, 16)
    x = _t(rs, 3, 7, 4)
    y = m(x)
    assert y.shape == (3, 5)
    m.channels_first = True  # the same data given as (N, C, T)
    np.testing.assert_allclose(m(F.transpose(x, 1, 2)).numpy(), y.numpy(), rtol=1e-6)


@pytest.mark.parametrize("cls", [GRUClassifier, LSTMClassifier])
def test_recurrent_classifier_uses_last_valid_step(rs, cls):
    m = cls(input_size=2, hidden_size=6, num_classes=3)
    x = rs.standard_normal((2, 5, 2)).astype(np.float32)
    padded = m(L.tensor(x), lengths=[3, 5]).numpy()
    np.testing.assert_allclose(padded[0], m(L.tensor(x[:1, :3])).numpy()[0], rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(padded[1], m(L.tensor(x[1:])).numpy()[0], rtol=1e-5, atol=1e-6)


def test_sequence_layout_and_from_config():
    assert sequence_layout((40,)) == (1, False)
    assert sequence_layout((1, 40)) == (1, True)      # mnist1d with flatten=False: (C, T)
    assert sequence_layout((11, 1)) == (1, False)     # forecasting windows: (T, F)
    m = build_model({"name": "gru_classifier", "hidden_size": 16, "bidirectional": True},
                    (40,), 10)
    assert isinstance(m, GRUClassifier) and m.rnn.bidirectional and m.rnn.input_size == 1
    m = LSTMClassifier.from_config((3, 40), 4, hidden_size=8)
    assert m.channels_first and m.rnn.input_size == 3
    c = CNN1DClassifier.from_config((2, 40), 10, channels=[8, 16])
    assert c.features[0].weight.shape == (8, 2, 5) and c.fc.weight.shape == (10, 16)
    f = Forecaster.from_config((11, 1), 3, hidden_size=8, rnn="lstm")
    assert f.fc.weight.shape == (3, 8)


def test_cnn1d_and_forecaster_shapes(rs):
    cnn = CNN1DClassifier(num_classes=10, dropout=0.1)
    assert cnn(_t(rs, 4, 40)).shape == (4, 10) and cnn(_t(rs, 4, 1, 40)).shape == (4, 10)
    assert Forecaster(horizon=3)(_t(rs, 4, 11)).shape == (4, 3)
    assert Forecaster(input_size=2, rnn="lstm")(_t(rs, 4, 11, 2)).shape == (4, 1)
    with pytest.raises(ValueError, match="Forecaster: expected rnn 'gru' or 'lstm'"):
        Forecaster(rnn="rnn")


def test_summary_of_sequence_models():
    text = L.summary(GRUClassifier(hidden_size=64), (40,), print_fn=None)
    assert "rnn" in text and "GRU" in text and "Total params: 13,514" in text
    text = L.summary(CNN1DClassifier(), (40,), print_fn=None)
    assert "features.8" in text and "(1, 64, 10)" in text
    assert "Output shape: (1, 3)" in L.summary(Forecaster(horizon=3), (11, 1), print_fn=None)


@pytest.mark.torch
@pytest.mark.parametrize("kind, bi", [("gru", False), ("gru", True), ("lstm", True)])
def test_recurrent_classifier_matches_torch(rs, kind, bi):
    torch = pytest.importorskip("torch")
    cls = GRUClassifier if kind == "gru" else LSTMClassifier
    m = cls(input_size=3, hidden_size=8, num_classes=4, num_layers=2, bidirectional=bi)
    t = torch.nn.Module()
    t.rnn = (torch.nn.GRU if kind == "gru" else torch.nn.LSTM)(
        3, 8, num_layers=2, batch_first=True, bidirectional=bi)
    t.fc = torch.nn.Linear(16 if bi else 8, 4)
    t.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in m.state_dict().items()})
    x = rs.standard_normal((5, 6, 3)).astype(np.float32)
    out = m(L.tensor(x))
    (out ** 2).sum().backward()
    _, h = t.rnn(torch.from_numpy(x))
    h = h[0] if kind == "lstm" else h
    ref = t.fc(torch.cat([h[-2], h[-1]], -1) if bi else h[-1])
    (ref ** 2).sum().backward()
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-5, atol=1e-6)
    grads = dict(t.named_parameters())
    for name, p in m.named_parameters():
        np.testing.assert_allclose(np.asarray(p.grad), grads[name].grad.numpy(), rtol=1e-4,
                                   atol=1e-5, err_msg=name)


@pytest.mark.torch
def test_cnn1d_matches_torch(rs):
    torch = pytest.importorskip("torch")
    nn = torch.nn
    m = CNN1DClassifier(channels=(4, 8), num_classes=3)
    t = nn.Module()
    t.features = nn.Sequential(nn.Conv1d(1, 4, 5, padding=2, bias=False), nn.BatchNorm1d(4),
                               nn.ReLU(), nn.MaxPool1d(2), nn.Conv1d(4, 8, 5, padding=2,
                                                                     bias=False),
                               nn.BatchNorm1d(8), nn.ReLU())
    t.fc = nn.Linear(8, 3)
    t.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in m.state_dict().items()})
    x = rs.standard_normal((4, 40)).astype(np.float32)
    ref = t.fc(t.features(torch.from_numpy(x)[:, None]).mean(-1))
    np.testing.assert_allclose(m(L.tensor(x)).numpy(), ref.detach().numpy(), rtol=1e-4,
                               atol=1e-5)


# ---------------------------------------------------------------- learning outcomes
def _train(model, x, y, epochs, lr, batch_size, loss=F.cross_entropy, metrics=("accuracy",),
           onecycle=True, grad_clip=None):
    opt = optim.Adam(model.parameters(), lr=lr)
    loader = D.DataLoader(D.ArrayDataset(x, y), batch_size=batch_size, shuffle=True, seed=0)
    sched = optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, epochs=epochs,
                                          steps_per_epoch=len(loader)) if onecycle else None
    trainer = Trainer(model, opt, loss, metrics=metrics, scheduler=sched,
                      scheduler_interval="step", grad_clip=grad_clip)
    trainer.fit(loader, epochs=epochs, verbose=0)
    return trainer


@pytest.fixture(scope="module")
def mnist1d():
    """The split and the MLP baseline's test accuracy (trained once per module)."""
    d = datasets.load("mnist1d")  # (N, 40), 4000 train / 1000 test
    L.manual_seed(0)
    mlp = _train(MLP(40, (256, 256), 10), d.x_train, d.y_train, epochs=30, lr=2e-3,
                 batch_size=64)
    return d, mlp.evaluate((d.x_test, d.y_test), batch_size=1000)["accuracy"]


def test_gru_classifier_beats_mlp_on_mnist1d(mnist1d):
    d, mlp_acc = mnist1d
    assert 0.55 < mlp_acc < 0.8  # the MLP overfits: MNIST-1D needs translation invariance
    L.manual_seed(0)
    tr = _train(GRUClassifier(hidden_size=64), d.x_train, d.y_train, epochs=8, lr=2e-2,
                batch_size=64, grad_clip=1.0)
    acc = tr.evaluate((d.x_test, d.y_test), batch_size=1000)["accuracy"]
    assert acc > mlp_acc + 0.15, f"GRU {acc:.3f} vs MLP {mlp_acc:.3f}"


def test_cnn1d_beats_mlp_on_mnist1d(mnist1d):
    d, mlp_acc = mnist1d
    L.manual_seed(0)
    tr = _train(CNN1DClassifier(channels=(32, 64, 64)), d.x_train, d.y_train, epochs=5,
                lr=5e-3, batch_size=64)
    acc = tr.evaluate((d.x_test, d.y_test), batch_size=1000)["accuracy"]
    assert acc > mlp_acc + 0.15, f"CNN {acc:.3f} vs MLP {mlp_acc:.3f}"


def test_gru_forecaster_beats_seasonal_naive_on_sunspots():
    d = datasets.load("sunspots", flatten=False)  # windows of 11 years, (N, 11, 1)
    assert d.time[d.split_index] == 1947 and d.x_test.shape == (62, 11, 1)
    L.manual_seed(0)
    tr = _train(Forecaster(hidden_size=32), d.x_train, d.y_train.reshape(-1, 1), epochs=60,
                lr=5e-3, batch_size=16, loss=F.mse_loss, metrics=(), onecycle=False)
    pred = np.asarray(tr.predict(d.x_test, batch_size=100))[:, 0]

    def rmse(forecast):  # in sunspot-number units
        f = d.scaler.inverse_transform(np.asarray(forecast).reshape(-1, 1))[:, 0]
        y = d.scaler.inverse_transform(d.y_test.reshape(-1, 1))[:, 0]
        return float(np.sqrt(np.mean((f - y) ** 2)))

    model, seasonal, persistence = rmse(pred), rmse(d.x_test[:, 0, 0]), rmse(d.x_test[:, -1, 0])
    assert model < 0.75 * seasonal and model < persistence, (model, seasonal, persistence)
