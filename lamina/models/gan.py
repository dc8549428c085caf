"""Generative adversarial network (seed Q29).

* Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014: a generator G maps noise to
  samples, a discriminator D tells them from data; G uses the non-saturating loss
  ``-log D(G(z))`` (section 3 of the paper) rather than ``log(1 - D(G(z)))``.
* Radford, Metz & Chintala, "Unsupervised Representation Learning with Deep Convolutional GANs"
  (DCGAN), ICLR 2016: strided (transposed) convolutions, batch norm, LeakyReLU in D,
  Adam(lr=2e-4, betas=(0.5, 0.999)).
* Salimans et al., "Improved Techniques for Training GANs", NeurIPS 2016: one-sided label
  smoothing (real targets ``1 - s``, fake targets stay 0).

:meth:`GAN.train_step` is a ``Trainer`` step function, so a GAN trains with the usual loop,
callbacks and logs: ``Trainer(gan, step_fn=gan.train_step, metrics=())``, or :meth:`GAN.fit`.
"""

from __future__ import annotations

import copy

from .. import backend as B
from .. import functional as F
from ..autograd.creation import full, randn
from ..autograd.grad_mode import no_grad
from ..errors import check
from ..nn.activation import LeakyReLU, ReLU, Sigmoid
from ..nn.containers import Sequential
from ..nn.conv import Conv2d, ConvTranspose2d
from ..nn.layers import Flatten, Linear, Unflatten
from ..nn.module import Module
from ..nn.normalization import BatchNorm1d, BatchNorm2d
from ..optim import Adam, MultiOptimizer
from ..train import Trainer, split_batch
from .autoencoder import as_model_dtype, batched_eval

__all__ = ["GAN", "mlp_gan", "dcgan_digits", "dcgan_mnist", "save_image_grid"]

np = B.np


class GAN(Module):
    """A generator and a discriminator trained adversarially, each with its own optimizer.

    Args:
        generator (Module): z (N, latent_dim) -> samples shaped like the data.
        discriminator (Module): samples -> (N, 1) logits ("real").
        latent_dim (int): size of z ~ N(0, I).
        label_smoothing (float): one-sided smoothing s in [0, 1): real targets are 1 - s.
            Default 0.0.
        g_optimizer, d_optimizer (Optimizer, optional): default
            ``Adam(lr=2e-4, betas=(0.5, 0.999))`` over each network's parameters (DCGAN).
        d_steps (int): discriminator updates per generator update. Default 1.
        ema_decay (float, optional): keep an exponential moving average of the generator's
            weights (Yazici et al., "The Unusual Effectiveness of Averaging in GAN Training",
            ICLR 2019) in ``ema_generator``; :meth:`sample` then uses it. Default None.

    Shape:
        ``forward(z)``: (N, latent_dim) -> generated samples.

    Example:
        >>> G, D = mlp_gan(64, latent_dim=32)
        >>> gan = GAN(G, D, latent_dim=32, label_smoothing=0.1)
        >>> hist = gan.fit(X, epochs=100, batch_size=64)      # hist["d_loss"], hist["g_loss"]
        >>> save_image_grid(gan.sample(64).reshape(-1, 8, 8), "samples.png")
    """

    def __init__(self, generator: Module, discriminator: Module, latent_dim: int,
                 label_smoothing: float = 0.0, g_optimizer=None, d_optimizer=None,
                 d_steps: int = 1, ema_decay: float | None = None):
        super().__init__()
        check(0 <= label_smoothing < 1, "GAN", "0 <= label_smoothing < 1",
              repr(label_smoothing))
        check(d_steps >= 1, "GAN", "d_steps >= 1", repr(d_steps))
        check(ema_decay is None or 0 < ema_decay < 1, "GAN", "ema_decay None or in (0, 1)",
              repr(ema_decay))
        self.generator, self.discriminator = generator, discriminator
        self.latent_dim, self.label_smoothing = int(latent_dim), float(label_smoothing)
        self.d_steps = int(d_steps)
        self.g_optimizer = g_optimizer or Adam(generator.parameters(), lr=2e-4,
                                               betas=(0.5, 0.999))
        self.d_optimizer = d_optimizer or Adam(discriminator.parameters(), lr=2e-4,
                                               betas=(0.5, 0.999))
        self.ema_decay = ema_decay
        self.ema_generator = None
        if ema_decay is not None:
            self.ema_generator = copy.deepcopy(generator).freeze()

    def _update_ema(self) -> None:
        d = self.ema_decay
        for pe, p in zip(self.ema_generator.parameters(), self.generator.parameters()):
            pe.array *= d
            pe.array += (1.0 - d) * p.array
        for me, m in zip(self.ema_generator.modules(), self.generator.modules()):
            for k, v in m._buffers.items():  # batch-norm statistics follow the live model
                if v is not None:
                    me._buffers[k] = v.copy()

    def noise(self, n: int):
        """``n`` latent vectors z ~ N(0, I) from the seeded generator: (n, latent_dim)."""
        return randn(n, self.latent_dim)

    def forward(self, z):
        return self.generator(z)

    def discriminator_loss(self, real, fake):
        """BCE of D on real (target ``1 - label_smoothing``) and fake (target 0) batches."""
        d_real, d_fake = self.discriminator(real), self.discriminator(fake)
        ones = full(d_real.shape, 1.0 - self.label_smoothing, dtype=d_real.dtype)
        zeros = full(d_fake.shape, 0.0, dtype=d_fake.dtype)
        loss = (F.binary_cross_entropy_with_logits(d_real, ones)
                + F.binary_cross_entropy_with_logits(d_fake, zeros))
        return loss, d_real, d_fake

    def generator_loss(self, n: int):
        """Non-saturating generator loss ``-mean log D(G(z))`` on ``n`` fresh samples."""
        d_fake = self.discriminator(self.generator(self.noise(n)))
        return F.binary_cross_entropy_with_logits(d_fake, full(d_fake.shape, 1.0,
                                                               dtype=d_fake.dtype))

    def train_step(self, trainer, batch) -> dict:
        """One adversarial step, usable as ``Trainer(step_fn=gan.train_step)``.

        ``d_steps`` discriminator updates on the real batch and detached fakes, then one
        generator update through D (D's gradients from it are discarded by the next
        ``zero_grad``).

        Args:
            trainer (Trainer): unused beyond the protocol (the GAN holds its optimizers).
            batch: ``x`` or ``(x, y)``; labels are ignored.

        Returns:
            dict: ``d_loss``, ``g_loss``, ``d_real`` and ``d_fake`` (mean D probabilities).
        """
        real, _ = split_batch(batch)
        n = real.shape[0]
        for _ in range(self.d_steps):
            with no_grad():
                fake = self.generator(self.noise(n))
            self.d_optimizer.zero_grad()
            d_loss, d_real, d_fake = self.discriminator_loss(real, fake)
            d_loss.backward()
            self.d_optimizer.step()
        self.g_optimizer.zero_grad()
        g_loss = self.generator_loss(n)
        g_loss.backward()
        self.g_optimizer.step()
        if self.ema_generator is not None:
            self._update_ema()
        return {"d_loss": d_loss.item(), "g_loss": g_loss.item(),
                "d_real": F.sigmoid(d_real).mean().item(),
                "d_fake": F.sigmoid(d_fake).mean().item()}

    def fit(self, X, epochs: int = 50, batch_size: int = 64, callbacks=(), verbose: int = 0,
            checkpoint=None, resume=False):
        """Train on the array ``X`` through the Trainer with :meth:`train_step`.

        Args:
            X: array ``(N, ...)`` of real samples.
            epochs (int): default 50. batch_size (int): default 64.
            callbacks, verbose: as :meth:`Trainer.fit`.
            checkpoint (str, optional): written atomically after every epoch: both networks
                (and the EMA generator), both optimizers' states, the RNG and the loader
                position. Default None.
            resume (bool or str): as :meth:`Trainer.fit`: True continues from ``checkpoint``
                when it exists; the resumed run matches an uninterrupted one bit for bit.

        Returns:
            History: per-epoch means of ``d_loss``, ``g_loss``, ``d_real``, ``d_fake``.
        """
        X = as_model_dtype(self, X)
        opts = MultiOptimizer(discriminator=self.d_optimizer, generator=self.g_optimizer)
        trainer = Trainer(self, opts, None, metrics=(), step_fn=self.train_step)
        hist = trainer.fit((X, X), epochs=epochs, batch_size=batch_size, callbacks=callbacks,
                           verbose=verbose, checkpoint=checkpoint, resume=resume)
        self.eval()
        return hist

    def sample(self, n: int):
        """``n`` generated samples (eval mode, no gradients; the averaged generator when
        ``ema_decay`` is set) as a host array."""
        was = self.training
        self.eval()
        g = self.ema_generator if self.ema_generator is not None else self.generator
        try:
            with no_grad():
                return B.to_host(g(self.noise(n)).array)
        finally:
            self.train(was)

    def score(self, X, batch_size: int = 512):
        """Discriminator probability that each row of the array ``X`` is real: (N,)."""
        return batched_eval(self, X, lambda t: F.sigmoid(self.discriminator(t)).reshape(-1),
                            batch_size)


def mlp_gan(out_features: int, latent_dim: int = 32, hidden: int = 128):
    """A fully connected generator/discriminator pair for flat data in [0, 1]: G has two
    Linear-BatchNorm-LeakyReLU(0.2) blocks and a sigmoid output, D two Linear-LeakyReLU(0.2)
    blocks and one logit.

    Args:
        out_features (int): data size (64 for 8x8 digits).
        latent_dim (int): size of z. Default 32.
        hidden (int): width of the hidden layers. Default 128.

    Returns:
        tuple: ``(generator, discriminator)``; G ends in a sigmoid, D outputs a logit.
    """
    g = Sequential(Linear(latent_dim, hidden), BatchNorm1d(hidden), LeakyReLU(0.2),
                   Linear(hidden, hidden), BatchNorm1d(hidden), LeakyReLU(0.2),
                   Linear(hidden, out_features), Sigmoid())
    d = Sequential(Linear(out_features, hidden), LeakyReLU(0.2),
                   Linear(hidden, hidden), LeakyReLU(0.2), Linear(hidden, 1))
    return g, d


def _dcgan(latent_dim, base, size, channels):
    s = size // 4
    g = Sequential(Linear(latent_dim, 2 * base * s * s), BatchNorm1d(2 * base * s * s), ReLU(),
                   Unflatten(1, (2 * base, s, s)),
                   ConvTranspose2d(2 * base, base, 4, stride=2, padding=1), BatchNorm2d(base),
                   ReLU(), ConvTranspose2d(base, channels, 4, stride=2, padding=1), Sigmoid())
    d = Sequential(Conv2d(channels, base, 3, stride=2, padding=1), LeakyReLU(0.2),
                   Conv2d(base, 2 * base, 3, stride=2, padding=1), BatchNorm2d(2 * base),
                   LeakyReLU(0.2),
                   Flatten(), Linear(2 * base * s * s, 1))
    return g, d


def dcgan_digits(latent_dim: int = 32, base: int = 32):
    """DCGAN-style pair for 8x8 one-channel digits in [0, 1].

    G: Linear -> (2 base, 2, 2) -> ConvTranspose 4x4/2 -> (base, 4, 4) -> ConvTranspose 4x4/2
    -> (1, 8, 8) sigmoid, batch norm and ReLU between. D: two 3x3 stride-2 convolutions with
    LeakyReLU(0.2) (batch norm on the second, as in DCGAN) and a Linear to one logit.

    Args:
        latent_dim (int): size of z. Default 32.
        base (int): channel width. Default 32.

    Returns:
        tuple: ``(generator, discriminator)``; shapes (N, latent_dim) -> (N, 1, 8, 8) -> (N, 1).
    """
    return _dcgan(latent_dim, base, 8, 1)


def dcgan_mnist(latent_dim: int = 64, base: int = 32):
    """DCGAN-style pair for 28x28 one-channel images (mnist5k), as :func:`dcgan_digits` with
    7x7 and 14x14 feature maps.

    Returns:
        tuple: ``(generator, discriminator)``; (N, latent_dim) -> (N, 1, 28, 28) -> (N, 1).
    """
    return _dcgan(latent_dim, base, 28, 1)


def save_image_grid(images, path, nrow: int | None = None, cmap: str = "gray",
                    title: str | None = None, scale: float = 0.6):
    """Save a grid of images as a PNG (matplotlib's Agg canvas; no global backend change).

    Args:
        images (array): (N, H, W), (N, 1, H, W) or (N, H*W) with a square H*W.
        path (str): output file.
        nrow (int, optional): images per row. Default ``ceil(sqrt(N))``.
        cmap (str): colormap. Default 'gray'.
        title (str, optional): figure title.
        scale (float): inches per image. Default 0.6.

    Returns:
        str: ``path``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    imgs = np.asarray(B.to_host(images))
    if imgs.ndim == 4:
        imgs = imgs[:, 0]
    elif imgs.ndim == 2:
        side = int(round(imgs.shape[1] ** 0.5))
        check(side * side == imgs.shape[1], "save_image_grid", "(N, H*W) with square H*W",
              f"{imgs.shape}")
        imgs = imgs.reshape(-1, side, side)
    n = len(imgs)
    ncol = nrow or int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / ncol))
    head = 0.35 if title else 0.0
    fig = Figure(figsize=(scale * ncol, scale * rows + head))
    FigureCanvasAgg(fig)
    for i in range(rows * ncol):
        ax = fig.add_subplot(rows, ncol, i + 1)
        ax.axis("off")
        if i < n:
            ax.imshow(imgs[i], cmap=cmap, vmin=0.0, vmax=1.0, interpolation="nearest")
    if title:
        fig.suptitle(title)
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, wspace=0.06, hspace=0.06,
                        top=1.0 - (head + 0.01 * scale * rows) / (scale * rows + head))
    fig.savefig(path, dpi=100)
    return path
