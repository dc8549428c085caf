"""Learning outcomes of MLPs on real data (seeds Q8-Q12, Q20): figures in docs/training.md."""

import importlib.util
import pathlib
import warnings

import numpy as np
import pytest

import lamina
from lamina import datasets, optim
from lamina import functional as F
from lamina import metrics as M
from lamina.data import KFold
from lamina.models import MLP
from lamina.train import GradientMonitor, GradientWarning, Trainer


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    # tiny GEMMs: one BLAS thread is faster and keeps timings stable on a busy machine
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with threadpoolctl.threadpool_limits(1):
        yield


@pytest.fixture(scope="module")
def digits():
    return datasets.load("digits", flatten=True)  # stratified 80/20, pixels / 16


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mlp_digits_accuracy(digits, seed):
    lamina.manual_seed(seed)
    model = MLP(64, (256, 128), 10, dropout=0.3)
    opt = optim.Adam(model.parameters(), lr=1e-3)
    trainer = Trainer(model, opt, lambda out, y: F.cross_entropy(out, y, label_smoothing=0.1),
                      scheduler=optim.lr_scheduler.CosineAnnealingLR(opt, T_max=60))
    trainer.fit((digits.x_train, digits.y_train), epochs=60, batch_size=32, verbose=0)
    acc = trainer.evaluate((digits.x_test, digits.y_test))["accuracy"]
    print(f"digits MLP seed {seed}: test accuracy {acc:.4f}")
    assert acc >= 0.975, f"seed {seed}: test accuracy {acc:.4f}"


def test_mlp_diabetes_regression_matches_linear_regression():
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import LinearRegression

    X, y = load_diabetes(return_X_y=True)
    ours, ref = [], []
    for k, (tr, te) in enumerate(KFold(5, shuffle=True, seed=0).split(X)):
        mu, sd, ym, ys = X[tr].mean(0), X[tr].std(0), y[tr].mean(), y[tr].std()

        def scale(a):
            return ((a - mu) / sd).astype(np.float32)

        ref.append(M.r2(y[te], LinearRegression().fit(X[tr], y[tr]).predict(X[te])))
        lamina.manual_seed(k)
        model = MLP(10, (16,), 1)
        trainer = Trainer(model, optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01),
                          F.mse_loss, metrics=("r2",))
        yt = ((y[tr] - ym) / ys).astype(np.float32)[:, None]
        trainer.fit((scale(X[tr]), yt), epochs=60, batch_size=32, verbose=0)
        pred = trainer.predict(scale(X[te]))[:, 0] * ys + ym
        ours.append((M.r2(y[te], pred), M.mse(y[te], pred), M.mae(y[te], pred)))
    r2, mse, mae = np.mean(ours, axis=0)
    print(f"diabetes 5-fold: MLP R2 {r2:.3f} MSE {mse:.0f} MAE {mae:.1f}; "
          f"LinearRegression R2 {np.mean(ref):.3f}")
    assert 0.40 < np.mean(ref) < 0.55
    assert abs(r2 - np.mean(ref)) <= 0.03


def test_vanishing_gradients_sigmoid_vs_relu_he(digits):
    data = (digits.x_train, digits.y_train)
    lamina.manual_seed(0)
    deep_sigmoid = MLP(64, (64,) * 19, 10, activation="sigmoid")  # 20 Linear layers
    mon = GradientMonitor(vanish_ratio=1e-2)
    trainer = Trainer(deep_sigmoid, optim.Adam(deep_sigmoid.parameters(), 1e-3),
                      F.cross_entropy)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", GradientWarning)
        trainer.fit(data, epochs=2, batch_size=64, callbacks=[mon], verbose=0)
    assert any("vanishing gradients in layer '0'" in str(w.message) for w in caught)
    assert len(mon.layers) == 20 and mon.layers[0] == "0" and mon.layers[-1] == "38"
    first, last = mon.norms["0"][-1], mon.norms["38"][-1]
    print(f"sigmoid x20: first-layer grad norm {first:.2e}, last {last:.2e}")
    assert first * 100 <= last

    lamina.manual_seed(0)
    deep_relu = MLP(64, (64,) * 19, 10, activation="relu", init="kaiming_normal")
    opt = optim.Adam(deep_relu.parameters(), 1e-3)
    mon = GradientMonitor(vanish_ratio=1e-2)
    trainer = Trainer(deep_relu, opt, F.cross_entropy,
                      scheduler=optim.lr_scheduler.CosineAnnealingLR(opt, T_max=25))
    with warnings.catch_warnings():
        warnings.simplefilter("error", GradientWarning)  # no layer vanishes
        trainer.fit(data, epochs=25, batch_size=64, callbacks=[mon], verbose=0)
    acc = trainer.evaluate((digits.x_test, digits.y_test))["accuracy"]
    print(f"relu+He x20: first/last grad norm ratio {mon.ratio(epoch=0):.2f}, accuracy {acc:.4f}")
    assert mon.ratio(epoch=0) > 0.1
    assert acc >= 0.90


def _example(name):
    """Import ``examples/<name>.py`` as a module (the test checks the example's own code)."""
    path = pathlib.Path(__file__).resolve().parents[2] / "examples" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"examples_{name}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_dropout_and_l2_shrink_the_generalization_gap():
    ex = _example("regularization_gap")
    # 20% of the 200 training labels are wrong: an unregularized over-parameterized MLP
    # memorizes them (train accuracy ~1) and generalizes worse
    xtr, _, noisy, xva, yva = ex.load_split()
    res = {}
    for name, kw in (("none", {}), ("dropout", {"dropout": 0.5}), ("l2", {"l2": 1e-2})):
        tr, va = np.mean([ex.fit(xtr, noisy, xva, yva, s, **kw) for s in range(3)], axis=0)
        res[name] = (tr - va, va)
    print({k: f"gap {g:.3f}, val acc {v:.3f}" for k, (g, v) in res.items()})
    for name in ("dropout", "l2"):
        assert res[name][0] <= res["none"][0] - 0.05, name
        assert res[name][1] >= res["none"][1] + 0.01, name
