"""lamina.tune: spaces, samplers, pruners, shared storage, resume and outputs (fast toy runs)."""

import csv
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

optuna = pytest.importorskip("optuna")

from tune_toy import toy_train  # noqa: E402

from lamina import tune as T  # noqa: E402

HERE = Path(__file__).resolve().parent
CFG = {"name": "toy", "optim": {"name": "adam", "lr": 1e-3}, "model": {"name": "mlp"},
       "train": {"epochs": 6, "seed": 0}}
SHORT = {**CFG, "train": {"epochs": 3, "seed": 0}}  # fewer reports: each is a database write
SPACE = {"optim.lr": {"type": "float", "low": 1e-4, "high": 1.0, "log": True, "grid": [1e-3,
                                                                                      1e-2]},
         "model.hidden": {"type": "categorical", "choices": [[8], [16, 8]]}}


def test_space_file_parses_and_bad_entries_are_named(tmp_path):
    p = tmp_path / "space.toml"
    p.write_text('[optim.lr]\ntype = "float"\nlow = 1e-4\nhigh = 0.1\nlog = true\n'
                 '[model.hidden]\ntype = "categorical"\nchoices = [[64], [128, 64]]\n')
    space = T.load_space(p)
    assert set(space) == {"optim.lr", "model.hidden"}
    with pytest.raises(ValueError, match="optim.low < optim.high|lr.low < "):
        T.validate_space({"optim.lr": {"type": "float", "low": 1.0, "high": 0.1}})
    with pytest.raises(ValueError, match="type in"):
        T.validate_space({"optim.lr": {"type": "loguniform"}})
    with pytest.raises(ValueError, match="grid"):
        T.grid_space({"optim.lr": {"type": "float", "low": 0.1, "high": 1.0}})
    cfg = T.apply_params(CFG, {"model.hidden": [16, 8], "optim.lr": 0.1})
    assert cfg["model"]["hidden"] == [16, 8] and CFG["optim"]["lr"] == 1e-3


@pytest.mark.parametrize("sampler", ["tpe", "random", "grid", "cmaes"])
def test_every_sampler_runs_trials_that_report_each_epoch(sampler):
    if sampler == "cmaes":
        pytest.importorskip("cmaes")
    study = T.tune(CFG, SPACE, 4, toy_train, sampler=sampler, pruner="none", seed=1)
    done = [t for t in study.trials if t.state.name == "COMPLETE"]
    assert len(done) == 4
    assert all(len(t.intermediate_values) == 6 for t in done)
    assert all(isinstance(t.params["model.hidden"], str) for t in done)  # JSON-encoded lists


def test_tpe_with_median_pruner_prunes_bad_trials_and_finds_the_optimum(tmp_path):
    study = T.tune(CFG, SPACE, 25, toy_train, sampler="tpe", pruner="median", seed=0,
                   out_dir=tmp_path)
    states = [t.state.name for t in study.trials]
    assert states.count("PRUNED") >= 3
    assert T.pruned_epoch_savings(study, 6) > 0.1
    assert abs(__import__("math").log10(study.best_params["optim.lr"]) + 2) < 0.5
    best = tomllib.loads((tmp_path / "best_config.toml").read_text())
    assert best["optim"]["lr"] == pytest.approx(study.best_params["optim.lr"])
    assert isinstance(best["model"]["hidden"], list)
    rows = list(csv.DictReader(open(tmp_path / "trials.csv")))
    assert len(rows) == 25 and {"number", "state", "value", "epochs"} <= set(rows[0])
    for png in ("history.png", "importances.png", "parallel.png"):
        assert (tmp_path / png).stat().st_size > 1000
        assert (tmp_path / png).stat().st_size < 200_000


def test_hyperband_pruner_runs():
    study = T.tune(CFG, SPACE, 8, toy_train, pruner="hyperband", seed=2)
    assert len(study.trials) == 8


def test_killed_study_resumes_from_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    T.tune(SHORT, SPACE, 2, toy_train, storage=url, study_name="s", pruner="none")
    study = T.tune(SHORT, SPACE, 4, toy_train, storage=url, study_name="s", pruner="none")
    assert [t.number for t in study.trials] == [0, 1, 2, 3]


def test_two_workers_share_one_sqlite_study_without_duplicates(tmp_path):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    env_path = os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])
    os.environ["PYTHONPATH"] = env_path
    try:
        study = T.tune(SHORT, SPACE, 8, "tune_toy:toy_train", storage=url, study_name="w2",
                       workers=2, out_dir=tmp_path, pruner="median")
    finally:
        os.environ["PYTHONPATH"] = env_path.split(os.pathsep, 1)[1]
    numbers = [t.number for t in study.trials]
    assert len(numbers) == len(set(numbers))
    finished = [t for t in study.trials if t.state.name in ("COMPLETE", "PRUNED")]
    assert 8 <= len(finished) <= 9  # the budget, plus at most one trial per other worker
    assert numbers == list(range(len(numbers)))


def test_cmaes_without_its_package_names_it(monkeypatch):
    import importlib.util
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda n, *a: None if n == "cmaes" else real(n, *a))
    with pytest.raises(ImportError, match="pip install cmaes"):
        T.make_sampler("cmaes", SPACE)


def test_workers_need_an_importable_train_fn():
    with pytest.raises(ValueError, match="module:function"):
        T.tune(CFG, SPACE, 2, toy_train, workers=2, storage="sqlite:///:memory:")


def test_reporter_names_a_missing_metric():
    with pytest.raises(KeyError, match="val_accuracy"):
        T.tune(CFG, SPACE, 1, lambda c, cbs, n: cbs[0].on_epoch_end(0, {"loss": 1.0}))


def test_worker_module_is_runnable():
    p = subprocess.run([sys.executable, "-m", "lamina.tune.worker"], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode != 0 and "IndexError" in p.stderr
