"""Variational autoencoder on 8x8 digits: the ELBO per epoch from the Trainer logs, a grid of
samples (``vae_samples.png``) and a 2-D latent traversal (``vae_latent.png``) in ``--out``.

    python examples/vae_digits.py --out out/ [--likelihood gaussian|bernoulli] [--beta 1.0]
"""

import argparse
import os

import numpy as np

import lamina
from lamina import datasets
from lamina.models import VAE, save_image_grid


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="out/")
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--latent", type=int, default=8)
    ap.add_argument("--likelihood", default="gaussian", choices=["gaussian", "bernoulli"])
    ap.add_argument("--obs-std", type=float, default=0.1)
    ap.add_argument("--beta", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    lamina.manual_seed(args.seed)
    d = datasets.load("digits", flatten=True)

    vae = VAE.dense(64, args.latent, hidden=(256,), likelihood=args.likelihood,
                    obs_std=args.obs_std, beta=args.beta)
    hist = vae.fit(d.x_train, epochs=args.epochs, batch_size=64, lr=1e-3,
                   validation=d.x_test)
    for e in range(0, args.epochs, max(args.epochs // 8, 1)):
        print(f"epoch {e + 1:3d}: train ELBO {hist['elbo'][e]:9.2f}  held-out ELBO "
              f"{-hist['val_loss'][e]:9.2f}  KL {hist['kl'][e]:6.2f} nats")
    print(f"final held-out ELBO {-hist['val_loss'][-1]:.2f} nats per digit")

    samples = np.clip(vae.sample(100), 0, 1)
    print("wrote", save_image_grid(samples, os.path.join(args.out, "vae_samples.png"),
                                   nrow=10, title=f"VAE samples ({args.likelihood})"))
    # decode a grid over the two latent dims with the largest posterior variance across data
    mu = vae.transform(d.x_train)
    dims = np.argsort(mu.var(0))[-2:]
    grid = np.linspace(-2, 2, 10, dtype=np.float32)
    z = np.zeros((100, args.latent), np.float32)
    z[:, dims[0]] = np.repeat(grid, 10)
    z[:, dims[1]] = np.tile(grid, 10)
    with lamina.no_grad():
        vae.eval()
        imgs = np.clip(vae.decode(lamina.tensor(z)).numpy(), 0, 1)
    print("wrote", save_image_grid(imgs, os.path.join(args.out, "vae_latent.png"), nrow=10,
                                   title=f"latent traversal (dims {dims[0]}, {dims[1]})"))


if __name__ == "__main__":
    main()
