"""`lamina calibrate RUN_DIR`: temperature scaling on a run's validation split."""

import json

import numpy as np
import pytest

from lamina.cli import main
from lamina.uncertainty import load_calibrator


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("cal")
    assert main(["train", "--quiet", "--set", "train.epochs=3", "--set", "model.name=mlp",
                 "--set", f'train.out_dir="{root / "runs"}"']) == 0
    (run,) = (root / "runs").iterdir()
    return root, run


def test_calibrate_writes_report_diagrams_and_calibrator(digits_run, capsys):
    root, run = digits_run
    assert main(["calibrate", str(run), "-o", str(root / "fig")]) == 0
    out = capsys.readouterr().out
    assert "test ECE" in out and "temperature" in out
    rep = json.loads((root / "fig" / "calibration_report.json").read_text())
    assert rep["after"]["accuracy"] == pytest.approx(rep["before"]["accuracy"])
    assert rep["after"]["nll"] <= rep["before"]["nll"] + 1e-3
    assert rep["n_val"] > 0 and rep["temperature"] > 0
    for f in ("reliability_before.png", "reliability_after.png"):
        assert (root / "fig" / f).stat().st_size > 1000
    cal = load_calibrator(run / "calibration.json")
    assert cal.temperature == pytest.approx(rep["temperature"])
    assert np.allclose(cal.transform(np.zeros((1, 10))), 0.1)


def test_calibrate_errors_are_one_line(tmp_path, capsys):
    assert main(["calibrate", str(tmp_path)]) == 2
    assert "not a finished run directory" in capsys.readouterr().err


def test_evaluate_calibrate_is_the_same_command_and_evaluate_reports_ece(digits_run, capsys):
    root, run = digits_run
    assert main(["evaluate", str(run), "--calibrate"]) == 0
    out = capsys.readouterr().out
    assert "test ECE" in out and (run / "reliability_after.png").exists()
    assert main(["evaluate", str(run), "--calibrate", "--data", "x.csv"]) == 2
    capsys.readouterr()
    assert main(["evaluate", str(run)]) == 0
    assert "calibration: ECE" in capsys.readouterr().out
    m = json.loads((run / "metrics.json").read_text())
    assert 0 <= m["ece"] <= 1 and m["nll"] > 0 and 0 <= m["brier"] <= 2
