"""DDP starts each bucket's all-reduce during backward, as soon as its last gradient is final."""

import numpy as np
import pytest

import lamina
from lamina import distributed as dist
from lamina import functional as F
from lamina import nn
from lamina.autograd import Function
from lamina.distributed import comm


class _Mark(Function):
    """Identity whose backward logs ``tag``: shows where in the pass a bucket was launched."""

    def forward(self, x):
        return x

    def backward(self, gy):
        self.log.append(self.tag)
        return (gy,)


class _Logged(nn.Module):
    def __init__(self, log):
        super().__init__()
        self.log = log
        self.l1, self.l2, self.l3 = nn.Linear(8, 16), nn.Linear(16, 16), nn.Linear(16, 3)

    def forward(self, x):
        # a mark's backward runs just before the backward of the layer under it
        h = _Mark.apply(self.l1(x).relu(), tag="l1 backward starts", log=self.log)
        h = _Mark.apply(self.l2(h).relu(), tag="l2 backward starts", log=self.log)
        return self.l3(h)


@pytest.fixture
def launches(monkeypatch):
    log = []
    real = comm.iall_reduce

    def logged(buf, op="sum"):
        log.append(f"launch {buf.size - 1}")  # the bucket's gradient elements
        return real(buf, op)
    monkeypatch.setattr(comm, "iall_reduce", logged)
    return log


def test_buckets_launch_in_reverse_order_during_backward(launches):
    lamina.manual_seed(0)
    model = _Logged(launches)
    ddp = dist.DistributedDataParallel(model, bucket_cap_mb=1e-6)  # a bucket per parameter
    assert len(ddp.buckets) == 6
    x, y = lamina.randn(6, 8), lamina.tensor(np.arange(6) % 3)
    F.cross_entropy(ddp(x), y).backward()
    # reverse parameter order (bias, then weight, from l3 down); l3's buckets start before
    # l2's backward runs and l2's before l1's: the all-reduce overlaps the backward compute
    assert launches == ["launch 3", "launch 48", "l2 backward starts", "launch 16",
                        "launch 256", "l1 backward starts", "launch 16", "launch 128"]
    assert not ddp._inflight  # all done (and averaged) when backward returned


def test_no_sync_launches_nothing_then_one_sync_launches_every_bucket(launches):
    lamina.manual_seed(1)
    ddp = dist.DistributedDataParallel(_Logged([]), bucket_cap_mb=1e-6)
    x, y = lamina.randn(6, 8), lamina.tensor(np.arange(6) % 3)
    with ddp.no_sync():
        F.cross_entropy(ddp(x), y).backward()
    assert launches == []
    F.cross_entropy(ddp(x), y).backward()
    assert len(launches) == 6 and not ddp._inflight


class _Tied(nn.Module):
    def __init__(self):
        super().__init__()
        self.inp, self.mid, self.out = nn.Linear(5, 4), nn.Linear(4, 4), nn.Linear(4, 2)

    def forward(self, x):  # ``mid`` is used twice: its hook must wait for both uses
        return self.out(self.mid(self.mid(self.inp(x).tanh()).tanh()))


def test_several_buckets_and_a_reused_layer_equal_plain_backward():
    lamina.set_default_dtype("float64")
    try:
        lamina.manual_seed(2)
        model, ref = _Tied(), _Tied()
        ref.load_state_dict(model.state_dict())
        ddp = dist.DistributedDataParallel(model, bucket_cap_mb=100 / 2**20)
        assert len(ddp.buckets) >= 3
        x, y = lamina.randn(7, 5), lamina.tensor(np.arange(7) % 2)
        for m in (ddp, ref):
            F.cross_entropy(m(x), y).backward()
    finally:
        lamina.set_default_dtype("float32")
    for (name, p), q in zip(model.named_parameters(), ref.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-12, atol=1e-14,
                                   err_msg=name)
