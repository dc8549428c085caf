"""Continual learning on split digits: five 2-class tasks learned one after another.

Class-incremental (one head, no task label at test time): Naive fine-tuning, LwF, EWC and
Replay with 20 examples per class. Task-incremental (the task is known): Naive vs EWC. Prints
the final average accuracy, backward transfer and forgetting of each, and writes the accuracy
matrices ``cl_<protocol>_<strategy>.png`` into ``--out``.

    python examples/continual_digits.py --out docs/figures/uncertainty   # ~1 min CPU
"""

import argparse
import os

import lamina
from lamina import datasets
from lamina.continual import EWC, LwF, Naive, Replay, split_classes, train_stream
from lamina.models import MLP


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="out/continual")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    tasks = split_classes(datasets.load("digits", flatten=True), n_tasks=5)
    runs = [("class", "naive", Naive, (256,), 1e-3), ("class", "lwf", lambda: LwF(alpha=1.0),
                                                       (256,), 1e-3),
            ("class", "ewc", lambda: EWC(lam=1e4), (256,), 1e-3),
            ("class", "replay", lambda: Replay(per_class=20), (256,), 1e-3),
            ("task", "naive", Naive, (32, 32), 1e-2), ("task", "ewc", lambda: EWC(lam=1e4),
                                                       (32, 32), 1e-2)]
    print(f"{'protocol':9s} {'strategy':8s} {'avg acc':>8s} {'BWT':>7s} {'forget':>7s}")
    for protocol, name, make, hidden, lr in runs:
        lamina.manual_seed(args.seed)
        res = train_stream(MLP(64, hidden, 10), tasks, make(), protocol=protocol, epochs=20,
                           lr=lr)
        print(f"{protocol:9s} {name:8s} {res.average_accuracy:8.3f} "
              f"{res.backward_transfer:7.3f} {res.forgetting:7.3f}")
        res.plot(os.path.join(args.out, f"cl_{protocol}_{name}.png"),
                 title=f"{protocol}-incremental, {name}")


if __name__ == "__main__":
    main()
