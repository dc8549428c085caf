"""GAN on 8x8 digits through ``lamina.train.Trainer`` with ``step_fn=gan.train_step``: writes a
samples grid (``gan_samples.png``) and the per-epoch losses (``gan_losses.png``) into ``--out``.

    python examples/gan_digits.py --out out/ [--arch dcgan|mlp] [--epochs 30]
"""

import argparse
import os

import numpy as np

import lamina
from lamina import datasets
from lamina.models import GAN, dcgan_digits, mlp_gan, save_image_grid
from lamina.optim import Adam
from lamina.train import Trainer


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="out/")
    ap.add_argument("--arch", default="dcgan", choices=["dcgan", "mlp"])
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--latent", type=int, default=32)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--label-smoothing", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    lamina.manual_seed(args.seed)
    d = datasets.load("digits", flatten=args.arch == "mlp")

    g, disc = dcgan_digits(args.latent) if args.arch == "dcgan" else mlp_gan(64, args.latent)
    gan = GAN(g, disc, args.latent, label_smoothing=args.label_smoothing,
              g_optimizer=Adam(g.parameters(), args.lr, betas=(0.5, 0.999)),
              d_optimizer=Adam(disc.parameters(), args.lr, betas=(0.5, 0.999)))
    trainer = Trainer(gan, None, None, metrics=(), step_fn=gan.train_step)
    hist = trainer.fit(d.x_train, epochs=args.epochs, batch_size=32, verbose=2)

    samples = gan.sample(100)
    print("wrote", save_image_grid(samples, os.path.join(args.out, "gan_samples.png"), nrow=10,
                                   title=f"{args.arch.upper()} samples, {args.epochs} epochs"))

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(6, 3.2))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    epochs = np.arange(1, len(hist["d_loss"]) + 1)
    for key in ("d_loss", "g_loss"):
        ax.plot(epochs, hist[key], label=key)
    ax.axhline(2 * np.log(2), color="gray", ls=":", label="D loss at equilibrium (2 ln 2)")
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean loss")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = os.path.join(args.out, "gan_losses.png")
    fig.savefig(path, dpi=100)
    print("wrote", path)


if __name__ == "__main__":
    main()
