"""Run under mpiexec: digits MLP, asynchronous (``async``: 1 server + 2 workers) or synchronous
(``sync``: DDP on 2 ranks), same epochs, batch and learning rate per worker. Rank 0 writes the
test accuracy as JSON to argv[1]."""

import json
import os
import sys
import time

import numpy as np

import lamina
from lamina import distributed as dist
from lamina import functional as F
from lamina import optim
from lamina.data import ArrayDataset, DataLoader
from lamina.models import MLP

EPOCHS, BATCH, LR = 15, 32, 0.05


def main():
    out, mode = sys.argv[1], sys.argv[2]
    dist.init(timeout=120)
    d = np.load(os.environ["LAMINA_TEST_DIGITS"])
    ds = ArrayDataset(d["x"], d["y"])
    lamina.manual_seed(0)
    model = MLP(64, [128], 10)
    t0 = time.perf_counter()
    if mode == "async":
        ps = dist.ParameterServer(model, optim.SGD(model.parameters(), lr=LR, momentum=0.9),
                                  max_staleness=4)
        workers = dist.world_size() - 1
        rank = max(dist.rank() - 1, 0)
        sampler = dist.DistributedSampler(ds, num_replicas=workers, rank=rank, seed=0)
        ps.fit(DataLoader(ds, batch_size=BATCH, sampler=sampler), EPOCHS, F.cross_entropy)
        extra = {"dropped": ps.dropped, "mean_staleness": float(np.mean(ps.staleness or [0]))}
    else:
        ddp = dist.DDP(model)
        opt = optim.SGD(model.parameters(), lr=LR, momentum=0.9)
        sampler = dist.DistributedSampler(ds, seed=0)
        loader = DataLoader(ds, batch_size=BATCH, sampler=sampler)
        for _ in range(EPOCHS):
            for x, y in loader:
                opt.zero_grad()
                F.cross_entropy(ddp(x), y).backward()
                opt.step()
        extra = {}
    secs = time.perf_counter() - t0
    if dist.rank() == 0:
        model.eval()
        pred = model(lamina.tensor(d["x_test"])).numpy().argmax(1)
        acc = float((pred == d["y_test"]).mean())
        with open(out, "w") as f:
            json.dump({"accuracy": acc, "seconds": secs, **extra}, f)


if __name__ == "__main__":
    main()
