"""DDP, DistributedSampler and SyncBatchNorm: multi-rank equality with one process (float64)."""

import json

import numpy as np
import pytest
from mpi_launch import run_mpi

import lamina
from lamina import distributed as dist
from lamina import functional as F
from lamina import nn, optim
from lamina.models import MLP


@pytest.mark.mpi
@pytest.mark.parametrize("ranks", [2, 3])
def test_ddp_equals_single_process_after_20_steps(tmp_path, ranks, digits_file):
    # 3 ranks: 100 samples in global batches of 12, so the last batch splits 2/1/1 (uneven)
    out = tmp_path / "res.json"
    run_mpi(ranks, "dist_ddp_worker.py", out, timeout=240,
            env={"LAMINA_TEST_DIGITS": str(digits_file)})
    res = json.loads(out.read_text())
    for bn in (False, True):  # bn=True: SyncBatchNorm under DDP vs BatchNorm on one process
        for accum in (1, 2):  # accum=2: no_sync() micro-steps
            key = f"bn={bn},accum={accum}"
            assert res[key] < 1e-10, (key, res[key])
            assert res[key + ",moved"] > 0.1  # the weights did train
            assert res[key + ",buckets"] >= 2  # several buckets were all-reduced


def test_single_process_ddp_is_plain_training():
    lamina.manual_seed(0)
    a = MLP(8, [6], 3)
    b = MLP(8, [6], 3)
    b.load_state_dict(a.state_dict())
    ddp = dist.DistributedDataParallel(a)
    x, y = lamina.randn(10, 8), lamina.tensor(np.arange(10) % 3)
    for m in (ddp, b):
        m.zero_grad()
        F.cross_entropy(m(x), y).backward()
    for (name, p), q in zip(a.named_parameters(), b.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-6, atol=1e-7,
                                   err_msg=name)
        assert p.grad.dtype == np.float32


class _Branchy(nn.Module):
    def __init__(self):
        super().__init__()
        self.used, self.unused = nn.Linear(4, 2), nn.Linear(4, 2)

    def forward(self, x):
        return self.used(x)


def test_unused_parameter_raises_naming_it():
    ddp = dist.DistributedDataParallel(_Branchy())
    x = lamina.randn(5, 4)
    ddp(x).sum().backward()
    with pytest.raises(RuntimeError, match="unused.weight"):
        ddp(x)


def test_find_unused_parameters_synchronises_with_zero_grad():
    ddp = dist.DistributedDataParallel(_Branchy(), find_unused_parameters=True)
    x = lamina.randn(5, 4)
    for _ in range(2):
        ddp.zero_grad()
        ddp(x).sum().backward()
    assert np.all(ddp.module.unused.weight.grad.numpy() == 0)
    assert ddp.module.used.weight.grad is not None


def test_no_sync_accumulates_as_one_large_batch():
    lamina.manual_seed(1)
    model = MLP(8, [5], 3)
    ref = MLP(8, [5], 3)
    ref.load_state_dict(model.state_dict())
    ddp = dist.DistributedDataParallel(model)
    x, y = lamina.randn(7, 8), lamina.tensor(np.arange(7) % 3)
    with ddp.no_sync():
        F.cross_entropy(ddp(x[:4]), y[:4]).backward()
    F.cross_entropy(ddp(x[4:]), y[4:]).backward()
    F.cross_entropy(ref(x), y).backward()
    for p, q in zip(model.parameters(), ref.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_sampler_shards_are_disjoint_and_cover_the_epoch():
    shards = [dist.DistributedSampler(10, num_replicas=3, rank=r, seed=5, pad=False)
              for r in range(3)]
    got = [s.sample() for s in shards]
    assert sorted(np.concatenate(got).tolist()) == list(range(10))
    assert [len(s) for s in shards] == [4, 3, 3]
    padded = dist.DistributedSampler(10, num_replicas=3, rank=2, seed=5)
    assert len(padded) == len(padded.sample()) == 4
    dropped = dist.DistributedSampler(10, num_replicas=3, rank=0, drop_last=True)
    assert len(dropped.sample()) == 3


def test_sampler_set_epoch_and_state_resume():
    s = dist.DistributedSampler(20, num_replicas=2, rank=1, seed=7)
    e0, e1 = s.sample(), s.sample()
    assert not np.array_equal(e0, e1)
    s.set_epoch(1)
    np.testing.assert_array_equal(s.sample(), e1)
    t = dist.DistributedSampler(20, num_replicas=2, rank=1, seed=0)
    t.load_state_dict({"seed": 7, "epoch": 0})
    np.testing.assert_array_equal(t.sample(), e0)
    with pytest.raises(ValueError, match="rank < num_replicas"):
        dist.DistributedSampler(20, num_replicas=2, rank=2)


def test_sync_batchnorm_single_rank_equals_batchnorm_and_converts():
    lamina.manual_seed(2)
    model = nn.Sequential(nn.Linear(6, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))
    ref = nn.Sequential(nn.Linear(6, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))
    ref.load_state_dict(model.state_dict())
    model = dist.convert_sync_batchnorm(model)
    assert isinstance(model[1], dist.SyncBatchNorm)
    x = lamina.randn(9, 6)
    for m in (model, ref):
        m(x).square().sum().backward()
    for p, q in zip(model.parameters(), ref.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(model[1].running_var.numpy(), ref[1].running_var.numpy(),
                               rtol=1e-6)


def test_collectives_single_process_fallback():
    a = np.arange(4.0)
    assert dist.world_size() == 1 and dist.rank() == 0
    assert dist.all_reduce(a, "mean") is a and a.tolist() == [0, 1, 2, 3]
    assert dist.all_gather(a).shape == (1, 4)
    dist.barrier()
    with pytest.raises(ValueError, match="op in"):
        dist.all_reduce(a, "prod")
    with pytest.raises(ValueError, match="C-contiguous"):
        dist.all_reduce(np.ones((3, 4))[:, ::2])


def test_lr_scaling_rules_and_warmup():
    assert dist.scale_lr(0.1, 4) == pytest.approx(0.4)
    assert dist.scale_lr(0.1, 4, "sqrt") == pytest.approx(0.2)
    opt = optim.SGD(MLP(2, [], 1).parameters(), lr=0.4)
    sched = dist.warmup_scheduler(opt, 4, start_factor=0.25)
    lrs = []
    for _ in range(6):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs == pytest.approx([0.1, 0.175, 0.25, 0.325, 0.4, 0.4])
