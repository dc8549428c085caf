"""Anomaly detection with deep models (seed Q34), behind one scikit-learn-style interface.

Every detector is fitted on normal data only: ``fit(X_normal)``, then ``score_samples(X)``
(higher = more anomalous), ``predict(X)`` (1 anomaly, 0 normal) against ``threshold_``, the
``1 - contamination`` quantile of the scores of the training data (or of ``X_val`` passed to
``fit``: a validation quantile).

* :class:`AutoencoderDetector`: reconstruction error (Sakurada & Yairi, MLSDA 2014).
* :class:`VAEDetector`: negative ELBO, or the reconstruction probability of An & Cho,
  "Variational Autoencoder based Anomaly Detection using Reconstruction Probability" (2015).
* :class:`LSTMForecastDetector`: forecast residuals of a sequence, scored with a Gaussian fitted
  to the training residuals (Malhotra et al., "Long Short Term Memory Networks for Anomaly
  Detection in Time Series", ESANN 2015).
* :class:`DeepSVDD`: Ruff et al., "Deep One-Class Classification", ICML 2018 (bias-free network,
  fixed center, one-class or soft-boundary objective).
* :class:`GANDiscriminatorDetector`: 1 - D(x) of a GAN trained on normal data.
"""

from __future__ import annotations

from .. import backend as B
from .. import functional as F
from ..autograd.creation import tensor
from ..autograd.grad_mode import no_grad
from ..datasets import make_windows
from ..errors import check
from ..metrics import average_precision, f1_score, precision, recall, roc_auc
from ..models.autoencoder import Autoencoder, fit_reconstruction
from ..models.gan import GAN, mlp_gan
from ..models.sequence import Forecaster
from ..models.vae import VAE
from ..nn.activation import LeakyReLU
from ..nn.containers import Sequential
from ..nn.layers import Linear
from ..nn.module import Module
from ..optim import Adam
from ..train import Trainer
from ..train.callbacks import LambdaCallback

__all__ = ["BaseDetector", "AutoencoderDetector", "VAEDetector", "LSTMForecastDetector",
           "DeepSVDD", "GANDiscriminatorDetector", "evaluate_detector"]

np = B.np


def _flat(X):
    X = np.asarray(B.to_host(X), dtype=B.get_default_dtype())
    return X.reshape(len(X), -1)


def _unit_range(X) -> bool:
    return bool(X.min() >= 0.0 and X.max() <= 1.0)


class BaseDetector:
    """Shared ``fit`` / ``predict`` / threshold logic; subclasses implement ``_fit`` and
    ``score_samples``.

    Args:
        contamination (float): expected anomaly rate in (0, 0.5]: the threshold is the
            ``1 - contamination`` quantile of the reference scores. Default 0.05.
    """

    def __init__(self, contamination: float = 0.05):
        check(0 < contamination <= 0.5, type(self).__name__, "0 < contamination <= 0.5",
              repr(contamination))
        self.contamination = float(contamination)
        self.threshold_ = None

    def fit(self, X, y=None, X_val=None):
        """Train on normal data ``X`` and set ``threshold_``.

        Args:
            X (array): normal samples (or a normal series for sequence detectors).
            y: ignored (scikit-learn's signature).
            X_val (array, optional): held-out normal data; when given, the threshold is the
                ``1 - contamination`` quantile of *its* scores (a validation quantile).

        Returns:
            self.
        """
        self._fit(X)
        self.threshold_ = None
        self.set_threshold(X if X_val is None else X_val)
        return self

    def set_threshold(self, X=None, quantile: float | None = None, value: float | None = None):
        """Set ``threshold_`` to ``value``, or to the ``quantile`` (default
        ``1 - contamination``) of the scores of ``X``."""
        if value is None:
            q = 1.0 - self.contamination if quantile is None else quantile
            value = float(np.quantile(self.score_samples(X), q))
        self.threshold_ = float(value)
        return self

    def _fit(self, X):  # pragma: no cover - abstract
        raise NotImplementedError

    def score_samples(self, X):  # pragma: no cover - abstract
        """Anomaly score of each sample (higher = more anomalous): (N,) array."""
        raise NotImplementedError

    def decision_function(self, X):
        """``score_samples(X) - threshold_`` (> 0: anomaly)."""
        check(self.threshold_ is not None, f"{type(self).__name__}.decision_function",
              "a fitted detector", "no threshold_", fix="call fit first", cls=RuntimeError)
        return self.score_samples(X) - self.threshold_

    def predict(self, X):
        """1 for anomalies (score above ``threshold_``), 0 for normal samples: (N,) int64."""
        return (self.decision_function(X) > 0).astype(np.int64)

    def fit_predict(self, X, y=None):
        return self.fit(X).predict(X)


class AutoencoderDetector(BaseDetector):
    """Score = mean squared reconstruction error of an autoencoder trained on normal data.

    Args:
        model (Autoencoder, optional): a ready model (its input layout is used as given);
            default ``Autoencoder.dense(D, code, hidden)`` on flattened inputs, with a sigmoid
            output when the training data lies in [0, 1].
        code (int): code size of the default model. Default 8.
        hidden (tuple): hidden widths of the default model. Default (128,).
        epochs (int): default 30. batch_size (int): default 64. lr (float): default 2e-3.
        contamination (float): see :class:`BaseDetector`. Default 0.05.

    Example:
        >>> det = AutoencoderDetector(epochs=30).fit(X_normal)
        >>> scores, flags = det.score_samples(X), det.predict(X)
    """

    def __init__(self, model=None, code: int = 8, hidden=(128,), epochs: int = 30,
                 batch_size: int = 64, lr: float = 2e-3, contamination: float = 0.05):
        super().__init__(contamination)
        self.model, self.code, self.hidden = model, code, hidden
        self.epochs, self.batch_size, self.lr = epochs, batch_size, lr

    def _prep(self, X):
        return np.asarray(B.to_host(X), dtype=B.get_default_dtype()) if self._given else _flat(X)

    def _fit(self, X):
        self._given = self.model is not None
        X = self._prep(X)
        if not self._given:
            self.model = Autoencoder.dense(X.shape[1], self.code, self.hidden,
                                           output="sigmoid" if _unit_range(X) else None)
        self.history_ = self.model.fit(X, self.epochs, self.batch_size, self.lr)

    def score_samples(self, X):
        return self.model.reconstruction_error(self._prep(X))


class VAEDetector(AutoencoderDetector):
    """Score = negative ELBO (``score='elbo'``) or negative reconstruction probability
    (``score='reconstruction_probability'``, An & Cho 2015) of a VAE trained on normal data.

    Args:
        model (VAE, optional): default ``VAE.dense(D, latent_dim, hidden, likelihood,
            obs_std)`` on flattened inputs.
        latent_dim (int): default 8. hidden (tuple): default (256,).
        likelihood (str): decoder of the default model. Default 'gaussian' (on digits it
            separates held-out classes far better than 'bernoulli': ROC-AUC 0.95 vs 0.76).
        obs_std (float): its Gaussian standard deviation, in data units. Default 0.1.
        score (str): 'elbo' (default) or 'reconstruction_probability'.
        n_samples (int): Monte Carlo draws per score. Default 10.
        epochs, batch_size, lr, contamination: as :class:`AutoencoderDetector` (defaults 30,
            64, 1e-3, 0.05).
    """

    def __init__(self, model=None, latent_dim: int = 8, hidden=(256,), score: str = "elbo",
                 n_samples: int = 10, likelihood: str = "gaussian", obs_std: float = 0.1,
                 epochs: int = 30, batch_size: int = 64, lr: float = 1e-3,
                 contamination: float = 0.05):
        super().__init__(model, latent_dim, hidden, epochs, batch_size, lr, contamination)
        self.likelihood, self.obs_std = likelihood, obs_std
        check(score in ("elbo", "reconstruction_probability"), "VAEDetector",
              "score 'elbo' or 'reconstruction_probability'", repr(score))
        self.score, self.n_samples = score, int(n_samples)

    def _fit(self, X):
        self._given = self.model is not None
        X = self._prep(X)
        if not self._given:
            self.model = VAE.dense(X.shape[1], self.code, self.hidden,
                                   likelihood=self.likelihood, obs_std=self.obs_std)
        self.history_ = self.model.fit(X, self.epochs, self.batch_size, self.lr)

    def score_samples(self, X):
        X = self._prep(X)
        if self.score == "elbo":
            return self.model.negative_elbo(X, self.n_samples)
        return -self.model.reconstruction_probability(X, self.n_samples)


def _bias_free(sizes):
    layers = []
    for a, b in zip(sizes[:-2], sizes[1:-1]):
        layers += [Linear(a, b, bias=False), LeakyReLU(0.1)]
    return Sequential(*layers, Linear(sizes[-2], sizes[-1], bias=False))


class _SVDDNet(Module):
    """Bias-free network and the Deep SVDD objective (center ``c`` and radius ``R`` fixed
    during each gradient step)."""

    def __init__(self, in_features, hidden, rep_dim, objective, nu):
        super().__init__()
        # no bias terms: a bias could map everything onto c (the trivial "hypersphere collapse")
        self.net = _bias_free([in_features, *hidden, rep_dim])
        self.objective_name, self.nu = objective, nu
        self.c, self.R = None, 0.0

    def forward(self, x):
        return self.net(x)

    def dist(self, x):
        return ((self(x) - tensor(self.c)) ** 2).sum(axis=1)

    def objective(self, x):
        d = self.dist(x)
        if self.objective_name == "one-class":
            return d.mean(), {}
        r2 = self.R ** 2
        return r2 + (1.0 / self.nu) * F.relu(d - r2).mean(), {"radius": self.R}


class DeepSVDD(BaseDetector):
    """Deep Support Vector Data Description (Ruff et al. 2018).

    A bias-free network maps normal data into a small hypersphere around a center ``c`` fixed
    to the mean of the initial network's outputs (entries within ``eps`` of 0 pushed to
    ``+-eps``). ``'one-class'`` minimizes the mean squared distance to ``c``;
    ``'soft-boundary'`` minimizes ``R^2 + 1/nu * mean(max(0, |phi(x) - c|^2 - R^2))``, with
    ``R`` set after each epoch (from ``warmup`` on) to the ``1 - nu`` quantile of the distances.

    Args:
        hidden (tuple): hidden widths. Default (128, 64).
        rep_dim (int): output dimension. Default 32.
        objective (str): 'one-class' (default) or 'soft-boundary'.
        nu (float): soft-boundary outlier fraction in (0, 1]. Default 0.1.
        epochs (int): default 50. batch_size (int): default 64. lr (float): default 1e-3.
        weight_decay (float): Adam L2 (the paper's network regularizer). Default 1e-6.
        warmup (int): epochs before the radius is updated. Default 5.
        eps (float): minimum absolute value of the center's entries. Default 0.1.
        pretrain_epochs (int): first train the network as the encoder of a bias-free
            autoencoder for this many epochs (the paper's initialization). Default 0.
        contamination (float): see :class:`BaseDetector`. Default 0.05.

    Scores: ``|phi(x) - c|^2`` (one-class) or ``|phi(x) - c|^2 - R^2`` (soft-boundary).
    """

    def __init__(self, hidden=(128, 64), rep_dim: int = 32, objective: str = "one-class",
                 nu: float = 0.1, epochs: int = 50, batch_size: int = 64, lr: float = 1e-3,
                 weight_decay: float = 1e-6, warmup: int = 5, eps: float = 0.1,
                 pretrain_epochs: int = 0, contamination: float = 0.05):
        super().__init__(contamination)
        check(objective in ("one-class", "soft-boundary"), "DeepSVDD",
              "objective 'one-class' or 'soft-boundary'", repr(objective))
        check(0 < nu <= 1, "DeepSVDD", "0 < nu <= 1", repr(nu))
        self.hidden, self.rep_dim, self.objective, self.nu = hidden, rep_dim, objective, nu
        self.epochs, self.batch_size, self.lr = epochs, batch_size, lr
        self.weight_decay, self.warmup, self.eps = weight_decay, warmup, eps
        self.pretrain_epochs = int(pretrain_epochs)

    def _outputs(self, X):
        self.net_.eval()
        with no_grad():
            return np.concatenate([B.to_host(self.net_(tensor(X[i:i + 1024])).array)
                                   for i in range(0, len(X), 1024)])

    def _fit(self, X):
        X = _flat(X)
        self.net_ = _SVDDNet(X.shape[1], self.hidden, self.rep_dim, self.objective, self.nu)
        if self.pretrain_epochs:  # the paper initializes phi with a bias-free autoencoder
            dec = _bias_free([self.rep_dim, *self.hidden[::-1], X.shape[1]])
            Autoencoder(self.net_.net, dec).fit(X, self.pretrain_epochs, self.batch_size,
                                                self.lr)
        c = self._outputs(X).mean(axis=0)
        c[(np.abs(c) < self.eps) & (c < 0)] = -self.eps
        c[(np.abs(c) < self.eps) & (c >= 0)] = self.eps
        self.net_.c = c
        net = self.net_

        def update_radius(epoch, logs):
            if self.objective == "soft-boundary" and epoch + 1 >= self.warmup:
                d = ((self._outputs(X) - c) ** 2).sum(axis=1)
                net.R = float(np.quantile(np.sqrt(d), 1.0 - self.nu))
                net.train()

        self.history_ = fit_reconstruction(
            net, X, self.epochs, self.batch_size, self.lr, weight_decay=self.weight_decay,
            callbacks=[LambdaCallback(on_epoch_end=update_radius)])
        self.center_, self.radius_ = c, net.R

    def score_samples(self, X):
        d = ((self._outputs(_flat(X)) - self.center_) ** 2).sum(axis=1)
        return d - self.radius_ ** 2 if self.objective == "soft-boundary" else d


class GANDiscriminatorDetector(BaseDetector):
    """Score = ``1 - D(x)``, the discriminator's probability that ``x`` is *not* real, for a
    GAN trained on normal data (the discriminator part of Schlegl et al., AnoGAN, IPMI 2017).

    Args:
        gan (GAN, optional): default ``GAN(*mlp_gan(D, latent_dim, hidden))`` on flattened
            inputs in [0, 1].
        latent_dim (int): default 32. hidden (int): default 128.
        epochs (int): default 30. batch_size (int): default 32.
        label_smoothing (float): default 0.1.
        contamination (float): see :class:`BaseDetector`. Default 0.05.
    """

    def __init__(self, gan=None, latent_dim: int = 32, hidden: int = 128, epochs: int = 30,
                 batch_size: int = 32, label_smoothing: float = 0.1,
                 contamination: float = 0.05):
        super().__init__(contamination)
        self.gan, self.latent_dim, self.hidden = gan, latent_dim, hidden
        self.epochs, self.batch_size, self.label_smoothing = epochs, batch_size, label_smoothing

    def _fit(self, X):
        X = _flat(X)
        if self.gan is None:
            g, d = mlp_gan(X.shape[1], self.latent_dim, self.hidden)
            self.gan = GAN(g, d, self.latent_dim, label_smoothing=self.label_smoothing)
        self.history_ = self.gan.fit(X, self.epochs, self.batch_size)

    def score_samples(self, X):
        return 1.0 - self.gan.score(_flat(X))


class LSTMForecastDetector(BaseDetector):
    """Anomalies in a sequence as large one-step forecast residuals (Malhotra et al. 2015).

    An LSTM (:class:`lamina.models.Forecaster`) reads ``window`` past values and predicts the
    next one. Windows are made
    level-free (the window's last value is subtracted from inputs and target), so trending
    series such as co2 need no detrending. Residuals ``e_t`` get a Gaussian fitted on the
    training series; the score of step ``t`` is the Mahalanobis distance of ``e_t``. The first
    ``window`` steps cannot be forecast and score 0.

    Once fitted (``threshold_`` set), scoring *repairs* the series as it goes: a step whose
    score exceeds the threshold is replaced by its forecast before the next windows are
    scored, so a single spike is not flagged again when it sits at the end of the next input
    window. Only the first step of a run of flagged steps is replaced (a level shift is not
    forecast away).

    Args:
        window (int): input length. Default 26.
        hidden (int): LSTM width. Default 32.
        epochs (int): default 20. batch_size (int): default 64. lr (float): default 5e-3.
        repair (bool): see above. Default True.
        contamination (float): see :class:`BaseDetector`. Default 0.01.

    Shape:
        series (T,) or (T, F) -> scores (T,).

    Example:
        >>> det = LSTMForecastDetector(window=26).fit(clean_series)
        >>> flags = det.predict(new_series)          # (T,) 0/1
    """

    def __init__(self, window: int = 26, hidden: int = 32, epochs: int = 20,
                 batch_size: int = 64, lr: float = 5e-3, repair: bool = True,
                 contamination: float = 0.01):
        super().__init__(contamination)
        check(window >= 2, "LSTMForecastDetector", "window >= 2", repr(window))
        self.window, self.hidden, self.epochs = int(window), int(hidden), int(epochs)
        self.batch_size, self.lr, self.repair = batch_size, lr, repair

    def _series(self, s):
        s = np.asarray(B.to_host(s), dtype=B.get_default_dtype())
        s = s[:, None] if s.ndim == 1 else s
        check(s.ndim == 2 and len(s) > self.window, "LSTMForecastDetector",
              f"a series (T,) or (T, F) longer than window={self.window}", f"{s.shape}")
        return (s - self.mean_) / self.std_ if hasattr(self, "std_") else s

    def _pairs(self, s):
        X, y = make_windows(s, self.window)  # X (N, window, F), y (N, F)
        last = X[:, -1:]
        return X - last, y - last[:, 0], last[:, 0]

    def _forecast(self, s, start=None, stop=None):
        """Forecasts of steps ``start..stop-1`` (default all forecastable steps)."""
        start = self.window if start is None else start
        stop = len(s) if stop is None else stop
        X, _, last = self._pairs(s[start - self.window:stop])
        self.model_.eval()
        with no_grad():
            out = np.concatenate([B.to_host(self.model_(tensor(X[i:i + 512])).array)
                                  for i in range(0, len(X), 512)])
        return out + last

    def _scores(self, e):
        z = e - self.res_mean_
        return np.sqrt(np.einsum("nf,fg,ng->n", z, self.res_prec_, z))

    def _fit(self, series):
        raw = np.asarray(B.to_host(series), dtype=B.get_default_dtype())
        raw = raw[:, None] if raw.ndim == 1 else raw
        self.mean_, self.std_ = raw.mean(0), raw.std(0) + 1e-8
        s = self._series(raw)
        X, y, _ = self._pairs(s)
        f = s.shape[1]  # one output per feature: the next step of every series
        self.model_ = Forecaster(input_size=f, hidden_size=self.hidden, horizon=f, rnn="lstm")
        trainer = Trainer(self.model_, Adam(self.model_.parameters(), lr=self.lr), F.mse_loss,
                          metrics=(), grad_clip=1.0)
        self.history_ = trainer.fit((X, y), epochs=self.epochs, batch_size=self.batch_size,
                                    verbose=0)
        e = s[self.window:] - self._forecast(s)
        self.res_mean_ = e.mean(0)
        cov = np.atleast_2d(np.cov(e, rowvar=False)) + 1e-6 * np.eye(e.shape[1], dtype=e.dtype)
        self.res_prec_ = np.linalg.inv(cov).astype(e.dtype)

    def score_samples(self, series):
        s = self._series(series).copy()
        w = self.window
        pred = self._forecast(s)
        scores = np.zeros(len(s), s.dtype)
        scores[w:] = self._scores(s[w:] - pred)
        if not self.repair or self.threshold_ is None:
            return scores
        t = w
        while True:  # one pass per flagged step: replace it, re-forecast the next window
            bad = np.flatnonzero(scores[t:] > self.threshold_)
            if len(bad) == 0:
                return scores
            i = t + int(bad[0])
            if scores[i - 1] > self.threshold_:  # inside a run (a level shift): keep the data
                t = i + 1
                continue
            s[i] = pred[i - w]
            stop = min(i + 1 + w, len(s))
            if stop > i + 1:
                pred[i + 1 - w:stop - w] = self._forecast(s, i + 1, stop)
                scores[i + 1:stop] = self._scores(s[i + 1:stop] - pred[i + 1 - w:stop - w])
            t = i + 1


def evaluate_detector(y_true, scores, y_pred=None, name: str | None = None, print_fn=print):
    """Precision, recall and F1 of ``y_pred`` plus ROC-AUC and PR-AUC (average precision) of
    ``scores``, printed on one line (lamina.metrics).

    Args:
        y_true (array): 1 for anomalies, 0 for normal samples.
        scores (array): anomaly scores (higher = more anomalous).
        y_pred (array, optional): 0/1 decisions; precision/recall/F1 are left out without it.
        name (str, optional): label for the printed line.
        print_fn (callable or None): where the line goes. Default ``print``.

    Returns:
        dict: ``precision``, ``recall``, ``f1`` (when ``y_pred``), ``roc_auc``, ``pr_auc``.
    """
    y_true = np.asarray(B.to_host(y_true)).astype(np.int64).ravel()
    scores = np.asarray(B.to_host(scores)).ravel()
    out = {}
    if y_pred is not None:
        y_pred = np.asarray(B.to_host(y_pred)).astype(np.int64).ravel()
        out["precision"] = float(precision(y_true, y_pred, zero_division=0.0))
        out["recall"] = float(recall(y_true, y_pred, zero_division=0.0))
        out["f1"] = float(f1_score(y_true, y_pred, zero_division=0.0))
    out["roc_auc"] = float(roc_auc(y_true, scores))
    out["pr_auc"] = float(average_precision(y_true, scores))
    if print_fn is not None:
        print_fn(f"{name or 'detector'}: " + ", ".join(f"{k} {v:.3f}" for k, v in out.items()))
    return out
