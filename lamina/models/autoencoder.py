"""Autoencoders (seed Q36): plain, denoising and sparse, dense or convolutional.

* Hinton & Salakhutdinov, "Reducing the Dimensionality of Data with Neural Networks",
  Science 313 (2006): an encoder to a small code and a decoder back, trained on reconstruction.
* Vincent, Larochelle, Bengio & Manzagol, "Extracting and Composing Robust Features with
  Denoising Autoencoders", ICML 2008: reconstruct the clean input from a corrupted one.
* Ng, "Sparse Autoencoder", CS294A lecture notes (2011): a KL penalty pulls the mean activation
  of each code unit towards a small target; the L1 variant penalizes ``|code|``.

Every model here has ``encode`` / ``decode`` / ``forward`` and ``objective(x) -> (loss, logs)``;
:func:`reconstruction_step` turns ``objective`` into a ``Trainer`` step function, and ``fit``
wraps the Trainer for arrays.
"""

from __future__ import annotations

from .. import backend as B
from .. import functional as F
from ..autograd.creation import rand_like, randn_like
from ..errors import check
from ..nn.activation import get_activation
from ..nn.containers import Sequential
from ..nn.conv import Conv2d, ConvTranspose2d
from ..nn.layers import Flatten, Linear, Unflatten
from ..nn.module import Module
from ..nn.utils import as_model_dtype, batched_eval  # noqa: F401  (re-exported)
from ..optim import Adam, clip_grad_norm_
from ..train import Trainer, split_batch
from .mlp import MLP

__all__ = ["Autoencoder", "DenoisingAutoencoder", "SparseAutoencoder", "gaussian_noise",
           "masking_noise", "reconstruction_step", "fit_reconstruction", "as_model_dtype"]

np = B.np


def gaussian_noise(std: float = 0.1):
    """Additive Gaussian corruption ``x + std * eps`` (eps from the seeded generator).

    Args:
        std (float): noise standard deviation, >= 0. Default 0.1.

    Returns:
        callable: ``noise(x: Tensor) -> Tensor`` of the same shape and dtype.

    Example:
        >>> dae = DenoisingAutoencoder.dense(64, 16, noise=gaussian_noise(0.2))
    """
    check(std >= 0, "gaussian_noise", "std >= 0", repr(std))
    return lambda x: x + float(std) * randn_like(x)


def masking_noise(p: float = 0.25):
    """Masking corruption (Vincent et al. 2008): each entry is set to 0 with probability ``p``.

    Args:
        p (float): drop probability in [0, 1). Default 0.25.

    Returns:
        callable: ``noise(x: Tensor) -> Tensor`` of the same shape and dtype.
    """
    check(0 <= p < 1, "masking_noise", "0 <= p < 1", repr(p))
    return lambda x: x * (rand_like(x) >= p).astype(x.dtype)


def reconstruction_step(trainer, batch) -> dict:
    """``Trainer`` step for any model with ``objective(x) -> (loss, logs)`` (labels ignored).

    Args:
        trainer (Trainer): provides ``model``, ``optimizer`` and ``grad_clip``.
        batch: ``x`` or ``(x, y)`` from the loader.

    Returns:
        dict: ``loss`` plus the model's extra logs (e.g. ``elbo``, ``kl``, ``sparsity``).
    """
    x, _ = split_batch(batch)
    opt, model = trainer.optimizer, trainer.model
    opt.zero_grad()
    loss, logs = model.objective(x)
    loss.backward()
    if trainer.grad_clip is not None:
        clip_grad_norm_(model.parameters(), trainer.grad_clip)
    opt.step()
    return {"loss": loss.item(), **logs}


def fit_reconstruction(model, X, epochs=20, batch_size=64, lr=1e-3, validation=None,
                       val_loss=None, callbacks=(), verbose=0, weight_decay=0.0,
                       grad_clip=None):
    """Train ``model`` on ``X`` alone with Adam through :class:`~lamina.train.Trainer`.

    Args:
        model (Module): has ``objective(x) -> (loss, logs)``.
        X (array): training inputs (N, ...).
        epochs (int): default 20. batch_size (int): default 64. lr (float): default 1e-3.
        validation (array, optional): held-out inputs; logs ``val_loss`` each epoch.
        val_loss (callable, optional): ``f(outputs, x) -> Tensor`` for ``val_loss``. Default
            the mean squared reconstruction error.
        callbacks (sequence): Trainer callbacks. verbose (int): Trainer verbosity. Default 0.
        weight_decay (float): Adam's L2 term. Default 0.
        grad_clip (float, optional): global gradient-norm clip.

    Returns:
        History: per-epoch ``loss`` (and the model's logs, ``val_loss``).
    """
    trainer = Trainer(model, Adam(model.parameters(), lr=lr, weight_decay=weight_decay),
                      loss_fn=val_loss or F.mse_loss, metrics=(), step_fn=reconstruction_step,
                      grad_clip=grad_clip)
    X = as_model_dtype(model, X)
    val = None if validation is None else (as_model_dtype(model, validation),) * 2
    hist = trainer.fit((X, X), epochs=epochs, batch_size=batch_size, validation=val,
                       callbacks=callbacks, verbose=verbose)
    model.eval()
    return hist


def _conv_pair(in_channels, code, image_size, channels, activation):
    check(image_size % 4 == 0, "Autoencoder.conv", "image_size divisible by 4 (two stride-2 "
          "convolutions)", repr(image_size))
    c1, c2 = channels
    s = image_size // 4
    encoder = Sequential(Conv2d(in_channels, c1, 3, stride=2, padding=1),
                         get_activation(activation),
                         Conv2d(c1, c2, 3, stride=2, padding=1), get_activation(activation),
                         Flatten(), Linear(c2 * s * s, code))
    decoder = Sequential(Linear(code, c2 * s * s), get_activation(activation),
                         Unflatten(1, (c2, s, s)),
                         ConvTranspose2d(c2, c1, 4, stride=2, padding=1),
                         get_activation(activation),
                         ConvTranspose2d(c1, in_channels, 4, stride=2, padding=1))
    return encoder, decoder


class Autoencoder(Module):
    """An encoder to a code and a decoder back, trained to reconstruct its input.

    Args:
        encoder (Module): x -> code.
        decoder (Module): code -> reconstruction (same shape as x).
        loss (str): ``'mse'`` (default) or ``'bce'`` (decoder ends in a sigmoid, data in
            [0, 1]).

    Shape:
        x (N, *) -> reconstruction (N, *); code (N, code).

    Example:
        >>> ae = Autoencoder.dense(64, code=16, hidden=(128,))
        >>> hist = ae.fit(X_train, epochs=50, validation=X_test)
        >>> err = ae.reconstruction_error(X_test)      # (N,) mean squared error per sample
    """

    def __init__(self, encoder: Module, decoder: Module, loss: str = "mse"):
        super().__init__()
        check(loss in ("mse", "bce"), type(self).__name__, "loss 'mse' or 'bce'", repr(loss))
        self.encoder, self.decoder, self.loss = encoder, decoder, loss

    @classmethod
    def dense(cls, in_features: int, code: int, hidden=(128,), activation="relu",
              output="sigmoid", code_activation=None, **kwargs):
        """Fully connected autoencoder, decoder mirroring the encoder.

        Args:
            in_features (int): input size (flattened).
            code (int): code size.
            hidden (int or sequence of int): encoder hidden widths (decoder: reversed).
                Default (128,).
            activation: hidden activation name or Module. Default 'relu'.
            output: decoder output activation ('sigmoid' for data in [0, 1], None for
                standardized data). Default 'sigmoid'.
            code_activation: activation on the code (e.g. 'sigmoid' for a KL-sparse code).
                Default None (linear code).
            **kwargs: passed to the class (``loss``, ``noise``, ``sparsity``...).

        Returns:
            an instance of ``cls``.
        """
        hidden = (hidden,) if isinstance(hidden, int) else tuple(hidden)
        enc = [MLP(in_features, hidden, code, activation=activation)]
        dec = [MLP(code, hidden[::-1], in_features, activation=activation)]
        if code_activation is not None:
            enc.append(get_activation(code_activation))
        if output is not None:
            dec.append(get_activation(output))
        return cls(Sequential(*enc), Sequential(*dec), **kwargs)

    @classmethod
    def conv(cls, in_channels: int, code: int, image_size: int = 28, channels=(16, 32),
             activation="relu", output="sigmoid", **kwargs):
        """Convolutional autoencoder: two stride-2 3x3 convolutions and a Linear to the code;
        the decoder mirrors it with 4x4 stride-2 transposed convolutions.

        Args:
            in_channels (int): image channels.
            code (int): code size.
            image_size (int): height = width, divisible by 4 (8 for digits, 28 for MNIST).
                Default 28.
            channels (tuple of 2 ints): conv widths. Default (16, 32).
            activation: hidden activation. Default 'relu'.
            output: decoder output activation. Default 'sigmoid'.
            **kwargs: passed to the class.

        Shape:
            (N, in_channels, image_size, image_size) -> same.
        """
        enc, dec = _conv_pair(in_channels, code, image_size, channels, activation)
        if output is not None:
            dec.append(get_activation(output))
        return cls(enc, dec, **kwargs)

    def encode(self, x):
        """The code of ``x`` (N, code)."""
        return self.encoder(x)

    def decode(self, z):
        """The reconstruction from a code ``z``."""
        return self.decoder(z)

    def forward(self, x):
        return self.decode(self.encode(x))

    def reconstruction_loss(self, recon, x):
        """Mean over the batch and features of the squared error (or BCE)."""
        if self.loss == "bce":
            return F.binary_cross_entropy(recon, x)
        return F.mse_loss(recon, x)

    def objective(self, x):
        """Training loss on a batch and extra logs: ``(loss Tensor, dict of floats)``."""
        return self.reconstruction_loss(self(x), x), {}

    def fit(self, X, epochs=20, batch_size=64, lr=1e-3, validation=None, **kwargs):
        """Train with Adam through the Trainer; see :func:`fit_reconstruction`.

        Returns:
            History: ``loss`` (and ``val_loss``: held-out mean squared error) per epoch.
        """
        return fit_reconstruction(self, X, epochs, batch_size, lr, validation, **kwargs)

    def _batched(self, X, fn, batch_size):
        return batched_eval(self, X, fn, batch_size)

    def reconstruct(self, X, batch_size: int = 512):
        """Reconstructions of the array ``X`` (eval mode, no gradients), as a host array."""
        return self._batched(X, self, batch_size)

    def transform(self, X, batch_size: int = 512):
        """Codes of the array ``X`` (N, code), as a host array."""
        return self._batched(X, self.encode, batch_size)

    def reconstruction_error(self, X, batch_size: int = 512):
        """Mean squared reconstruction error of each sample: (N,) host array."""
        X = as_model_dtype(self, X)
        r = self.reconstruct(X, batch_size)
        return ((r - X) ** 2).reshape(len(X), -1).mean(axis=1)


class DenoisingAutoencoder(Autoencoder):
    """Autoencoder trained to reconstruct clean ``x`` from ``noise(x)`` (Vincent et al. 2008).

    The corruption is applied only in ``objective`` during training; ``forward`` (and so
    ``reconstruct``) sees the input as given.

    Args:
        encoder, decoder (Module): as :class:`Autoencoder`.
        noise (callable): ``noise(x) -> Tensor``, e.g. :func:`gaussian_noise` (default,
            std 0.1) or :func:`masking_noise`.
        loss (str): 'mse' (default) or 'bce'.

    Example:
        >>> dae = DenoisingAutoencoder.dense(64, 32, noise=masking_noise(0.3))
    """

    def __init__(self, encoder, decoder, noise=None, loss: str = "mse"):
        super().__init__(encoder, decoder, loss)
        self.noise = noise if noise is not None else gaussian_noise(0.1)
        check(callable(self.noise), "DenoisingAutoencoder", "a callable noise(x)",
              type(self.noise).__name__)

    def objective(self, x):
        noisy = self.noise(x) if self.training else x
        return self.reconstruction_loss(self(noisy), x), {}


class SparseAutoencoder(Autoencoder):
    """Autoencoder with a sparsity penalty on the code (Ng 2011).

    ``'l1'``: ``weight * mean_n sum_j |h_nj|``. ``'kl'``: ``weight * sum_j KL(rho || rho_j)``
    with ``rho_j`` the batch-mean activation of code unit j; it needs a code in (0, 1), e.g.
    ``SparseAutoencoder.dense(..., code_activation='sigmoid', sparsity='kl')``.

    Args:
        encoder, decoder (Module): as :class:`Autoencoder`.
        sparsity (str): 'l1' (default) or 'kl'.
        weight (float): penalty weight, >= 0. Default 1e-3.
        target (float): KL target activation rho in (0, 1). Default 0.05.
        loss (str): 'mse' (default) or 'bce'.
    """

    def __init__(self, encoder, decoder, sparsity: str = "l1", weight: float = 1e-3,
                 target: float = 0.05, loss: str = "mse"):
        super().__init__(encoder, decoder, loss)
        check(sparsity in ("l1", "kl"), "SparseAutoencoder", "sparsity 'l1' or 'kl'",
              repr(sparsity))
        check(weight >= 0, "SparseAutoencoder", "weight >= 0", repr(weight))
        check(0 < target < 1, "SparseAutoencoder", "0 < target < 1", repr(target))
        self.sparsity, self.weight, self.target = sparsity, float(weight), float(target)

    def penalty(self, code):
        """The sparsity term on a batch of codes (before ``weight``)."""
        if self.sparsity == "l1":
            return code.abs().sum(axis=1).mean()
        rho_hat = F.clip(code.mean(axis=0), 1e-6, 1.0 - 1e-6)
        rho = self.target
        return (rho * F.log(rho / rho_hat)
                + (1.0 - rho) * F.log((1.0 - rho) / (1.0 - rho_hat))).sum()

    def objective(self, x):
        code = self.encode(x)
        pen = self.penalty(code)
        loss = self.reconstruction_loss(self.decode(code), x) + self.weight * pen
        return loss, {"sparsity": pen.item()}
