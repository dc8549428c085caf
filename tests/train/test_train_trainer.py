"""Trainer: data forms, logs, metrics on accumulated outputs, custom steps, schedules."""

import numpy as np
import pytest

import lamina
from lamina import functional as F
from lamina import metrics as M
from lamina import nn, optim
from lamina.data import ArrayDataset, DataLoader, cross_validate
from lamina.errors import DTypeError
from lamina.train import Callback, History, LambdaCallback, Trainer


def _blobs(rs, n=240, c=3, d=5):
    centers = rs.standard_normal((c, d)) * 3
    y = rs.integers(0, c, n)
    X = (centers[y] + rs.standard_normal((n, d))).astype(np.float32)
    return X, y


def _trainer(d=5, c=3, lr=0.05, **kw):
    model = nn.Sequential(nn.Linear(d, 16), nn.ReLU(), nn.Linear(16, c))
    return Trainer(model, optim.Adam(model.parameters(), lr=lr), F.cross_entropy, **kw)


def test_fit_tuple_learns_and_logs(rs):
    X, y = _blobs(rs)
    tr = _trainer(metrics=("accuracy", "f1_macro"))
    hist = tr.fit((X[:200], y[:200]), epochs=6, batch_size=32, validation=(X[200:], y[200:]),
                  verbose=0)
    assert isinstance(hist, History) and hist is tr.history and hist.epoch == list(range(6))
    assert set(hist.history) == {"loss", "accuracy", "f1_macro", "val_loss", "val_accuracy",
                                 "val_f1_macro", "lr"}
    assert all(len(v) == 6 for v in hist.history.values())
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    assert hist.history["val_accuracy"][-1] >= 0.9
    assert hist.history["lr"] == [0.05] * 6
    for p in tr.model.parameters():
        assert p.dtype == np.float32


def test_validation_metrics_are_on_accumulated_outputs(rs):
    X, y = _blobs(rs, n=300, c=4)
    tr = _trainer(c=4, metrics=("f1_macro", "roc_auc"))
    hist = tr.fit((X[:200], y[:200]), epochs=2, batch_size=16, validation=(X[200:], y[200:]),
                  validation_batch_size=7, verbose=0)
    out = tr.predict(X[200:], batch_size=50)
    assert out.shape == (100, 4)
    # equal to the metric on all outputs at once, not a mean of per-batch F1s
    assert hist.history["val_f1_macro"][-1] == pytest.approx(
        M.f1_score(y[200:], out, average="macro"), abs=1e-12)
    assert hist.history["val_roc_auc"][-1] == pytest.approx(
        M.roc_auc(y[200:], M.to_proba(out)), abs=1e-12)
    ev = tr.evaluate((X[200:], y[200:]))
    assert ev["f1_macro"] == hist.history["val_f1_macro"][-1]
    assert ev["loss"] == pytest.approx(hist.history["val_loss"][-1], rel=1e-5)
    assert ev["loss"] == pytest.approx(
        F.cross_entropy(lamina.tensor(out), lamina.tensor(y[200:])).item(), rel=1e-5)


def test_data_forms_dataset_and_loader(rs):
    X, y = _blobs(rs)
    tr = _trainer(metrics=())
    tr.fit(ArrayDataset(X, y), epochs=1, verbose=0)  # datasets default to batch_size 32
    assert tr.params["steps"] == len(X) // 32 + 1
    loader = DataLoader(ArrayDataset(X, y), batch_size=60, shuffle=True, seed=1)
    tr.fit(loader, epochs=1, verbose=0)
    assert tr.train_loader is loader and tr.params["steps"] == 4
    assert set(tr.evaluate(loader)) == {"loss"}
    with pytest.raises(ValueError, match="batch_size"):
        _trainer().fit((X, y), epochs=1, verbose=0)
    with pytest.raises(TypeError, match="DataLoader, a Dataset"):
        tr.fit(42, verbose=0)


def test_float64_inputs_are_refused_in_the_step(rs):
    X, y = _blobs(rs)
    tr = _trainer()
    bad = [(lamina.tensor(X[:8].astype(np.float64)), lamina.tensor(y[:8]))]

    class Loader:
        def __init__(self, batches):
            self.batches = batches

        def __iter__(self):
            return iter(self.batches)

        def __len__(self):
            return len(self.batches)

    with pytest.raises(DTypeError, match="float32 loss"):
        tr.fit(Loader(bad), epochs=1, verbose=0)


def test_custom_step_fn_like_a_gan(rs):
    X, _ = _blobs(rs, n=64)
    g = nn.Linear(2, 5)
    d = nn.Linear(5, 1)
    og, od = optim.SGD(g.parameters(), lr=0.01), optim.SGD(d.parameters(), lr=0.01)
    model = nn.ModuleDict({"g": g, "d": d})

    def gan_step(trainer, batch):
        real = batch[0] if isinstance(batch, (tuple, list)) else batch
        z = lamina.randn(len(real), 2)
        od.zero_grad()
        ones, zeros = lamina.ones(len(real), 1), lamina.zeros(len(real), 1)
        d_loss = (F.binary_cross_entropy_with_logits(d(real), ones)
                  + F.binary_cross_entropy_with_logits(d(g(z).detach()), zeros))
        d_loss.backward()
        od.step()
        og.zero_grad()
        g_loss = F.binary_cross_entropy_with_logits(d(g(z)), ones)
        g_loss.backward()
        og.step()
        return {"d_loss": d_loss, "g_loss": g_loss.item()}

    tr = Trainer(model, None, None, metrics=(), step_fn=gan_step)
    hist = tr.fit(ArrayDataset(X), epochs=3, batch_size=16, verbose=0)
    assert set(hist.history) == {"d_loss", "g_loss"} and len(hist.epoch) == 3
    assert np.isfinite(hist.history["g_loss"]).all()


def test_callback_hook_order_and_stop_training(rs):
    X, y = _blobs(rs, n=64)
    calls = []

    class Rec(Callback):
        def on_train_begin(self, logs=None):
            calls.append("train_begin")

        def on_epoch_begin(self, epoch, logs=None):
            calls.append(f"epoch_begin{epoch}")

        def on_train_batch_end(self, batch, logs=None):
            calls.append(f"batch{batch}:{sorted(logs)}")

        def on_test_begin(self, logs=None):
            calls.append("test_begin")

        def on_test_end(self, logs=None):
            calls.append(f"test_end:{sorted(logs)}")

        def on_epoch_end(self, epoch, logs=None):
            calls.append(f"epoch_end{epoch}")
            if epoch == 1:
                self.trainer.stop_training = True

        def on_train_end(self, logs=None):
            calls.append("train_end")

    rec = Rec()
    tr = _trainer(metrics=("accuracy",))
    tr.fit((X, y), epochs=5, batch_size=32, validation=(X, y), callbacks=[rec], verbose=0)
    assert rec.trainer is tr and rec.model is tr.model and rec.optimizer is tr.optimizer
    assert calls == ["train_begin", "epoch_begin0", "batch0:['loss']", "batch1:['loss']",
                     "test_begin", "test_end:['accuracy', 'loss']", "epoch_end0",
                     "epoch_begin1", "batch0:['loss']", "batch1:['loss']", "test_begin",
                     "test_end:['accuracy', 'loss']", "epoch_end1", "train_end"]
    assert len(tr.history) == 2


def test_stop_inside_an_epoch_and_lambda_callback(rs):
    X, y = _blobs(rs, n=128)
    seen = []
    stop = LambdaCallback(on_train_batch_end=lambda b, logs: (
        seen.append(b), b == 1 and setattr(tr, "stop_training", True)))
    tr = _trainer()
    tr.fit((X, y), epochs=3, batch_size=16, callbacks=[stop], verbose=0)
    assert seen == [0, 1] and len(tr.history) == 1
    with pytest.raises(TypeError, match="on_epoch_ed"):
        LambdaCallback(on_epoch_ed=print)


def test_schedulers_epoch_step_and_plateau(rs):
    X, y = _blobs(rs, n=64)
    tr = _trainer(lr=0.1)
    tr.scheduler = optim.lr_scheduler.StepLR(tr.optimizer, step_size=2, gamma=0.5)
    hist = tr.fit((X, y), epochs=5, batch_size=32, verbose=0)
    assert hist.history["lr"] == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025])
    tr = _trainer(lr=0.1, scheduler_interval="step")
    tr.scheduler = optim.lr_scheduler.ExponentialLR(tr.optimizer, gamma=0.5)
    tr.fit((X, y), epochs=1, batch_size=16, verbose=0)  # 4 steps
    assert tr.optimizer.param_groups[0]["lr"] == pytest.approx(0.1 / 16)
    for monitor in (None, "loss"):
        tr = _trainer(lr=0.05, scheduler_monitor=monitor)
        sched = optim.lr_scheduler.ReduceLROnPlateau(tr.optimizer, patience=0, factor=0.5)
        tr.scheduler = sched
        hist = tr.fit((X, y), epochs=3, batch_size=32, validation=(X, y), verbose=0)
        key = monitor or "val_loss"  # plateau schedules get val_loss by default
        assert sched.last_epoch == 3
        assert sched.best == pytest.approx(min(hist.history[key]), rel=1e-3)


def test_grad_clip_limits_update(rs):
    X, y = _blobs(rs, n=32)
    results = []
    for clip in (None, 1e-3):
        lamina.manual_seed(0)
        model = nn.Linear(5, 3)
        w0 = model.weight.array.copy()
        tr = Trainer(model, optim.SGD(model.parameters(), lr=1.0), F.cross_entropy,
                     grad_clip=clip)
        tr.fit((X, y), epochs=1, batch_size=32, shuffle=False, verbose=0)
        d = np.sqrt(np.sum((model.weight.array - w0) ** 2) + 0.0)
        results.append(d)
    assert results[1] <= 1e-3 + 1e-6 < results[0]


def test_loss_by_name_and_regression_metrics(rs):
    X = rs.standard_normal((128, 4)).astype(np.float32)
    y = (X @ np.array([1.0, -2.0, 0.5, 0.0]) + 0.1).astype(np.float32)[:, None]
    model = nn.Linear(4, 1)
    tr = Trainer(model, optim.Adam(model.parameters(), lr=0.05), "mse_loss",
                 metrics=("r2", "mae", "rmse"))
    hist = tr.fit((X, y), epochs=40, batch_size=32, verbose=0)
    assert hist.history["r2"][-1] > 0.99
    with pytest.raises(ValueError, match="mse_los"):
        Trainer(model, None, "mse_los")


def test_cross_validate_duck_typing(rs):
    X, y = _blobs(rs, n=150)

    def build():
        return _trainer(metrics=("accuracy",))

    res = cross_validate(build, (X, y), k=3, fit_kwargs={"epochs": 4, "batch_size": 16,
                                                       "verbose": 0})
    assert len(res["folds"]) == 3 and res["mean"]["accuracy"] > 0.85
    assert set(res["mean"]) == {"loss", "accuracy"}
