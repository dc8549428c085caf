"""Run under ``mpiexec -n 2`` (float64): the 2-stage GPipe pipeline vs the unsplit model, and
the parameter server with one worker vs single-process SGD. Rank 0 writes JSON to argv[1]."""

import json
import os
import sys

import numpy as np

import lamina
from lamina import distributed as dist
from lamina import functional as F
from lamina import nn, optim
from lamina.data import ArrayDataset, DataLoader


def net():
    lamina.manual_seed(0)
    return nn.Sequential(nn.Linear(64, 32), nn.Tanh(), nn.Linear(32, 16), nn.Tanh(),
                         nn.Linear(16, 10))


def max_diff(model, ref, params):
    ids = {id(p) for p in params}
    diffs = [float(np.max(np.abs(p.numpy() - q.numpy())))
             for p, q in zip(model.parameters(), ref.parameters()) if id(p) in ids]
    return dist.all_reduce(np.array([max(diffs)]), "max")[0]


def main():
    lamina.set_default_dtype("float64")
    dist.init(timeout=60)
    d = np.load(os.environ["LAMINA_TEST_DIGITS"])
    x, y = lamina.tensor(d["x"][:640].astype(np.float64)), lamina.tensor(d["y"][:640])
    res = {}
    # pipeline: 20 steps of 32 samples in 4 micro-batches (of 8)
    model, ref = net(), net()
    pipe = dist.Pipeline(model, micro_batches=4)
    opt = optim.SGD(pipe.parameters(), lr=0.2, momentum=0.9)
    ropt = optim.SGD(ref.parameters(), lr=0.2, momentum=0.9)
    for s in range(20):
        xb, yb = x[32 * s:32 * s + 32], y[32 * s:32 * s + 32]
        opt.zero_grad()
        loss = pipe.train_step(xb, yb, F.cross_entropy)
        opt.step()
        ropt.zero_grad()
        rloss = F.cross_entropy(ref(xb), yb)
        rloss.backward()
        ropt.step()
    res["pipeline"] = max_diff(model, ref, list(pipe.parameters()))
    res["pipeline_loss"] = abs(loss - rloss.item())
    res["pipeline_forward"] = float(np.max(np.abs(pipe(x[:50]).numpy() - ref(x[:50]).numpy())))
    res["stage_params"] = len(list(pipe.parameters()))
    # parameter server with a single worker: every gradient has staleness 0
    model, ref = net(), net()
    ps = dist.ParameterServer(model, optim.SGD(model.parameters(), lr=0.1), max_staleness=0)
    loader = DataLoader(ArrayDataset(d["x"][:200], d["y"][:200]), batch_size=20, shuffle=True,
                        seed=4)
    ps.fit(loader, epochs=2, loss_fn=F.cross_entropy)
    ropt = optim.SGD(ref.parameters(), lr=0.1)
    loader = DataLoader(ArrayDataset(d["x"][:200], d["y"][:200]), batch_size=20, shuffle=True,
                        seed=4)
    for _ in range(2):
        for xb, yb in loader:
            ropt.zero_grad()
            F.cross_entropy(ref(xb), yb).backward()
            ropt.step()
    if dist.rank() == 0:
        res["ps"] = max(float(np.max(np.abs(p.numpy() - q.numpy())))
                        for p, q in zip(model.parameters(), ref.parameters()))
        res["ps_updates"] = ps.version
        res["ps_max_staleness"] = max(ps.staleness)
        with open(sys.argv[1], "w") as f:
            json.dump(res, f)


if __name__ == "__main__":
    main()
