"""Run under ``mpiexec -n R``: DDP (and SyncBatchNorm) vs single-process training on the same
global batches, float64. Rank 0 writes the largest differences as JSON to argv[1]."""

import json
import os
import sys

import numpy as np

import lamina
from lamina import distributed as dist, optim
from lamina import functional as F
from lamina.data import ArrayDataset, DataLoader
from lamina.models import MLP

STEPS = 20


def batches(loader):
    while True:
        yield from loader


def build(bn, seed=0):
    lamina.manual_seed(seed)
    return MLP(64, [16], 10, batch_norm=bn)


def train(model, loader, accum, parallel):
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    it = batches(loader)
    for _ in range(STEPS):
        opt.zero_grad()
        if parallel:
            for _ in range(accum - 1):
                with model.no_sync():
                    x, y = next(it)
                    F.cross_entropy(model(x), y).backward()
            x, y = next(it)
            F.cross_entropy(model(x), y).backward()
        else:  # the window's micro-batches, each weighted by its share of the window's samples
            window = [next(it) for _ in range(accum)]
            total = sum(len(y) for _, y in window)
            for x, y in window:
                (F.cross_entropy(model(x), y) * (len(y) / total)).backward()
        opt.step()
    return model


def state(model):
    return {k: np.asarray(v, dtype=np.float64) for k, v in model.state_dict().items()}


def main():
    out = sys.argv[1]
    lamina.set_default_dtype("float64")
    R, r = dist.init(timeout=60), dist.rank()
    d = np.load(os.environ["LAMINA_TEST_DIGITS"])
    n = 12 * 8 + 4 if R == 3 else 97  # a last global batch that does not divide by R
    b = 5 if R == 2 else 4
    ds = ArrayDataset(d['x'][:n], d['y'][:n])
    res = {}
    for bn in (False, True):
        for accum in (1, 2):
            model = build(bn)
            if bn:
                model = dist.convert_sync_batchnorm(model)
            ddp = dist.DistributedDataParallel(model, bucket_cap_mb=0.002)
            sampler = dist.DistributedSampler(ds, seed=3, pad=False)
            train(ddp, DataLoader(ds, batch_size=b, sampler=sampler), accum, True)
            ref = build(bn)
            one = dist.DistributedSampler(ds, num_replicas=1, rank=0, seed=3, pad=False)
            train(ref, DataLoader(ds, batch_size=b * R, sampler=one), accum, False)
            sa, sb = state(model), state(ref)
            key = f"bn={bn},accum={accum}"
            res[key] = max(float(np.max(np.abs(sa[k] - sb[k]))) for k in sa)
            res[key + ",moved"] = max(float(np.max(np.abs(sa[k] - state(build(bn))[k])))
                                      for k in sa if "weight" in k)
            res[key + ",buckets"] = len(ddp.buckets)
    if r == 0:
        with open(out, "w") as f:
            json.dump(res, f)


if __name__ == "__main__":
    main()
