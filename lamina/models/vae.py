"""Variational autoencoder (seed Q36).

Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014: an encoder gives a diagonal
Gaussian posterior ``q(z|x) = N(mu, diag(exp(logvar)))``, ``z = mu + exp(logvar / 2) * eps``
(the reparameterization trick, eps from lamina's seeded generator) and the decoder a likelihood
``p(x|z)``. Training maximizes the evidence lower bound

    ELBO(x) = E_q[log p(x|z)] - KL(q(z|x) || N(0, I)),

with the KL term in closed form ``-1/2 sum(1 + logvar - mu^2 - exp(logvar))``. ``beta`` weights the
KL term in the training objective (Higgins et al., "beta-VAE", ICLR 2017); :meth:`VAE.elbo`
always reports the true bound (beta = 1), in nats per sample.
"""

from __future__ import annotations

import math

from .. import backend as B
from .. import functional as F
from ..autograd.creation import randn, randn_like
from ..autograd.grad_mode import no_grad
from ..errors import check
from ..nn.containers import Sequential
from ..nn.module import Module
from .autoencoder import batched_eval, fit_reconstruction
from .mlp import MLP

__all__ = ["VAE"]

np = B.np


class VAE(Module):
    """Variational autoencoder with a Gaussian or Bernoulli decoder.

    Args:
        encoder (Module): x -> (N, 2 * latent_dim): ``mu`` then ``logvar``.
        decoder (Module): z -> (N, *x.shape[1:]): Bernoulli logits, or Gaussian means.
        latent_dim (int): size of z.
        likelihood (str): ``'bernoulli'`` (data in [0, 1], default) or ``'gaussian'``.
        beta (float): KL weight in the training objective, > 0. Default 1.0.
        obs_std (float): the Gaussian decoder's fixed standard deviation. Default 0.1.

    Shape:
        x (N, *) -> reconstruction mean (N, *); z (N, latent_dim).

    Example:
        >>> vae = VAE.dense(64, latent_dim=8, hidden=(256,))
        >>> hist = vae.fit(X, epochs=30, validation=X_test)   # hist["elbo"], -hist["val_loss"]
        >>> images = vae.sample(16)                            # (16, 64) in [0, 1]
    """

    def __init__(self, encoder: Module, decoder: Module, latent_dim: int,
                 likelihood: str = "bernoulli", beta: float = 1.0, obs_std: float = 0.1):
        super().__init__()
        check(likelihood in ("bernoulli", "gaussian"), "VAE",
              "likelihood 'bernoulli' or 'gaussian'", repr(likelihood))
        check(beta > 0 and obs_std > 0, "VAE", "beta > 0 and obs_std > 0",
              f"beta={beta}, obs_std={obs_std}")
        self.encoder, self.decoder = encoder, decoder
        self.latent_dim, self.likelihood = int(latent_dim), likelihood
        self.beta, self.obs_std = float(beta), float(obs_std)

    @classmethod
    def dense(cls, in_features: int, latent_dim: int, hidden=(256,), activation="relu",
              **kwargs):
        """Fully connected VAE; the decoder mirrors the encoder.

        Args:
            in_features (int): input size (flattened).
            latent_dim (int): size of z.
            hidden (int or sequence of int): encoder widths. Default (256,).
            activation: hidden activation. Default 'relu'.
            **kwargs: ``likelihood``, ``beta``, ``obs_std``.
        """
        hidden = (hidden,) if isinstance(hidden, int) else tuple(hidden)
        enc = MLP(in_features, hidden, 2 * latent_dim, activation=activation)
        dec = MLP(latent_dim, hidden[::-1], in_features, activation=activation)
        return cls(Sequential(enc), Sequential(dec), latent_dim, **kwargs)

    # ------------------------------------------------------------------ model
    def encode(self, x):
        """Posterior parameters ``(mu, logvar)``, each (N, latent_dim)."""
        h = self.encoder(x)
        check(h.shape[-1] == 2 * self.latent_dim, "VAE.encode",
              f"encoder output (N, 2 * latent_dim) = (N, {2 * self.latent_dim})", f"{h.shape}")
        return h[:, :self.latent_dim], h[:, self.latent_dim:]

    def reparameterize(self, mu, logvar):
        """``z = mu + exp(logvar / 2) * eps``, eps ~ N(0, I) from the seeded generator."""
        return mu + F.exp(0.5 * logvar) * randn_like(mu)

    def decode_logits(self, z):
        """The decoder's raw output (Bernoulli logits or Gaussian means)."""
        return self.decoder(z)

    def decode(self, z):
        """Mean of ``p(x|z)``: ``sigmoid(logits)`` (Bernoulli) or the Gaussian mean."""
        out = self.decoder(z)
        return F.sigmoid(out) if self.likelihood == "bernoulli" else out

    def forward(self, x):
        """Reconstruction mean: z sampled in training mode, ``z = mu`` in eval mode."""
        mu, logvar = self.encode(x)
        return self.decode(self.reparameterize(mu, logvar) if self.training else mu)

    # ------------------------------------------------------------------ bound
    def log_likelihood(self, out, x):
        """``log p(x|z)`` of each sample, summed over features: (N,)."""
        n = x.shape[0]
        if self.likelihood == "bernoulli":
            ll = -F.binary_cross_entropy_with_logits(out, x, reduction="none")
        else:
            s = self.obs_std
            ll = (-0.5 / (s * s)) * (x - out) ** 2 - (math.log(s) + 0.5 * math.log(2 * math.pi))
        return ll.reshape(n, -1).sum(axis=1)

    @staticmethod
    def kl(mu, logvar):
        """Closed-form ``KL(N(mu, exp(logvar)) || N(0, I))`` of each sample: (N,)."""
        return -0.5 * (1.0 + logvar - mu ** 2 - F.exp(logvar)).sum(axis=1)

    def _terms(self, x):
        mu, logvar = self.encode(x)
        ll = self.log_likelihood(self.decode_logits(self.reparameterize(mu, logvar)), x)
        return ll, self.kl(mu, logvar)

    def elbo(self, x, reduction: str = "mean"):
        """Single-sample estimate of the ELBO (beta = 1), in nats.

        Args:
            x (Tensor): a batch.
            reduction (str): 'mean' (scalar, default), 'sum' or 'none' ((N,)).

        Returns:
            Tensor.
        """
        ll, kl = self._terms(x)
        e = ll - kl
        return e if reduction == "none" else (e.sum() if reduction == "sum" else e.mean())

    def objective(self, x):
        """Negative beta-weighted ELBO (the training loss) and logs ``elbo``, ``kl``,
        ``recon`` (the negative log-likelihood)."""
        ll, kl = self._terms(x)
        ll, kl = ll.mean(), kl.mean()
        loss = -(ll - self.beta * kl)
        return loss, {"elbo": (ll - kl).item(), "kl": kl.item(), "recon": -ll.item()}

    def fit(self, X, epochs=20, batch_size=64, lr=1e-3, validation=None, **kwargs):
        """Train through the Trainer (Adam); the logs hold ``loss`` (negative beta-ELBO),
        ``elbo``, ``kl``, ``recon`` and, with ``validation``, ``val_loss``: the held-out
        negative ELBO (nats per sample).

        Returns:
            History.
        """
        kwargs.setdefault("val_loss", lambda out, x: -self.elbo(x))
        return fit_reconstruction(self, X, epochs, batch_size, lr, validation, **kwargs)

    # ------------------------------------------------------------------ inference
    def _batched(self, X, fn, batch_size=512):
        return batched_eval(self, X, fn, batch_size)

    def sample(self, n: int, mean: bool = True):
        """Draw ``n`` samples from the model (z ~ N(0, I), seeded).

        Args:
            n (int): number of samples.
            mean (bool): return the decoder mean (default) instead of a draw from p(x|z).

        Returns:
            host array (n, *): for a Bernoulli decoder, probabilities in [0, 1].
        """
        was = self.training
        self.eval()
        try:
            with no_grad():
                x = self.decode(randn(n, self.latent_dim)).array
        finally:
            self.train(was)
        if mean:
            return B.to_host(x)
        if self.likelihood == "bernoulli":
            return (B.rng().random(x.shape) < B.to_host(x)).astype(x.dtype)
        noise = B.rng().standard_normal(x.shape).astype(x.dtype)
        return B.to_host(x) + self.obs_std * noise

    def transform(self, X, batch_size: int = 512):
        """Posterior means ``mu`` of the array ``X``: (N, latent_dim) host array."""
        return self._batched(X, lambda t: self.encode(t)[0].array, batch_size)

    def reconstruct(self, X, batch_size: int = 512):
        """Decoder means at ``z = mu`` for the array ``X``."""
        return self._batched(X, lambda t: self(t).array, batch_size)

    def negative_elbo(self, X, n_samples: int = 1, batch_size: int = 512):
        """Per-sample negative ELBO of the array ``X`` averaged over ``n_samples`` draws: (N,)."""
        runs = [self._batched(X, lambda t: (-self.elbo(t, "none")).array, batch_size)
                for _ in range(n_samples)]
        return np.mean(runs, axis=0)

    def reconstruction_probability(self, X, n_samples: int = 10, batch_size: int = 512):
        """An & Cho (2015): ``E_{z ~ q(z|x)} log p(x|z)``, estimated with ``n_samples`` draws.

        Returns:
            (N,) host array; low values are unlikely (anomalous) inputs.
        """
        def fn(t):
            mu, logvar = self.encode(t)
            lls = [self.log_likelihood(self.decode_logits(self.reparameterize(mu, logvar)),
                                       t).array for _ in range(n_samples)]
            return sum(lls) / n_samples
        return self._batched(X, fn, batch_size)
