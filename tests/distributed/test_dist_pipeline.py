"""Pipeline parallelism (GPipe) and the asynchronous parameter server."""

import json

import numpy as np
import pytest
from mpi_launch import run_mpi

import lamina
from lamina import distributed as dist
from lamina import functional as F
from lamina import nn, optim
from lamina.data import ArrayDataset, DataLoader


@pytest.mark.mpi
def test_pipeline_and_parameter_server_equal_single_process(tmp_path, digits_file):
    out = tmp_path / "res.json"
    run_mpi(2, "dist_pp_worker.py", out, env={"LAMINA_TEST_DIGITS": str(digits_file)})
    res = json.loads(out.read_text())
    assert res["pipeline"] < 1e-10 and res["pipeline_loss"] < 1e-10
    assert res["pipeline_forward"] < 1e-10
    assert res["stage_params"] == 4  # rank 0 holds only its stage (two Linear layers)
    assert res["ps"] < 1e-10 and res["ps_updates"] == 20 and res["ps_max_staleness"] == 0


@pytest.mark.mpi
@pytest.mark.slow
def test_async_parameter_server_accuracy_within_one_point_of_sync(tmp_path, digits_file):
    env = {"LAMINA_TEST_DIGITS": str(digits_file)}
    a, s = tmp_path / "async.json", tmp_path / "sync.json"
    run_mpi(3, "dist_async_worker.py", a, "async", env=env, timeout=600)
    run_mpi(2, "dist_async_worker.py", s, "sync", env=env, timeout=600)
    acc_a, acc_s = json.loads(a.read_text()), json.loads(s.read_text())
    print("async", acc_a, "sync", acc_s)
    assert acc_a["accuracy"] >= acc_s["accuracy"] - 0.01
    assert acc_s["accuracy"] > 0.9


def _seq():
    return nn.Sequential(nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 3))


def test_one_stage_pipeline_equals_the_whole_batch():
    lamina.manual_seed(0)
    model, ref = _seq(), _seq()
    ref.load_state_dict(model.state_dict())
    pipe = dist.Pipeline(model, micro_batches=3)
    x, y = lamina.randn(10, 6), lamina.tensor(np.arange(10) % 3)
    loss = pipe.train_step(x, y, F.cross_entropy)
    rloss = F.cross_entropy(ref(x), y)
    rloss.backward()
    assert loss == pytest.approx(rloss.item(), rel=1e-5)
    for p, q in zip(model.parameters(), ref.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(pipe(x).numpy(), ref(x).numpy(), rtol=1e-6)


def test_split_sequential_balances_and_checks():
    parts = dist.split_sequential(_seq(), 2)
    assert [len(list(p.children())) for p in parts] == [2, 1]
    assert len(list(dist.split_sequential(_seq(), 3, balance=[1, 1, 1])[2].parameters())) == 2
    with pytest.raises(ValueError, match="stages <= 3"):
        dist.split_sequential(_seq(), 4)
    with pytest.raises(ValueError, match="balance"):
        dist.split_sequential(_seq(), 2, balance=[2, 2])
    with pytest.raises(ValueError, match="at least micro_batches"):
        dist.Pipeline(_seq(), micro_batches=8).train_step(lamina.randn(4, 6),
                                                          lamina.tensor(np.zeros(4, int)),
                                                          F.cross_entropy)


def test_parameter_server_single_process_falls_back_to_sgd():
    lamina.manual_seed(0)
    model = _seq()
    ps = dist.ParameterServer(model, optim.SGD(model.parameters(), lr=0.5))
    rs = np.random.default_rng(0)
    x = rs.standard_normal((40, 6)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    losses = ps.fit(DataLoader(ArrayDataset(x, y), batch_size=10), 15, F.cross_entropy)
    assert losses[-1] < 0.5 * losses[0]
    with pytest.raises(ValueError, match="max_staleness >= 0"):
        dist.ParameterServer(model, None, max_staleness=-1)
