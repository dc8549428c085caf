"""Callbacks: early stopping, checkpoints, schedules, progress, CSV, TensorBoard, gradients."""

import csv
import io as pyio
import math
import sys
import warnings

import numpy as np
import pytest

import lamina
from lamina import functional as F
from lamina import nn, optim
from lamina.train import (CSVLogger, EarlyStopping, GradientMonitor, GradientWarning,
                          LRSchedulerCallback, ModelCheckpoint, ProgressBar, TensorBoard,
                          TerminateOnNaN, Trainer)


@pytest.fixture
def data(rs):
    X = rs.standard_normal((96, 6)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    return X, y


def _trainer(lr=0.05, metrics=("accuracy",), hidden=8):
    model = nn.Sequential(nn.Linear(6, hidden), nn.Tanh(), nn.Linear(hidden, 2))
    return Trainer(model, optim.SGD(model.parameters(), lr=lr), F.cross_entropy,
                   metrics=metrics)


@pytest.mark.parametrize("patience", [1, 2, 3])
def test_early_stopping_runs_patience_plus_one_epochs(data, patience):
    X, y = data
    tr = _trainer(lr=0.0)  # cannot improve: every epoch has the same val_loss
    es = EarlyStopping(patience=patience)
    hist = tr.fit((X, y), epochs=50, batch_size=32, validation=(X, y), callbacks=[es],
                  verbose=0)
    assert len(hist.epoch) == patience + 1
    assert es.stopped_epoch == patience and es.best_epoch == 0 and tr.stop_training


def test_early_stopping_modes_baseline_and_restore(data):
    X, y = data
    assert EarlyStopping(monitor="val_accuracy").mode == "max"
    assert EarlyStopping(monitor="val_loss").mode == "min"
    assert EarlyStopping(monitor="val_f1_macro").mode == "max"
    with pytest.raises(ValueError, match="mode"):
        EarlyStopping(mode="up")
    # baseline never beaten: the wait counter is never reset -> stops after `patience` epochs
    tr = _trainer(lr=0.0)
    hist = tr.fit((X, y), epochs=20, batch_size=32, validation=(X, y), verbose=0,
                  callbacks=[EarlyStopping(patience=3, baseline=-1.0)])
    assert len(hist.epoch) == 3
    # start_from_epoch delays monitoring
    tr = _trainer(lr=0.0)
    hist = tr.fit((X, y), epochs=20, batch_size=32, validation=(X, y), verbose=0,
                  callbacks=[EarlyStopping(patience=1, start_from_epoch=4)])
    assert len(hist.epoch) == 6
    # restore_best_weights: a learning rate that diverges after a good start
    lamina.manual_seed(3)
    tr = _trainer(lr=0.5)
    es = EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    snaps = {}

    class Snap(EarlyStopping):
        def on_epoch_end(self, epoch, logs=None):
            snaps[epoch] = {k: v.copy() for k, v in self.model.state_dict().items()}

    tr.fit((X, y), epochs=8, batch_size=8, validation=(X, y), callbacks=[es, Snap()],
           verbose=0)
    best = snaps[es.best_epoch]
    for k, v in tr.model.state_dict().items():
        np.testing.assert_array_equal(v, best[k])


def test_early_stopping_warns_on_missing_monitor(data):
    X, y = data
    with pytest.warns(UserWarning, match="val_loss.*not in the logs"):
        _trainer().fit((X, y), epochs=1, batch_size=32, callbacks=[EarlyStopping()],
                       verbose=0)


def test_model_checkpoint_best_only_and_format(tmp_path, data):
    X, y = data
    tr = _trainer(lr=0.1)
    path = str(tmp_path / "m-{epoch:02d}-{val_loss:.3f}.safetensors")
    ck = ModelCheckpoint(path, monitor="val_loss", save_best_only=True)
    hist = tr.fit((X, y), epochs=4, batch_size=32, validation=(X, y), callbacks=[ck],
                  verbose=0)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files and all(f.startswith("m-") and f.endswith(".safetensors") for f in files)
    assert ck.best == pytest.approx(min(hist.history["val_loss"]))
    sd = lamina.load(ck.last_path)
    assert set(sd) == set(tr.model.state_dict())
    assert not any(f.endswith(".tmp") for f in files)
    # every epoch, fixed name -> overwritten atomically
    ck = ModelCheckpoint(tmp_path / "sub" / "last.safetensors", save_best_only=False)
    tr.fit((X, y), epochs=2, batch_size=32, callbacks=[ck], verbose=0)
    np.testing.assert_array_equal(lamina.load(ck.last_path)["0.weight"],
                                  tr.model.state_dict()["0.weight"])


def test_lr_scheduler_callback(data):
    X, y = data
    tr = _trainer(lr=0.1)
    sched = optim.lr_scheduler.StepLR(tr.optimizer, step_size=1, gamma=0.1)
    hist = tr.fit((X, y), epochs=3, batch_size=32, callbacks=[LRSchedulerCallback(sched)],
                  verbose=0)
    assert hist.history["lr"] == pytest.approx([0.1, 0.01, 0.001])
    tr = _trainer(lr=0.1)
    plateau = optim.lr_scheduler.ReduceLROnPlateau(tr.optimizer, patience=0, factor=0.5,
                                                   mode="max")
    tr.optimizer.param_groups[0]["lr"] = 0.1
    cb = LRSchedulerCallback(plateau, monitor="val_accuracy")
    tr.fit((X, y), epochs=3, batch_size=32, validation=(X, y), callbacks=[cb], verbose=0)
    assert plateau.last_epoch == 3 and plateau.mode == "max"
    with pytest.raises(KeyError, match="val_accuracy"):
        _trainer().fit((X, y), epochs=1, batch_size=32, verbose=0,
                       callbacks=[LRSchedulerCallback(plateau, monitor="val_accuracy")])


def test_progress_bar_plain_lines_when_not_a_tty(data, capsys):
    X, y = data
    _trainer().fit((X, y), epochs=3, batch_size=32, validation=(X, y), verbose=1)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("Epoch 1/3 - ") and "loss=" in lines[0]
    assert all(len(ln) <= 80 for ln in lines), lines          # fits a terminal
    assert "val_acc=" in lines[2] and "lr=0.05" in lines[2]
    _trainer().fit((X, y), epochs=2, batch_size=32, verbose=0)
    assert capsys.readouterr().out == ""


def test_progress_bar_live_on_a_tty(data):
    X, y = data

    class TTY(pyio.StringIO):
        def isatty(self):
            return True

    out = TTY()
    bar = ProgressBar(stream=out)
    _trainer().fit((X, y), epochs=2, batch_size=16, callbacks=[bar], verbose=1)
    text = out.getvalue()
    assert bar._live and "Epoch 2/2" in text and "loss: " in text


def test_csv_logger_and_append(tmp_path, data):
    X, y = data
    path = tmp_path / "log.csv"
    tr = _trainer()
    tr.fit((X, y), epochs=2, batch_size=32, validation=(X, y), callbacks=[CSVLogger(path)],
           verbose=0)
    tr.fit((X, y), epochs=4, initial_epoch=2, batch_size=32, validation=(X, y),
           callbacks=[CSVLogger(path, append=True)], verbose=0)
    rows = list(csv.DictReader(open(path)))
    assert [r["epoch"] for r in rows] == ["0", "1", "2", "3"]
    assert set(rows[0]) == {"epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr"}
    assert float(rows[3]["val_loss"]) == pytest.approx(tr.history["val_loss"][-1])
    assert len(tr.history) == 4  # initial_epoch > 0 continues the history


def test_tensorboard_writes_events(tmp_path, data):
    pytest.importorskip("tensorboardX")
    X, y = data
    tb = TensorBoard(tmp_path / "tb")
    logged = []
    real_scalar = None

    def spy(tag, value, step):
        logged.append((tag, step))
        real_scalar(tag, value, step)

    tr = _trainer()
    tb.on_train_begin()
    real_scalar, tb.writer.add_scalar = tb.writer.add_scalar, spy
    hist_tags = []
    real_hist = tb.writer.add_histogram
    tb.writer.add_histogram = lambda tag, v, step: (hist_tags.append(tag),
                                                    real_hist(tag, v, step))
    tr.fit((X, y), epochs=2, batch_size=32, validation=(X, y), callbacks=[tb], verbose=0)
    assert ("val_loss", 2) in logged and ("lr", 1) in logged and ("accuracy", 2) in logged
    assert "weights/0.weight" in hist_tags and "gradients/2.bias" in hist_tags
    files = list((tmp_path / "tb").iterdir())
    assert files and files[0].name.startswith("events.out.tfevents")
    assert files[0].stat().st_size > 0


def test_tensorboard_missing_dependency_message(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    with pytest.raises(ImportError, match="pip install tensorboardX"):
        TensorBoard("runs")


def test_gradient_monitor_records_and_warns(data):
    X, y = data
    tr = _trainer(lr=0.05)
    mon = GradientMonitor(every=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", GradientWarning)
        tr.fit((X, y), epochs=3, batch_size=32, callbacks=[mon], verbose=0)
    assert mon.layers == ["0", "2"] and mon.epochs == [0, 1, 2]
    assert all(len(v) == 3 and all(x > 0 for x in v) for v in mon.norms.values())
    # exploding: huge inputs give huge weight gradients
    model = nn.Sequential(nn.Linear(6, 2))
    tr = Trainer(model, optim.SGD(model.parameters(), lr=1e-12), F.cross_entropy)
    with pytest.warns(GradientWarning, match="exploding gradients in layer '0'"):
        tr.fit((X * 1e5, y), epochs=1, batch_size=32, callbacks=[GradientMonitor()],
               verbose=0)
    # vanishing relative to the largest layer
    lamina.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.Sigmoid(), nn.Linear(8, 8), nn.Sigmoid(),
                          nn.Linear(8, 2))
    model[2].weight.array *= 1e-4
    tr = Trainer(model, optim.SGD(model.parameters(), lr=0.0), F.cross_entropy)
    mon = GradientMonitor(vanish_ratio=1e-2, every=2)
    with pytest.warns(GradientWarning, match="vanishing gradients in layer '0'"):
        tr.fit((X, y), epochs=3, batch_size=32, callbacks=[mon], verbose=0)
    assert mon.epochs == [0, 2] and mon.ratio() < 1e-2


def test_terminate_on_nan(data):
    X, y = data
    tr = _trainer()
    calls = {"n": 0}

    def loss_fn(out, t):
        calls["n"] += 1
        loss = F.cross_entropy(out, t)
        return loss * math.nan if calls["n"] == 2 else loss

    tr.loss_fn = loss_fn
    cb = TerminateOnNaN()
    hist = tr.fit((X, y), epochs=5, batch_size=16, callbacks=[cb], verbose=0)
    assert cb.terminated_at == (0, 1) and len(hist.epoch) == 1 and calls["n"] == 2
