"""The `lamina` command: training outputs, config errors (exit 2, no traceback), evaluate,
predict, summary, datasets, and exact resumption of a run killed with SIGKILL."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import lamina
import lamina.cli.runs  # noqa: F401
from lamina.cli import main

ROOT = Path(__file__).resolve().parents[2]
FAST = ["--set", "model.name=mlp", "--set", "train.epochs=2", "--set", "schedule.name=none"]


def _run(args, cwd, timeout=300):
    env = dict(os.environ, PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "lamina", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def _runs(tmp_path):
    return sorted((tmp_path / "runs").iterdir())


def test_train_writes_a_complete_run_directory(tmp_path, capsys):
    rc = main(["train", *FAST, "--set", f"train.out_dir={tmp_path / 'runs'}", "--quiet"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "test accuracy 0.9" in out and "macro F1" in out and "run written to" in out
    (run,) = _runs(tmp_path)
    for f in ("config.toml", "history.csv", "metrics.json", "model.safetensors", "model.json",
              "curves.png", "confusion.png", "checkpoint.safetensors"):
        assert (run / f).exists(), f
    m = json.loads((run / "metrics.json").read_text())
    assert m["accuracy"] > 0.85
    hist = (run / "history.csv").read_text().strip().splitlines()
    assert len(hist) == 3  # header + 2 epochs
    assert [r.split(",")[0] for r in hist[1:]] == ["1", "2"]  # counted from 1, as the console

    # evaluate and predict use the saved run (weights, architecture, transforms)
    res = lamina.cli.runs.evaluate(run)
    assert abs(res["accuracy"] - m["accuracy"]) < 1e-9
    d = lamina.datasets.load("digits")
    np.save(tmp_path / "x.npy", d.x_test[:5])
    rows = lamina.cli.runs.predict(run, tmp_path / "x.npy", tmp_path / "pred.csv")
    assert len(rows) == 5
    text = (tmp_path / "pred.csv").read_text().splitlines()
    assert text[0].startswith("prediction,prob_") and len(text) == 6


@pytest.mark.parametrize("sets,needle", [
    (["optim.lrr=0.1"], "unknown key optim.lrr (did you mean 'lr'?)"),
    (["train.epochs='ten'"], "train.epochs must be a int"),
    (["data.dataset=nosuch"], "data.dataset"),
    (["optim.name=adamm"], "optim.name 'adamm' is not one of"),
    (["model.name=resnet9000"], "model.name 'resnet9000' is unknown"),
    (["data.csv=x.csv", "data.target=y", "data.task=classifcation"],
     "data.task 'classifcation' is not one of ('classification', 'regression')"),
])
def test_config_errors_exit_2_with_a_clear_message(tmp_path, capsys, sets, needle):
    args = ["train", "--set", f"train.out_dir={tmp_path / 'runs'}"]
    for s in sets:
        args += ["--set", s]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err
    assert not (tmp_path / "runs").exists()  # nothing ran, nothing was written


def test_impossible_layer_shape_names_the_layer(tmp_path, capsys):
    cfg = tmp_path / "bad.toml"
    cfg.write_text("""
[data]
dataset = "digits"
[[model.layers]]
type = "flatten"
[[model.layers]]
type = "linear"
in_features = 100
out_features = 10
""")
    assert main(["summary", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "model.layers[1] (linear)" in err and "(1, 64)" in err


def test_unknown_layer_option_and_missing_file(tmp_path, capsys):
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[data]\ndataset = "iris"\n[[model.layers]]\ntype = "linear"\n'
                   'out_featurs = 3\n')
    assert main(["summary", str(cfg)]) == 2
    assert "has no option 'out_featurs'" in capsys.readouterr().err
    assert main(["train", str(tmp_path / "nope.toml")]) == 2
    assert "not found" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path)]) == 2
    assert "not a finished run directory" in capsys.readouterr().err


def test_summary_and_datasets(capsys):
    rows = lamina.cli.runs.summary(None, ["model.name=mlp"])
    out = capsys.readouterr().out
    assert "Linear" in out and "FLOPs per sample" in out
    assert any(r[1] == "Linear" and r[4] == 2 * 64 * 256 for r in rows)
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    for name in ("digits", "mnist5k", "sunspots", "breast_cancer"):
        assert name in out


def test_example_configs_validate():
    from lamina.cli.config import load_config, validate
    for p in sorted((ROOT / "examples" / "configs").glob("*.toml")):
        validate(load_config(str(p)))


def test_killed_run_resumes_to_identical_weights(tmp_path):
    """SIGKILL in the middle of epoch 3 of 5, resume, compare with an uninterrupted run."""
    sets = ["--set", "model.name=mlp", "--set", "train.epochs=5", "--set", "data.batch_size=8",
            "--set", "model.dropout=0.2", "--set", "data.val_size=0.0", "--quiet"]
    full = _run(["train", *sets, "--set", f"train.out_dir={tmp_path / 'a'}"], tmp_path)
    assert full.returncode == 0, full.stderr
    env = dict(os.environ, PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-m", "lamina", "train", *sets, "--set",
                             f"train.out_dir={tmp_path / 'b'}"], cwd=tmp_path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 240
    run = None
    while time.time() < deadline:
        runs = list((tmp_path / "b").glob("*/history.csv"))
        if runs and len(runs[0].read_text().strip().splitlines()) >= 3:  # 2 epochs finished
            run = runs[0].parent
            break
        time.sleep(0.05)
    assert run is not None, "the run never finished two epochs"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (run / "metrics.json").exists()  # it really died before the end
    res = _run(["train", "--resume", str(run), "--quiet"], tmp_path)
    assert res.returncode == 0, res.stderr
    (a,) = list((tmp_path / "a").iterdir())
    wa = lamina.io.load(a / "model.safetensors")
    wb = lamina.io.load(run / "model.safetensors")
    assert wa.keys() == wb.keys()
    for k in wa:
        np.testing.assert_array_equal(wa[k], wb[k], err_msg=k)
    ha = (a / "history.csv").read_text().splitlines()
    hb = (run / "history.csv").read_text().splitlines()
    assert len(hb) == 6 and ha[-1] == hb[-1]


def test_set_data_csv_on_the_default_config_trains_on_the_csv(tmp_path, capsys):
    """--set data.csv replaces the default digits dataset (and its image CNN by the MLP)."""
    rs = np.random.default_rng(0)
    x = rs.standard_normal((200, 3))
    y = np.where(x[:, 0] + x[:, 1] > 0, "yes", "no")
    rows = "".join(f"{a:.4f},{b:.4f},{c:.4f},{t}\n" for (a, b, c), t in zip(x, y))
    (tmp_path / "t.csv").write_text("a,b,c,label\n" + rows)
    from lamina.cli.config import apply_overrides, load_config, validate
    cfg = validate(apply_overrides(load_config(None), [f"data.csv={tmp_path / 't.csv'}",
                                                        "data.target=label"]))
    assert "dataset" not in cfg["data"] and cfg["model"] == {"name": "mlp"}
    args = ["train", "--quiet", "--set", f"data.csv={tmp_path / 't.csv'}", "--set",
            "data.target=label", "--set", "train.epochs=15", "--set",
            f"train.out_dir={tmp_path / 'runs'}"]
    assert main(args) == 0
    (run,) = (tmp_path / "runs").iterdir()
    m = json.loads((run / "metrics.json").read_text())
    assert m["accuracy"] > 0.85
    assert json.loads((run / "model.json").read_text())["class_names"] == ["no", "yes"]
