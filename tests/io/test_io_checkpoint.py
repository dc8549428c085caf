"""Checkpoints restore everything: N epochs + reload + M epochs == N + M epochs, bit for bit."""

import numpy as np
import pytest
from sklearn.datasets import load_digits

import lamina
from lamina import functional as F
from lamina import io, optim
from lamina.data import ArrayDataset, DataLoader
from lamina.models import MLP
from lamina.train import Callback, EarlyStopping, ModelCheckpoint, Trainer


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X[:320] / 16).astype(np.float32), y[:320]


def _objects(X, y, seed):
    lamina.manual_seed(seed)
    model = MLP(64, (48, 32), 10, dropout=0.3, batch_norm=True)
    opt = optim.Adam(model.parameters(), lr=3e-3, weight_decay=1e-4)
    sched = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.7)
    loader = DataLoader(ArrayDataset(X, y), batch_size=32, shuffle=True)
    return model, opt, sched, loader


def _epoch(model, opt, sched, loader):
    model.train()
    for xb, yb in loader:
        opt.zero_grad()
        F.cross_entropy(model(xb), yb).backward()
        opt.step()
    sched.step()


def test_resume_is_bit_identical_with_io_functions(tmp_path, digits):
    X, y = digits
    n, m = 3, 2
    ref = _objects(X, y, seed=0)
    for _ in range(n + m):
        _epoch(*ref)

    run = _objects(X, y, seed=0)
    for _ in range(n):
        _epoch(*run)
    path = tmp_path / "ckpt.safetensors"
    io.save_checkpoint(path, *run[:3], epoch=n, loader=run[3], history={"loss": [1.0, 0.5, 0.2]},
                       extra={"note": "hi"})
    fresh = _objects(X, y, seed=123)  # different init, loader seed and global RNG
    info = io.load_checkpoint(path, *fresh[:3], loader=fresh[3])
    assert info["epoch"] == n and info["extra"] == {"note": "hi"}
    assert info["history"] == {"loss": [1.0, 0.5, 0.2]}
    for _ in range(m):
        _epoch(*fresh)
    a, b = ref[0].state_dict(), fresh[0].state_dict()
    assert any("running_mean" in k for k in a)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    assert ref[1].param_groups[0]["lr"] == fresh[1].param_groups[0]["lr"]


class _Kill(Callback):
    def __init__(self, at):
        self.at = at

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.at:
            raise KeyboardInterrupt("killed")


def _trainer(seed):
    lamina.manual_seed(seed)
    model = MLP(64, (48, 32), 10, dropout=0.3, batch_norm=True)
    opt = optim.Adam(model.parameters(), lr=3e-3)
    sched = optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0, factor=0.5)
    return Trainer(model, opt, F.cross_entropy, metrics=("accuracy",), scheduler=sched)


def test_trainer_resumes_a_killed_run_exactly(tmp_path, digits):
    X, y = digits
    data, val = (X[:256], y[:256]), (X[256:], y[256:])
    kw = dict(epochs=5, batch_size=32, validation=val, verbose=0)

    ref = _trainer(0)
    es_ref = EarlyStopping(patience=10)
    ref.fit(data, callbacks=[es_ref], **kw)

    path = tmp_path / "run.safetensors"
    first = _trainer(0)
    with pytest.raises(KeyboardInterrupt):
        first.fit(data, callbacks=[EarlyStopping(patience=10), _Kill(3)], checkpoint=path,
                  resume=True, **kw)
    second = _trainer(99)
    es = EarlyStopping(patience=10)
    hist = second.fit(data, callbacks=[es], checkpoint=path, resume=True, **kw)
    assert hist.epoch == list(range(5))
    assert hist.history == ref.history.history
    for k, v in ref.model.state_dict().items():
        np.testing.assert_array_equal(v, second.model.state_dict()[k], err_msg=k)
    assert (es.best, es.best_epoch, es.wait) == (es_ref.best, es_ref.best_epoch, es_ref.wait)
    assert second.global_step == ref.global_step == 5 * 8
    assert io.load_checkpoint(path)["epoch"] == 5


def test_model_checkpoint_save_full_then_resume(tmp_path, digits):
    X, y = digits
    data = (X[:256], y[:256])
    ref = _trainer(0)
    ref.fit(data, epochs=4, batch_size=32, verbose=0)
    first = _trainer(0)
    ck = ModelCheckpoint(tmp_path / "e{epoch}.safetensors", save_full=True)
    first.fit(data, epochs=2, batch_size=32, verbose=0, callbacks=[ck])
    second = _trainer(7)
    second.fit(data, epochs=4, batch_size=32, verbose=0, resume=tmp_path / "e2.safetensors")
    assert len(second.history) == 4
    for k, v in ref.model.state_dict().items():
        np.testing.assert_array_equal(v, second.model.state_dict()[k], err_msg=k)
    # explicit load_checkpoint before fit works too
    third = _trainer(8)
    assert third.load_checkpoint(tmp_path / "e2.safetensors") == 2
    third.fit(data, epochs=4, batch_size=32, verbose=0)
    for k, v in ref.model.state_dict().items():
        np.testing.assert_array_equal(v, third.model.state_dict()[k], err_msg=k)


def test_load_checkpoint_errors(tmp_path, digits):
    model, opt, sched, loader = _objects(*digits, seed=0)
    lamina.save(model.state_dict(), tmp_path / "w.safetensors")
    with pytest.raises(ValueError, match="expected a checkpoint"):
        io.load_checkpoint(tmp_path / "w.safetensors", model)
    io.save_checkpoint(tmp_path / "c.safetensors", model, epoch=1)
    with pytest.raises(ValueError, match="no optimizer state"):
        io.load_checkpoint(tmp_path / "c.safetensors", model, opt)
    assert io.load_checkpoint(tmp_path / "c.safetensors", model)["epoch"] == 1
