"""Every user mistake is one line on stderr, exit 2, and leaves nothing half-written."""

import os
import signal
import subprocess
import sys
import time

import pytest

from lamina.cli import main

sk = pytest.importorskip("sklearn.datasets")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("err")
    assert main(["train", "--quiet", "--set", "train.epochs=1", "--set", "model.name=mlp",
                 "--set", "model.hidden=[16]", "--set", f'train.out_dir="{root / "runs"}"']) == 0
    (r,) = (root / "runs").iterdir()
    return r


def _err(capsys, argv, *words):
    rc = main(argv)
    err = capsys.readouterr().err.strip()
    assert rc == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for w in words:
        assert w in err, err
    return err


def _snapshot(r):
    return {f: (r / f).read_bytes() for f in os.listdir(r) if (r / f).is_file()}


@pytest.mark.parametrize("argv", [["train", "--set", "model.name=lenet5"],
                                  ["summary", "--set", "model.name=lenet5"]])
def test_model_that_cannot_take_the_data(capsys, argv):
    _err(capsys, argv, "lenet5", "(1, 8, 8)")


def _bad_predict(tmp_path, run, capsys, text, *words):
    p = tmp_path / "in.csv"
    p.write_text(text)
    out = tmp_path / "out.csv"
    _err(capsys, ["predict", str(run), str(p), "-o", str(out)], *words)
    assert not out.exists()


def test_predict_bad_csvs(tmp_path, run, capsys):
    row = ",".join(["1"] * 64)
    _bad_predict(tmp_path, run, capsys, row + "\n" + row.replace("1", "nan", 1) + "\n", "line 2")
    _bad_predict(tmp_path, run, capsys, row + "\n" + row.replace("1", "abc", 1) + "\n", "'abc'")
    _bad_predict(tmp_path, run, capsys, row + "\n1,2\n", "line 2")
    _bad_predict(tmp_path, run, capsys, "", "no")
    _bad_predict(tmp_path, run, capsys, "1,2,3\n", "64 values")


def test_damaged_run_files(tmp_path, run, capsys):
    import shutil
    bad = tmp_path / "bad"
    shutil.copytree(run, bad)
    inp = tmp_path / "x.csv"
    inp.write_text(",".join(["1"] * 64) + "\n")
    w = (bad / "model.safetensors").read_bytes()
    (bad / "model.safetensors").write_bytes(w[: len(w) // 2])
    _err(capsys, ["predict", str(bad), str(inp)], "model.safetensors")
    (bad / "model.safetensors").write_bytes(b"\x00" * 100)
    _err(capsys, ["predict", str(bad), str(inp)], "model.safetensors")
    (bad / "model.safetensors").write_bytes(w)
    (bad / "model.json").write_text("{not json")
    _err(capsys, ["predict", str(bad), str(inp)], "model.json")
    (bad / "model.json").write_bytes((run / "model.json").read_bytes())
    import lamina
    lamina.save({"fc.weight": lamina.zeros(3, 3)}, bad / "model.safetensors")
    _err(capsys, ["predict", str(bad), str(inp)], "does not fit")
    (bad / "checkpoint.safetensors").write_bytes(b"garbage")
    before = _snapshot(bad)
    _err(capsys, ["train", "--resume", str(bad), "--quiet"], "checkpoint.safetensors")
    assert _snapshot(bad) == before


def test_resume_refusals_leave_run_untouched(tmp_path, run, capsys):
    import shutil
    nock = tmp_path / "nock"
    shutil.copytree(run, nock)
    os.remove(nock / "checkpoint.safetensors")
    before = _snapshot(nock)
    _err(capsys, ["train", "--resume", str(nock)], "no checkpoint")
    assert _snapshot(nock) == before
    before = _snapshot(run)
    _err(capsys, ["train", "--resume", str(run), "--set", "optim.lr=0.1"], "train.epochs")
    _err(capsys, ["train", "x.toml", "--resume", str(run)], "CONFIG")
    _err(capsys, ["train", "--resume", str(run), "--set", "train.epochs=3"], "onecycle")
    assert _snapshot(run) == before


def test_training_csv_errors(tmp_path, capsys):
    csvp = tmp_path / "t.csv"
    csvp.write_text("a,b,y\n1,2,0\n,3,1\n4,5,0\n6,7,1\n8,9,0\n1,1,1\n")
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[data]\ncsv = "{csvp}"\ntarget = "y"\nval_size = 0.0\n[model]\n'
                   f'name = "mlp"\n[train]\nepochs = 1\nout_dir = "{tmp_path / "runs"}"\n')
    base = ["train", str(cfg), "--quiet"]
    _err(capsys, base + ["--set", "data.target=y"], "data.missing='mean'")
    _err(capsys, base + ["--set", "data.target=nope"], "nope")
    assert main(base + ["--set", "data.target=y", "--set", "data.missing=mean",
                        "--set", "data.test_size=0.34"]) == 0


def test_ctrl_c_prints_resume_hint(tmp_path):
    # no early stopping: the run must still be training when the signal comes
    cmd = [sys.executable, "-m", "lamina", "train", "--quiet", "--set", "train.epochs=100000",
           "--set", "train.early_stopping=0", "--set", "model.name=mlp",
           "--set", f'train.out_dir="{tmp_path}"']
    # a shell's background job starts with SIGINT ignored, and Python then installs no
    # KeyboardInterrupt handler: give the child the default disposition a terminal gives
    p = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 120
    while time.time() < deadline:  # wait for the first checkpoint
        if list(tmp_path.glob("*/checkpoint.safetensors")):
            break
        time.sleep(0.2)
    assert p.poll() is None, "training ended before it could be interrupted"
    p.send_signal(signal.SIGINT)
    try:
        _, err = p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()  # never leave a 100000-epoch run behind
        raise
    assert p.returncode == 130, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert "interrupted after epoch" in err and "lamina train --resume" in err


def test_lamina_debug_shows_the_traceback(monkeypatch, capsys):
    import pytest

    from lamina.cli import main, runs

    def boom():
        raise ValueError("boom: an internal bug")
    monkeypatch.setattr(runs, "datasets_table", boom)
    assert main(["datasets"]) == 2
    assert capsys.readouterr().err.strip() == "lamina: error: ValueError: boom: an internal bug"
    monkeypatch.setenv("LAMINA_DEBUG", "1")
    with pytest.raises(ValueError, match="boom"):
        main(["datasets"])
