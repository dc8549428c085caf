"""`lamina train --nproc N`, the [distributed] config section and the launcher."""

import json
import sys

import pytest
from mpi_launch import ROOT, mpiexec

from lamina.cli import main
from lamina.cli.cmd_distributed import _argv, _check, wants_distributed
from lamina.cli.config import ConfigError, load_config, validate
from lamina.distributed import launch


def test_distributed_section_is_validated():
    cfg = validate({**load_config(None), "distributed": {"bucket_mb": 5, "mode": "ddp"}})
    assert wants_distributed(cfg, 1) and not wants_distributed(load_config(None), 1)
    assert wants_distributed(load_config(None), 2)
    with pytest.raises(ConfigError, match="distributed.bucket"):
        validate({**load_config(None), "distributed": {"bucket": 5}})
    with pytest.raises(ConfigError, match="ParameterServer"):
        _check({"mode": "async"})
    with pytest.raises(ConfigError, match="lr_scaling"):
        _check({"lr_scaling": "cubic"})


def test_relaunch_argv_and_mpiexec_command():
    assert _argv("c.toml", ["train.epochs=2"], None, 0) == [
        "-m", "lamina", "train", "c.toml", "--set", "train.epochs=2", "--quiet"]
    assert _argv(None, [], "runs/x", 1)[-2:] == ["--resume", "runs/x"]
    cmd = launch.mpiexec_command(3, ["-m", "lamina"])
    assert cmd[1:4] == ["-n", "3", sys.executable] and cmd[0].endswith(("mpiexec", "mpirun"))
    with pytest.raises(ValueError, match="nproc >= 1"):
        launch.mpiexec_command(0, [])


@pytest.mark.mpi
@pytest.mark.slow
def test_lamina_train_nproc_2_writes_one_run_and_resumes(tmp_path, monkeypatch):
    mpiexec()
    out = tmp_path / "runs"
    args = ["train", str(ROOT / "lamina/configs/digits_mlp.toml"), "--nproc", "2", "--quiet",
            "--set", "train.epochs=2", "--set", "model.hidden=[32]", "--set", "optim.lr=0.01",
            "--set", "schedule.name=none",
            "--set", f"train.out_dir={out}"]
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    assert main(args) == 0
    (run,) = list(out.iterdir())  # rank 0 alone created the run directory
    assert json.loads((run / "metrics.json").read_text())["accuracy"] > 0.5
    assert len((run / "history.csv").read_text().splitlines()) == 3
    assert main(["train", "--resume", str(run), "--nproc", "2", "--quiet",
                 "--set", "train.epochs=3"]) == 0
    assert len((run / "history.csv").read_text().splitlines()) == 4


def test_distributed_info_command(capsys):
    pytest.importorskip("mpi4py")
    mpiexec()
    assert main(["distributed", "info"]) == 0
    out = capsys.readouterr().out
    assert "mpiexec" in out and "rank 0 of 1" in out
