"""Batch size and learning rate at scale (seed Q22, Q32, Q49): the LR range test per global batch
and a batch-size sweep under the data-parallel scaling rule.

Data-parallel training on ``R`` ranks with ``b`` samples each equals one process with a global
batch of ``R * b`` (``tests/distributed/test_dist_ddp.py`` checks it to 1e-10), so the sweep
trains single-process at each global batch ``B`` as if ``B / base_batch`` ranks ran it, with the
learning rate scaled by the rule (linear: ``lr * B / base_batch``; sqrt) and a linear warm-up,
and reports validation accuracy, samples/s and the LR finder's suggestion at that batch.
"""

from __future__ import annotations

import time

from .. import backend as B
from .. import functional as F
from ..data import ArrayDataset, DataLoader
from ..distributed.trainer import scale_lr, warmup_scheduler
from ..optim import SGD, lr_finder
from ..train import Trainer

__all__ = ["batch_size_study", "plot_batch_size_study"]

np = B.np


def _finder(model_fn, x, y, batch, seed):
    B.manual_seed(seed)
    model = model_fn()
    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    rs = np.random.default_rng(seed)

    def step():
        idx = rs.integers(0, len(x), batch)
        loss = F.cross_entropy(model(x[idx]), y[idx])
        loss.backward()
        return loss.item()
    from ..autograd.tensor import Tensor
    x, y = Tensor(np.asarray(x, B.get_default_dtype())), Tensor(np.asarray(y))
    return lr_finder(step, opt, start_lr=1e-4, end_lr=10.0, num_iter=60).suggestion()


def batch_size_study(model_fn, train, val, batch_sizes=(16, 64, 256), base_batch: int = 16,
                     base_lr: float = 0.02, epochs: int = 5, rule: str = "linear",
                     warmup_epochs: int = 1, seed: int = 0, find_lr: bool = True) -> list:
    """Train ``model_fn()`` at each global batch size with the scaled learning rate.

    Args:
        model_fn (callable): ``() -> Module`` (a fresh classifier each call).
        train, val: ``(X, y)`` arrays. batch_sizes (sequence of int): global batches.
            Default (16, 64, 256).
        base_batch (int): the batch ``base_lr`` is tuned for (one rank's). Default 16.
        base_lr (float): SGD (momentum 0.9) learning rate at ``base_batch``. Default 0.02.
        epochs (int): epochs per batch size (the same sample budget). Default 5.
        rule (str): ``"linear"`` or ``"sqrt"`` (see :func:`lamina.distributed.scale_lr`).
        warmup_epochs (int): linear warm-up from ``base_lr``; 0 for none. Default 1.
        seed (int): Default 0. find_lr (bool): also run the LR range test. Default True.

    Returns:
        list[dict]: per batch size ``batch``, ``ranks``, ``lr``, ``val_accuracy``,
        ``samples_per_s``, ``finder_lr`` (None without ``find_lr``).
    """
    rows = []
    for batch in batch_sizes:
        ranks = max(batch / base_batch, 1.0)
        lr = scale_lr(base_lr, ranks, rule)
        B.manual_seed(seed)
        model = model_fn()
        opt = SGD(model.parameters(), lr=lr, momentum=0.9)
        loader = DataLoader(ArrayDataset(*train), batch_size=batch, shuffle=True, seed=seed)
        sched = None
        if warmup_epochs > 0:
            sched = warmup_scheduler(opt, warmup_epochs * len(loader), start_factor=1 / ranks)
        trainer = Trainer(model, opt, F.cross_entropy, scheduler=sched,
                          scheduler_interval="step")
        t = time.perf_counter()
        trainer.fit(loader, epochs=epochs, verbose=0)
        secs = time.perf_counter() - t
        acc = trainer.evaluate(val, batch_size=512)["accuracy"]
        rows.append({"batch": int(batch), "ranks": ranks, "lr": lr, "val_accuracy": acc,
                     "samples_per_s": epochs * len(train[0]) / secs,
                     "finder_lr": _finder(model_fn, *train, batch, seed) if find_lr else None})
    return rows


def plot_batch_size_study(rows, path) -> None:
    """Accuracy and throughput against the global batch (and the scaled vs found LR).

    Args:
        rows (list[dict]): from :func:`batch_size_study`. path (str): the PNG.
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    b = [r["batch"] for r in rows]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(8, 3.2))
    a1.semilogx(b, [r["val_accuracy"] for r in rows], "o-", base=2, label="val accuracy")
    a1.set(xlabel="global batch", ylabel="val accuracy", title="scaled LR + warm-up")
    t = a1.twinx()
    t.semilogx(b, [r["samples_per_s"] for r in rows], "s--", color="C1", base=2)
    t.set_ylabel("samples/s", color="C1")
    a2.loglog(b, [r["lr"] for r in rows], "o-", base=2, label="scaling rule")
    if all(r["finder_lr"] for r in rows):
        a2.loglog(b, [r["finder_lr"] for r in rows], "x--", base=2, label="LR finder")
    a2.set(xlabel="global batch", ylabel="learning rate", title="LR vs batch")
    a2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
