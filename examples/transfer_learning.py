"""Transfer learning on mnist5k (seed Q33): pretrain on digits 0-4, fine-tune on few labels of 5-9.

A CNN (LeNet-5's conv features with BatchNorm, and a linear head) is trained on the 2,000
training images of digits 0-4 (``--pretrain-epochs``, default 30), saved with ``lamina.io.save``
and read back for every run. On digits 5-9 it is compared, for 5, 10, 50 and all (400)
labelled examples per class, with the same CNN trained from scratch:

* ``scratch``: random init, Adam 2e-3 on every parameter, no augmentation;
* ``scratch+aug``: the same with random shifts (2 px) and rotations (10 degrees);
* ``fine-tuned`` / ``fine-tuned+aug``: exactly the recipe of ``scratch`` / ``scratch+aug``
  (optimizer, learning rate, batch size, epochs, augmentation); only the initialisation
  differs: the pretrained network with a fresh linear head;
* ``frozen``: pretrained features frozen (BatchNorm held in eval mode), new head only
  (Adam 1e-2 on the head: a different recipe, shown for reference).

Accuracy is measured on the 500 test images of digits 5-9, averaged over ``--draws`` draws of
the labelled examples. Writes ``transfer_curve.png`` and ``transfer_results.json`` to ``--out``.

Run:
    python examples/transfer_learning.py               # several minutes on a CPU
    python examples/transfer_learning.py --draws 1 --sizes 10
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

import lamina as L
import lamina.nn as nn
from lamina import io, optim
from lamina.applications.transfer import load_pretrained, replace_head
from lamina.data import ArrayDataset, Compose, DataLoader, RandomRotation, RandomShift
from lamina.datasets import load
from lamina.models import LeNet5
from lamina.train import Trainer

AUG = Compose([RandomShift(2), RandomRotation(10)])
RECIPES = ("scratch", "scratch+aug", "frozen", "fine-tuned", "fine-tuned+aug")


def make_cnn(n_classes: int = 5):
    model = LeNet5(num_classes=n_classes, batch_norm=True)
    model.classifier = nn.Sequential(nn.Flatten(), nn.Linear(400, n_classes))
    return model


def pretrain(x, y, path, epochs=5):
    L.manual_seed(0)
    model = make_cnn(5)
    loader = DataLoader(ArrayDataset(x, y), batch_size=64, shuffle=True, transform=AUG)
    Trainer(model, optim.Adam(model.parameters(), 2e-3), "cross_entropy").fit(
        loader, epochs=epochs, verbose=0)
    io.save(model.state_dict(), path)
    return model


def schedule(n: int):
    """Batch size and epochs: about 80 steps for tiny sets, at least 5 epochs for large ones."""
    batch = 25 if n <= 250 else 64
    steps_per_epoch = -(-n // batch)
    return batch, max(5, round(80 / steps_per_epoch))


def run(recipe, path, x, y, x_test, y_test, seed):
    L.manual_seed(seed)
    model = make_cnn(5)
    batch, epochs = schedule(len(x))
    params = [{"params": list(model.parameters()), "lr": 2e-3}]
    if not recipe.startswith("scratch"):  # the only difference: the initialisation
        load_pretrained(model, path)
        replace_head(model, "classifier.-1", nn.Linear(400, 5))
        params = [{"params": list(model.parameters()), "lr": 2e-3}]  # the new head's too
        if recipe == "frozen":
            model.features.freeze()
            params = [{"params": list(model.classifier.parameters()), "lr": 1e-2}]
    loader = DataLoader(ArrayDataset(x, y), batch_size=batch, shuffle=True,
                        transform=AUG if recipe.endswith("+aug") else None)
    trainer = Trainer(model, optim.Adam(params), "cross_entropy")
    trainer.fit(loader, epochs=epochs, verbose=0)
    return trainer.evaluate((x_test, y_test), batch_size=500)["accuracy"]


def plot(results, sizes, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    colors = {"scratch": "C0", "fine-tuned": "C1", "frozen": "C2"}
    for recipe in RECIPES:
        mean = [np.mean(results[recipe][str(k)]) for k in sizes]
        std = [np.std(results[recipe][str(k)]) for k in sizes]
        ax.errorbar(sizes, mean, yerr=std, marker="o", capsize=3, label=recipe,
                    color=colors[recipe.split("+")[0]],
                    linestyle="--" if recipe.endswith("+aug") else "-")
    ax.set_xscale("log")
    ax.set_xticks(sizes, [str(k) for k in sizes])
    ax.set_xlabel("labelled examples per class (digits 5-9)")
    ax.set_ylabel("test accuracy")
    ax.set_title("Pretrained on digits 0-4 vs from scratch, same recipe (mnist5k)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[5, 10, 50, 400])
    ap.add_argument("--draws", type=int, default=3)
    ap.add_argument("--pretrain-epochs", type=int, default=30)
    ap.add_argument("--out", default=os.path.join("docs", "figures"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    d = load("mnist5k")
    src, tgt, tgt_te = d.y_train < 5, d.y_train >= 5, d.y_test >= 5
    x_t, y_t = d.x_train[tgt], d.y_train[tgt] - 5
    x_te, y_te = d.x_test[tgt_te], d.y_test[tgt_te] - 5
    path = os.path.join(args.out, "pretrained_0to4.safetensors")  # under --out, not /tmp
    t0 = time.time()
    pre = pretrain(d.x_train[src], d.y_train[src], path, args.pretrain_epochs)
    acc = Trainer(pre, None, "cross_entropy").evaluate((d.x_test[~tgt_te], d.y_test[~tgt_te]))
    print(f"pretrained on 0-4: test accuracy {acc['accuracy']:.3f} ({time.time() - t0:.0f} s)")

    results = {r: {} for r in RECIPES}
    for k in args.sizes:
        for seed in range(args.draws):
            g = np.random.default_rng(seed)
            idx = np.concatenate([g.choice(np.flatnonzero(y_t == c), min(k, (y_t == c).sum()),
                                           replace=False) for c in range(5)])
            for recipe in RECIPES:
                a = run(recipe, path, x_t[idx], y_t[idx], x_te, y_te, seed)
                results[recipe].setdefault(str(k), []).append(a)
        line = "  ".join(f"{r} {np.mean(results[r][str(k)]):.3f}" for r in RECIPES)
        print(f"{k:4d}/class: {line}  ({time.time() - t0:.0f} s)", flush=True)
    with open(os.path.join(args.out, "transfer_results.json"), "w") as f:
        json.dump({"sizes": args.sizes, "draws": args.draws, "accuracy": results}, f, indent=1)
    plot(results, args.sizes, os.path.join(args.out, "transfer_curve.png"))
    print("wrote", os.path.join(args.out, "transfer_curve.png"))
    os.remove(path)  # the backbone was only needed for this run


if __name__ == "__main__":
    main()
