"""Predictive uncertainty from several forward passes: MC dropout (Gal & Ghahramani 2016), deep
ensembles (Lakshminarayanan et al. 2017), and the entropy decomposition of their samples.

Samples are stacked as ``(S, N, C)`` probabilities: S stochastic passes (or ensemble members)
over N inputs. Total uncertainty (predictive entropy ``H[mean_s p_s]``) splits into the expected
entropy ``mean_s H[p_s]`` (aleatoric: noise the model sees in the data) and the mutual
information between the prediction and the weights (epistemic: disagreement between samples).
"""

from __future__ import annotations

from .. import backend as B
from ..autograd.creation import tensor
from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor
from ..errors import check
from ..metrics._util import as_array
from ..nn.layers import Dropout
from ..nn.utils import as_model_dtype, batched_eval

np = B.np

__all__ = ["mc_dropout_predict", "predictive_entropy", "uncertainty_decomposition",
           "mutual_information", "DeepEnsemble", "softmax"]


def softmax(z):
    """Row softmax of host logits ``(..., C)`` (float64 inside, input dtype out)."""
    a = as_array(z)
    s = a.astype(np.float64) - a.max(axis=-1, keepdims=True)
    e = np.exp(s)
    return (e / e.sum(axis=-1, keepdims=True)).astype(a.dtype if a.dtype.kind == "f"
                                                       else np.float64)


def mc_dropout_predict(model, x, n_samples: int = 30, batch_size: int = 512,
                       output: str = "proba"):
    """``n_samples`` forward passes with dropout active and everything else in eval mode.

    Only :class:`~lamina.nn.Dropout` layers (and subclasses) are switched to training mode, so
    BatchNorm keeps its running statistics; the model's modes are restored afterwards. The
    masks come from lamina's seeded generator: ``lamina.manual_seed(s)`` before the call
    makes the samples repeat exactly.

    Args:
        model (Module): a network with dropout layers (without any, every sample is the same
            and the mutual information is 0).
        x: inputs, array or Tensor ``(N, ...)``.
        n_samples (int): stochastic passes S. Default 30.
        batch_size (int): rows per forward pass. Default 512.
        output (str): ``"proba"`` (softmax of the outputs, default) or ``"raw"`` (regression).

    Returns:
        NumPy array ``(S, N, C)`` of probabilities (or raw outputs ``(S, N, ...)``).

    Example:
        >>> samples = mc_dropout_predict(model, x_test, n_samples=50)
        >>> u = uncertainty_decomposition(samples)      # entropy, aleatoric, epistemic
    """
    check(int(n_samples) >= 1, "mc_dropout_predict", "n_samples >= 1", repr(n_samples),
          cls=ValueError)
    check(output in ("proba", "raw"), "mc_dropout_predict", "output 'proba' or 'raw'",
          repr(output), cls=ValueError)
    X = as_model_dtype(model, x)
    modes = {id(m): m.training for m in model.modules()}
    model.eval()
    for m in model.modules():
        if isinstance(m, Dropout):
            object.__setattr__(m, "training", True)
    runs = []
    try:
        with no_grad():
            for _ in range(int(n_samples)):
                outs = [B.to_host(model(tensor(X[i:i + batch_size])).array)
                        for i in range(0, len(X), batch_size)]
                runs.append(np.concatenate(outs))
    finally:
        for m in model.modules():
            object.__setattr__(m, "training", modes[id(m)])
    out = np.stack(runs)
    return softmax(out) if output == "proba" else out


def _samples(op, probs):
    p = as_array(probs)
    check(p.ndim == 3, op, "probability samples of shape (S, N, C)", f"{p.shape}")
    return p.astype(np.float64)


def _entropy(p, axis=-1):
    return -np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0), axis=axis)


def predictive_entropy(probs):
    """Entropy (nats) of each row of ``probs``: ``-sum_c p_c log p_c``.

    Args:
        probs: ``(N, C)`` probabilities, or samples ``(S, N, C)`` (their mean is used).

    Returns:
        NumPy array ``(N,)``, in ``[0, log C]``.
    """
    p = as_array(probs).astype(np.float64)
    return _entropy(p.mean(axis=0) if p.ndim == 3 else p)


def uncertainty_decomposition(samples) -> dict:
    """Total, aleatoric and epistemic uncertainty of stochastic predictions.

    Args:
        samples: probabilities ``(S, N, C)`` (MC-dropout passes or ensemble members).

    Returns:
        dict of ``(N,)`` arrays: ``predictive_entropy`` = ``H[mean_s p_s]``,
        ``expected_entropy`` (aleatoric) = ``mean_s H[p_s]`` and ``mutual_information``
        (epistemic) = their difference, clipped at 0 against rounding; plus ``mean`` ``(N, C)``.
    """
    p = _samples("uncertainty_decomposition", samples)
    mean = p.mean(axis=0)
    total = _entropy(mean)
    aleatoric = _entropy(p).mean(axis=0)
    return {"predictive_entropy": total, "expected_entropy": aleatoric,
            "mutual_information": np.maximum(total - aleatoric, 0.0), "mean": mean}


def mutual_information(samples):
    """Epistemic part of :func:`uncertainty_decomposition`: ``(N,)`` nats, >= 0 (the BALD
    score; as an OOD score it is the ensemble's disagreement)."""
    return uncertainty_decomposition(samples)["mutual_information"]


def _optimizer(spec, params, lr):
    from .. import optim
    if callable(spec):
        return spec(params)
    names = {"adam": optim.Adam, "adamw": optim.AdamW, "sgd": optim.SGD}
    check(spec in names, "DeepEnsemble", f"optimizer a callable or one of {sorted(names)}",
          repr(spec), cls=ValueError)
    return names[spec](params, lr=lr)


class DeepEnsemble:
    """M networks of the same architecture, each initialised and shuffled from its own seed
    and trained through :class:`~lamina.train.Trainer`; predictions are averaged.

    Args:
        build_fn (callable): ``build_fn() -> Module``, called once per member after
            ``lamina.manual_seed(seed + m)``.
        n_members (int): M. Default 5.
        seed (int): seed of member 0 (member m uses ``seed + m``). Default 0.
        optimizer (str or callable): ``"adam"`` (default), ``"adamw"``, ``"sgd"`` or
            ``params -> Optimizer``.
        lr (float): learning rate for a named optimizer. Default 1e-3.
        loss_fn (callable or str): Trainer loss. Default ``"cross_entropy"``.

    Attributes:
        members (list of Module): the trained networks.

    Example:
        >>> ens = DeepEnsemble(lambda: MLP(64, (128,), 10), n_members=5)
        >>> ens.fit((x_train, y_train), epochs=30, batch_size=64)
        >>> p = ens.predict_proba(x_test)              # (N, C), the members' mean
    """

    def __init__(self, build_fn, n_members: int = 5, seed: int = 0, optimizer="adam",
                 lr: float = 1e-3, loss_fn="cross_entropy"):
        check(int(n_members) >= 1, "DeepEnsemble", "n_members >= 1", repr(n_members),
              cls=ValueError)
        self.build_fn, self.n_members, self.seed = build_fn, int(n_members), int(seed)
        self.optimizer, self.lr, self.loss_fn = optimizer, float(lr), loss_fn
        self.members: list = []
        self.histories: list = []

    def fit(self, train, epochs: int = 10, batch_size: int = 64, verbose: int = 0,
            metrics=(), **fit_kwargs) -> "DeepEnsemble":
        """Train every member on ``train`` (an ``(X, y)`` tuple, Dataset or DataLoader).

        Args:
            train: training data as :meth:`Trainer.fit` takes it.
            epochs (int): epochs per member. Default 10.
            batch_size (int): default 64.
            verbose (int): Trainer verbosity. Default 0.
            metrics (sequence): Trainer metrics. Default ().
            **fit_kwargs: passed to :meth:`Trainer.fit` (``validation=``, ``callbacks=``...).

        Returns:
            self.
        """
        from ..backend import manual_seed
        from ..train import Trainer
        self.members, self.histories = [], []
        for m in range(self.n_members):
            manual_seed(self.seed + m)
            model = self.build_fn()
            tr = Trainer(model, _optimizer(self.optimizer, model.parameters(), self.lr),
                         self.loss_fn, metrics=metrics)
            self.histories.append(tr.fit(train, epochs=epochs, batch_size=batch_size,
                                         verbose=verbose, **fit_kwargs))
            model.eval()
            self.members.append(model)
        return self

    def _check(self, op):
        if not self.members:
            raise RuntimeError(f"DeepEnsemble.{op}: expected trained members, got none; call "
                               "fit(...) first")

    def predict(self, x, batch_size: int = 512):
        """Raw outputs of every member, ``(M, N, ...)`` (eval mode, no gradients)."""
        self._check("predict")
        return np.stack([batched_eval(m, x, batch_size=batch_size) for m in self.members])

    def predict_member_proba(self, x, batch_size: int = 512):
        """Softmax of every member's logits, ``(M, N, C)``."""
        return softmax(self.predict(x, batch_size))

    def predict_proba(self, x, batch_size: int = 512):
        """The predictive mean ``(N, C)`` of the members' probabilities."""
        return self.predict_member_proba(x, batch_size).mean(axis=0)

    def __call__(self, x):
        """Log of the mean probability as a Tensor (ensemble "logits" for metrics/OOD)."""
        p = self.predict_proba(x.array if isinstance(x, Tensor) else x)
        return tensor(np.log(np.clip(p, 1e-30, 1.0)))
