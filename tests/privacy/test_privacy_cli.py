"""`lamina train` with a [privacy] section: DP-SGD really runs (wrapped optimizer, Poisson
batches, per-example clipping), epsilon is reported, and `--resume` keeps the budget."""

import csv
import json

import numpy as np
import pytest

from lamina import io
from lamina.cli import main
from lamina.cli.commands import train
from lamina.privacy import DPOptimizer, PoissonSampler, PRVAccountant, dp_step
from lamina.train.callbacks.base import Callback

CONFIG = """
name = "tiny-dp"
[data]
csv = "{csv}"
target = "label"
batch_size = 30
val_size = 0.0
[model]
name = "mlp"
hidden = [8]
[optim]
name = "sgd"
lr = 0.3
[schedule]
name = "none"
[train]
epochs = {epochs}
seed = 0
out_dir = "{out}"
[privacy]
{privacy}
"""


def _config(tmp_path, privacy, epochs=3, name="c"):
    data = tmp_path / "t.csv"
    if not data.exists():  # 300 rows, 4 features, a linear label
        rs = np.random.default_rng(0)
        x = rs.standard_normal((300, 4))
        y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(int)
        rows = [",".join(f"{v:.4f}" for v in r) + f",{t}" for r, t in zip(x, y)]
        data.write_text("a,b,c,d,label\n" + "\n".join(rows) + "\n")
    cfg = tmp_path / f"{name}.toml"
    cfg.write_text(CONFIG.format(csv=data, epochs=epochs, out=tmp_path / name, privacy=privacy))
    return cfg


@pytest.fixture(autouse=True)
def _no_figures(monkeypatch):
    # curves.png and confusion.png cost seconds each on the shared machine and say nothing
    # about privacy; their own tests live in tests/cli
    import lamina.cli.plots as plots
    monkeypatch.setattr(plots, "plot_curves", lambda *a, **k: None)
    monkeypatch.setattr(plots, "plot_confusion", lambda *a, **k: None)


class _Spy(Callback):
    """Keeps what the run trains with, and the weights it starts from."""

    def on_train_begin(self, logs=None):
        t = self.trainer
        self.opt, self.step_fn, self.sampler = t.optimizer, t.step_fn, t.train_loader.batch_sampler
        self.start = {k: p.numpy().copy() for k, p in t.model.named_parameters()}


class _Kill(Callback):
    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 2:  # Ctrl-C as the third epoch starts: the checkpoint holds two
            raise KeyboardInterrupt


def _history(run):
    with open(run / "history.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_privacy_section_trains_with_dp_sgd_and_reports_epsilon(tmp_path):
    spy = _Spy()
    run = train(_config(tmp_path, 'noise_multiplier = 1.0\naccountant = "prv"'), verbose=0,
                extra_callbacks=[spy])
    assert isinstance(spy.opt, DPOptimizer) and spy.step_fn is dp_step
    assert isinstance(spy.sampler, PoissonSampler)
    priv = json.loads((run / "privacy.json").read_text())
    q = priv["sample_rate"]
    assert priv["accountant"] == "prv" and priv["steps"] == 3 * round(1 / q)
    acc = PRVAccountant()  # the budget recomputed from the run's own numbers
    acc.history = [(1.0, q, priv["steps"])]
    assert priv["epsilon"] == pytest.approx(acc.get_epsilon(1e-5), rel=1e-12)
    eps = [float(r["epsilon"]) for r in _history(run)]
    assert len(eps) == 3 and eps[0] < eps[1] < eps[2] == pytest.approx(priv["epsilon"])
    assert "prv accountant" in (run / "MODEL_CARD.md").read_text()

    # per-example clipping at a tiny norm, no noise: each step moves a weight by at most
    # lr * C * (batch / expected batch), so 24 steps leave the weights almost where they began
    spy = _Spy()
    run = train(_config(tmp_path, "noise_multiplier = 0.0\nmax_grad_norm = 1e-6", name="clip"),
                verbose=0, extra_callbacks=[spy])
    w = io.load(run / "model.safetensors")
    moved = max(float(np.abs(w[k] - spy.start[k]).max()) for k in spy.start)
    assert 0 < moved <= 0.3 * 1e-6 * 24 * 3


def test_resumed_dp_run_reports_the_uninterrupted_epsilon(tmp_path):
    privacy = "epsilon = 4.0\ndelta = 1e-5"
    ref = train(_config(tmp_path, privacy, epochs=4, name="ref"), verbose=0)
    with pytest.raises(KeyboardInterrupt, match="interrupted after epoch 2"):
        train(_config(tmp_path, privacy, epochs=4, name="cut"), verbose=0,
              extra_callbacks=[_Kill()])
    cut = next((tmp_path / "cut").iterdir())
    out = train(resume=str(cut), verbose=0)
    a, b = (json.loads((r / "privacy.json").read_text()) for r in (ref, out))
    assert a == b and 3.9 < a["epsilon"] <= 4.0  # same sigma, steps and epsilon
    assert _history(ref) == _history(out)  # loss, accuracy and epsilon of every epoch
    wa, wb = io.load(ref / "model.safetensors"), io.load(out / "model.safetensors")
    assert all(np.array_equal(wa[k], wb[k]) for k in wa)
    assert main(["train", "--resume", str(cut), "--set", "train.epochs=6", "--quiet"]) == 2


@pytest.mark.parametrize("privacy,extra,args,message", [
    ('noise_multiplier = 1.0\naccountant = "gdp"', "", [], "privacy.accountant 'gdp'"),
    ("noise_multiplier = 1.0", '[adversarial]\nmethod = "pgd"', [], "cannot be combined"),
    ("noise_multiplier = 1.0", "", ["--nproc", "2"], "runs in one process"),
    ("noise_multiplier = 1.0", '[fairness]\nsensitive = "a"\nmitigation = "reweighing"', [],
     "cannot be combined"),  # the fair step would replace DP-SGD's (refused in fair_train)
])
def test_privacy_config_errors(tmp_path, capsys, privacy, extra, args, message):
    cfg = _config(tmp_path, privacy)
    cfg.write_text(cfg.read_text() + extra + "\n")
    assert main(["train", str(cfg), "--quiet", *args]) == 2
    assert message in capsys.readouterr().err
