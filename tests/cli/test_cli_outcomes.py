"""Learning outcomes of the `lamina train` front door: the default run and the example configs."""

import json
from pathlib import Path

import numpy as np
import pytest

from lamina.cli import main

ROOT = Path(__file__).resolve().parents[2]


def _train(tmp_path, *args):
    assert main(["train", *args, "--set", f"train.out_dir={tmp_path / 'runs'}", "--quiet"]) == 0
    (run,) = list((tmp_path / "runs").iterdir())
    return json.loads((run / "metrics.json").read_text())


def test_default_run_reaches_98_percent_on_digits(tmp_path, capsys):
    m = _train(tmp_path)
    assert m["accuracy"] >= 0.98, m["accuracy"]
    assert "test accuracy 0.9" in capsys.readouterr().out


def test_breast_cancer_config_reaches_96_percent(tmp_path):
    m = _train(tmp_path, str(ROOT / "examples/configs/breast_cancer.toml"))
    assert m["accuracy"] >= 0.96, m["accuracy"]
    assert m["roc_auc"] >= 0.98


def test_diabetes_config_matches_linear_regression(tmp_path):
    from sklearn.linear_model import LinearRegression

    import lamina
    m = _train(tmp_path, str(ROOT / "examples/configs/diabetes_regression.toml"))
    d = lamina.datasets.load("diabetes")  # the same split the config uses (seed 0)
    lr = LinearRegression().fit(d.x_train, d.y_train)
    pred = lr.predict(d.x_test)
    y = np.asarray(d.y_test, dtype=np.float64)
    r2_lr = 1 - ((y - pred) ** 2).sum() / ((y - y.mean()) ** 2).sum()
    assert m["r2"] >= r2_lr - 0.03, (m["r2"], r2_lr)
    assert m["mse"] > 0 and m["mae"] > 0


@pytest.mark.slow
def test_mnist5k_lenet5_config(tmp_path):
    m = _train(tmp_path, str(ROOT / "examples/configs/mnist5k_lenet5.toml"))
    assert m["accuracy"] >= 0.975
