"""Learned imputers with scikit-learn's transformer API (seed Q43).

Both standardize each column with its observed mean and spread, feed ``[values with missing
entries zeroed, missingness mask]`` to a network and train it to reconstruct observed entries
that were hidden on purpose (each observed entry is dropped with probability ``corruption`` in
every batch), so the network learns to predict a feature from the others and from which ones
are missing. ``transform`` keeps observed values and fills the missing ones.

- :class:`DenoisingAutoencoderImputer`: an MLP ``2F -> hidden -> F`` (the idea of MIDA,
  Gondara & Wang 2018).
- :class:`VAEImputer`: a variational autoencoder (encoder to ``latent`` means and
  log-variances, decoder back to ``F``) with the masked reconstruction error plus ``beta`` times
  the KL term (as in HI-VAE / MIWAE, single sample); ``transform`` decodes the posterior mean.
"""

from __future__ import annotations

from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from .. import backend as B
from .. import functional as F
from .. import nn
from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor
from ..data import ArrayDataset, DataLoader
from ..errors import check
from ..models import MLP
from ..optim import Adam
from ..train import Trainer
from .net import seeded

__all__ = ["DenoisingAutoencoderImputer", "VAEImputer"]

np = B.np


class _VAENet(nn.Module):
    def __init__(self, n_in, n_out, hidden, latent):
        super().__init__()
        self.encoder = MLP(n_in, hidden, 2 * latent)
        self.decoder = MLP(latent, tuple(reversed(hidden)), n_out)
        self.latent = latent

    def forward(self, x):
        h = self.encoder(x)
        mu, logvar = h[:, :self.latent], h[:, self.latent:]
        if self.training:
            eps = Tensor(B.rng().standard_normal(mu.shape).astype(mu.dtype))
            z = mu + F.exp(0.5 * logvar) * eps
        else:
            z = mu
        self.kl = (-0.5 * (1.0 + logvar - mu * mu - F.exp(logvar))).sum(axis=1).mean()
        return self.decoder(z)


class _LearnedImputer(TransformerMixin, BaseEstimator):
    def _build(self, n):  # pragma: no cover - abstract
        raise NotImplementedError

    def _extra_loss(self, model):
        return None

    def _standardize(self, X, fitting):
        X = validate_data(self, X, reset=fitting, ensure_all_finite="allow-nan",
                          dtype=[np.float64, np.float32])
        X = X.astype(np.float64)
        miss = np.isnan(X)
        if fitting:  # observed mean and spread per column (0 and 1 for an empty column)
            n = np.maximum((~miss).sum(axis=0), 1)
            mean = np.where(miss, 0.0, X).sum(axis=0) / n
            var = (np.where(miss, 0.0, X - mean) ** 2).sum(axis=0) / n
            self.mean_ = mean
            self.scale_ = np.where(var > 0, np.sqrt(var), 1.0)
        z = np.where(miss, 0.0, (X - self.mean_) / self.scale_)
        return X, z.astype(B.get_default_dtype()), miss

    def fit(self, X, y=None):
        """Train the network on the observed entries of ``X``.

        Args:
            X: ``(n_samples, n_features)`` with NaN for missing values.
            y: ignored.

        Returns:
            self.
        """
        name = type(self).__name__
        check(0.0 < float(self.corruption) < 1.0, name, "corruption in (0, 1)",
              repr(self.corruption))
        _, z, miss = self._standardize(X, True)
        seed = None if self.random_state is None else int(self.random_state)
        with seeded(seed):
            self.module_ = self._build(z.shape[1])
            opt = Adam(self.module_.parameters(), lr=float(self.lr))
            loader = DataLoader(ArrayDataset(z, miss.astype(z.dtype)),
                                batch_size=int(self.batch_size), shuffle=True)
            trainer = Trainer(self.module_, opt, metrics=(), step_fn=self._step)
            self.history_ = trainer.fit(loader, epochs=int(self.max_epochs), verbose=0)
        return self

    def _step(self, trainer, batch):
        z, m = batch
        observed = 1.0 - m.array
        drop = (B.rng().random(z.shape) < float(self.corruption)).astype(z.dtype) * observed
        hidden = Tensor(np.maximum(m.array, drop))  # 1 where the network does not see a value
        target = Tensor(drop)
        trainer.optimizer.zero_grad()
        out = trainer.model(F.cat([z * (1.0 - hidden), hidden], dim=1))
        err = ((out - z) ** 2 * target).sum() / max(float(drop.sum()), 1.0)
        extra = self._extra_loss(trainer.model)
        loss = err if extra is None else err + extra * (float(self.beta) / z.shape[1])
        loss.backward()
        trainer.optimizer.step()
        return {"loss": loss.item(), "masked_mse": err.item()}

    def transform(self, X):
        """``X`` with its NaNs replaced by the network's predictions (observed values kept).

        Args:
            X: ``(n_samples, n_features)`` with NaN for missing values.

        Returns:
            array ``(n_samples, n_features)`` float64, no NaNs.
        """
        check_is_fitted(self, "module_")
        X, z, miss = self._standardize(X, False)
        m = miss.astype(z.dtype)
        model = self.module_
        model.eval()
        with no_grad():
            out = model(F.cat([Tensor(z), Tensor(m)], dim=1)).numpy().astype(np.float64)
        filled = out * self.scale_ + self.mean_
        return np.where(miss, filled, X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


class DenoisingAutoencoderImputer(_LearnedImputer):
    """Fill missing values with a denoising autoencoder trained on hidden observed entries.

    Args:
        hidden (tuple of int): hidden widths of the MLP ``2F -> hidden -> F``. Default (64, 64).
        corruption (float): probability of hiding each observed entry per batch, in (0, 1).
            Default 0.25.
        max_epochs (int): Default 100.
        lr (float): Adam learning rate. Default 3e-3.
        batch_size (int): Default 64.
        random_state (int, optional): seeds initialization and corruption. Default None.

    Attributes:
        module_ (Module): the trained network.
        mean_ (array): observed mean per column ``(F,)``.
        scale_ (array): observed standard deviation per column ``(F,)`` (1 where constant).
        history_ (History): per-epoch ``loss`` and ``masked_mse``.
        n_features_in_ (int): columns seen at ``fit``.

    Example:
        >>> from sklearn.pipeline import make_pipeline
        >>> model = make_pipeline(DenoisingAutoencoderImputer(random_state=0),
        ...                       NeuralNetClassifier()).fit(X_with_nans, y)
    """

    def __init__(self, hidden=(64, 64), corruption=0.25, max_epochs=100, lr=3e-3,
                 batch_size=64, random_state=None):
        self.hidden, self.corruption, self.max_epochs = hidden, corruption, max_epochs
        self.lr, self.batch_size, self.random_state = lr, batch_size, random_state

    def _build(self, n):
        return MLP(2 * n, tuple(self.hidden), n)


class VAEImputer(_LearnedImputer):
    """Fill missing values with a variational autoencoder (masked Gaussian reconstruction +
    ``beta`` KL), decoding the posterior mean.

    Args:
        hidden (tuple of int): encoder widths (the decoder mirrors them). Default (64,).
        latent (int): latent dimensions. Default 8.
        beta (float): weight of the KL term per feature. Default 0.1.
        corruption: as :class:`DenoisingAutoencoderImputer`.
        max_epochs: as :class:`DenoisingAutoencoderImputer`.
        lr: as :class:`DenoisingAutoencoderImputer`.
        batch_size: as :class:`DenoisingAutoencoderImputer`.
        random_state: as :class:`DenoisingAutoencoderImputer`.

    Attributes:
        As :class:`DenoisingAutoencoderImputer`.
    """

    def __init__(self, hidden=(64,), latent=8, beta=0.1, corruption=0.25, max_epochs=100,
                 lr=3e-3, batch_size=64, random_state=None):
        self.hidden, self.latent, self.beta = hidden, latent, beta
        self.corruption, self.max_epochs = corruption, max_epochs
        self.lr, self.batch_size, self.random_state = lr, batch_size, random_state

    def _build(self, n):
        return _VAENet(2 * n, n, tuple(self.hidden), int(self.latent))

    def _extra_loss(self, model):
        return model.kl
