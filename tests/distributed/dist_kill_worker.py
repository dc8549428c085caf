"""Run under ``mpiexec -n 2``: DDP training with rank-0 checkpoints every epoch.

argv: OUT_DIR MODE, MODE one of ``full`` (4 epochs), ``kill`` (rank 1 SIGKILLs itself in the
middle of epoch 3), ``resume`` (continue from OUT_DIR/ckpt.safetensors), ``hang`` (rank 1
never joins a collective: rank 0's timeout must end the job)."""

import os
import signal
import sys
import time

import numpy as np

import lamina
from lamina import distributed as dist, optim
from lamina import functional as F
from lamina.data import ArrayDataset, DataLoader
from lamina.models import MLP
from lamina.train.callbacks import Callback


class KillRank1(Callback):
    def on_train_batch_end(self, batch, logs=None):
        if self.trainer.epoch == 2 and batch == 3 and dist.rank() == 1:
            os.kill(os.getpid(), signal.SIGKILL)


def main():
    out, mode = sys.argv[1], sys.argv[2]
    dist.init(timeout=3 if mode == "hang" else 60)
    if mode == "hang":
        if dist.rank() == 1:
            time.sleep(120)
        dist.all_reduce(np.ones(4))
        return
    lamina.manual_seed(0)
    d = np.load(os.environ["LAMINA_TEST_DIGITS"])
    ds = ArrayDataset(d['x'][:300], d['y'][:300])
    model = dist.DDP(MLP(64, [32], 10, dropout=0.1))
    opt = optim.Adam(model.parameters(), lr=1e-2)
    loader = DataLoader(ds, batch_size=16, sampler=dist.DistributedSampler(ds, seed=1))
    trainer = dist.DistributedTrainer(model, opt, F.cross_entropy)
    cbs = [KillRank1()] if mode == "kill" else []
    ckpt = os.path.join(out, "ckpt.safetensors")
    trainer.fit(loader, epochs=4, callbacks=cbs, verbose=0, checkpoint=ckpt,
                resume=mode == "resume")
    if dist.rank() == 0:
        np.savez(os.path.join(out, "final.npz"), **model.state_dict())


if __name__ == "__main__":
    main()
