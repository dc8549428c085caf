"""Autoencoders on 8x8 digits: a dense AE against PCA with the same code size, and a denoising
AE restoring masked digits. Writes ``reconstructions.png`` into ``--out``.

    python examples/autoencoder.py --out out/
"""

import argparse
import os

import numpy as np
from sklearn.decomposition import PCA

import lamina
from lamina import datasets
from lamina.models import Autoencoder, DenoisingAutoencoder, masking_noise


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="out/")
    ap.add_argument("--code", type=int, default=16)
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    lamina.manual_seed(args.seed)
    d = datasets.load("digits", flatten=True)

    ae = Autoencoder.dense(64, args.code, hidden=(128,))
    hist = ae.fit(d.x_train, epochs=args.epochs, lr=2e-3, validation=d.x_test)
    pca = PCA(args.code).fit(d.x_train)
    rec_pca = pca.inverse_transform(pca.transform(d.x_test))
    rec_ae = ae.reconstruct(d.x_test)
    print(f"held-out MSE, code {args.code}: autoencoder {((rec_ae - d.x_test) ** 2).mean():.4f}"
          f"  PCA {((rec_pca - d.x_test) ** 2).mean():.4f}"
          f"  (val_loss by epoch: {hist['val_loss'][0]:.4f} -> {hist['val_loss'][-1]:.4f})")

    dae = DenoisingAutoencoder.dense(64, 32, hidden=(128,), noise=masking_noise(0.3))
    dae.fit(d.x_train, epochs=args.epochs // 2, lr=2e-3)
    noisy = masking_noise(0.3)(lamina.tensor(d.x_test)).numpy()
    rec_dae = dae.reconstruct(noisy)
    print(f"masked inputs (30% of pixels zeroed): MSE of the noisy input "
          f"{((noisy - d.x_test) ** 2).mean():.4f}, after the denoising AE "
          f"{((rec_dae - d.x_test) ** 2).mean():.4f}")

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    rows = [("original", d.x_test), ("PCA", rec_pca), ("autoencoder", rec_ae),
            ("masked 30%", noisy), ("denoising AE", rec_dae)]
    n = 12
    fig = Figure(figsize=(n * 0.7 + 1.2, len(rows) * 0.75))
    FigureCanvasAgg(fig)
    for r, (name, imgs) in enumerate(rows):
        for i in range(n):
            ax = fig.add_subplot(len(rows), n, r * n + i + 1)
            ax.imshow(np.clip(imgs[i].reshape(8, 8), 0, 1), cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_ylabel(name, rotation=0, ha="right", va="center", fontsize=8)
    fig.subplots_adjust(left=0.12, right=0.99, wspace=0.05, hspace=0.05)
    path = os.path.join(args.out, "reconstructions.png")
    fig.savefig(path, dpi=100)
    print("wrote", path)


if __name__ == "__main__":
    main()
