"""MNIST-1D (Greydanus 2020): an MLP baseline against a GRU classifier and a 1-D CNN.

The 40-step signals are digit templates shifted, scaled, sheared and noised, so a model that
shares weights over time generalises where an MLP memorises. Same stratified 80/20 split
(4,000 train / 1,000 test) for all three; Adam with a one-cycle schedule.

Run:  python examples/mnist1d_sequence.py [--models mlp,gru,cnn,lstm]
Expected (seed 0): MLP about 67%, GRU about 89% (6 epochs), 1-D CNN about 96% (5 epochs).
"""

import argparse
import time

import lamina
import lamina.functional as F
from lamina import data as D
from lamina import datasets, optim
from lamina.models import MLP, CNN1DClassifier, GRUClassifier, LSTMClassifier
from lamina.train import Trainer

# name -> (model factory, epochs, max lr, gradient clipping)
RECIPES = {
    "mlp": (lambda: MLP(40, (256, 256), 10), 30, 2e-3, None),
    "gru": (lambda: GRUClassifier(hidden_size=64), 8, 2e-2, 1.0),
    "lstm": (lambda: LSTMClassifier(hidden_size=64), 8, 1e-2, 1.0),
    "cnn": (lambda: CNN1DClassifier(channels=(32, 64, 64)), 5, 5e-3, None),
}


def run(name, d, seed):
    make, epochs, lr, clip = RECIPES[name]
    lamina.manual_seed(seed)
    model = make()
    opt = optim.Adam(model.parameters(), lr=lr)
    loader = D.DataLoader(d.train_dataset(), batch_size=64, shuffle=True, seed=seed)
    sched = optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, epochs=epochs,
                                          steps_per_epoch=len(loader))
    trainer = Trainer(model, opt, F.cross_entropy, scheduler=sched, scheduler_interval="step",
                      grad_clip=clip)
    start = time.perf_counter()
    trainer.fit(loader, epochs=epochs, verbose=0)
    acc = trainer.evaluate((d.x_test, d.y_test), batch_size=1000)["accuracy"]
    n = sum(p.numel() for p in model.parameters())
    print(f"{name:<5} {n:>8,} params  {epochs:>3} epochs  test accuracy {acc:.3f}  "
          f"({time.perf_counter() - start:.1f} s)", flush=True)
    return acc


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="mlp,gru,cnn")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    d = datasets.load("mnist1d")
    for name in args.models.split(","):
        run(name.strip(), d, args.seed)


if __name__ == "__main__":
    main()
