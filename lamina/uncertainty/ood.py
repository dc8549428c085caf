"""Out-of-distribution scores and their report.

Every score is an *in-distribution* score: higher means "looks like the training data". The
report treats in-distribution samples as positives, as Hendrycks & Gimpel (2017) and Liu et al.
(2020) do: AUROC, AUPR-In and the false-positive rate (OOD accepted) at 95% true-positive rate.

Scores: max softmax probability (Hendrycks & Gimpel 2017), energy ``T * logsumexp(z / T)`` (Liu
et al. 2020), ODIN (temperature + input perturbation, Liang et al. 2018), Mahalanobis distance
on penultimate features with class means and a tied covariance (Lee et al. 2018), and ensemble
disagreement (minus the mutual information of the members).
"""

from __future__ import annotations

from .. import backend as B
from ..autograd.creation import tensor
from ..errors import check
from ..metrics import average_precision, roc_auc
from ..metrics._util import as_array
from ..nn.layers import Linear
from ..nn.utils import as_model_dtype, batched_eval
from .bayes import DeepEnsemble, mutual_information, softmax

np = B.np

__all__ = ["max_softmax_score", "energy_score", "odin_score", "MahalanobisDetector",
           "penultimate_features", "ensemble_disagreement", "ood_metrics", "ood_report"]


def max_softmax_score(logits):
    """Largest softmax probability per row, ``(N,)`` (Hendrycks & Gimpel's baseline)."""
    return softmax(as_array(logits).astype(np.float64)).max(axis=1)


def energy_score(logits, temperature: float = 1.0):
    """Negative free energy ``T * logsumexp(z / T)`` per row, ``(N,)`` (Liu et al. 2020)."""
    z = as_array(logits).astype(np.float64) / temperature
    m = z.max(axis=1)
    return temperature * (m + np.log(np.exp(z - m[:, None]).sum(axis=1)))


def odin_score(model, x, temperature: float = 1000.0, epsilon: float = 0.0014,
               batch_size: int = 256):
    """ODIN: the max softmax of ``z / T`` after nudging each input by ``epsilon`` in the
    direction that raises it (``x + epsilon * sign(grad_x log max softmax(z / T))``).

    Args:
        model (Module): the classifier (eval mode is used; its mode is restored).
        x: inputs ``(N, ...)``.
        temperature (float): T. Default 1000 (Liang et al.).
        epsilon (float): perturbation size in input units. Default 0.0014.
        batch_size (int): rows per pass. Default 256.

    Returns:
        NumPy array ``(N,)``.
    """
    from .. import functional as F
    X = as_model_dtype(model, x)
    was = model.training
    model.eval()
    flags = [p.requires_grad for p in model.parameters()]
    for p in model.parameters():
        p.requires_grad = False
    try:
        moved = []
        for i in range(0, len(X), batch_size):
            xb = tensor(X[i:i + batch_size], requires_grad=True)
            logp = F.log_softmax(model(xb) * (1.0 / temperature), dim=1)
            logp.amax(dim=1).sum().backward()
            moved.append(X[i:i + batch_size] + epsilon * np.sign(B.to_host(xb.grad.array)))
    finally:
        for p, f in zip(model.parameters(), flags):
            p.requires_grad = f
        model.train(was)
    z = batched_eval(model, np.concatenate(moved).astype(X.dtype), batch_size=batch_size)
    return max_softmax_score(as_array(z).astype(np.float64) / temperature)


def penultimate_features(model, x, layer=None, batch_size: int = 512):
    """The input of ``layer`` (default: the model's last :class:`~lamina.nn.Linear`) for every
    sample, read through a forward hook.

    Returns:
        NumPy array ``(N, features)``.
    """
    if layer is None:
        linears = [m for m in model.modules() if isinstance(m, Linear)]
        check(bool(linears), "penultimate_features", "a model with a Linear layer (or pass "
              "layer=)", type(model).__name__)
        layer = linears[-1]
    grabbed = []
    handle = layer.register_forward_hook(lambda m, args, out: grabbed.append(
        B.to_host(args[0].array).reshape(len(args[0].array), -1)))
    try:
        batched_eval(model, x, batch_size=batch_size)
    finally:
        handle.remove()
    return np.concatenate(grabbed)


class MahalanobisDetector:
    """Class-conditional Gaussians with one shared covariance on penultimate features; the
    score is minus the smallest squared Mahalanobis distance to a class mean.

    Args:
        layer (Module, optional): whose input is the feature (default: the last Linear).
        reg (float): ridge added to the covariance's diagonal, relative to its mean variance.
            Default 1e-6.

    Example:
        >>> det = MahalanobisDetector().fit(model, x_train, y_train)
        >>> s_in, s_out = det.score(model, x_test), det.score(model, x_ood)
    """

    def __init__(self, layer=None, reg: float = 1e-6):
        self.layer, self.reg = layer, float(reg)
        self.means = self.precision = None

    def fit(self, model, x, y) -> "MahalanobisDetector":
        """Estimate the class means and the tied covariance on (training) data. Returns self."""
        f = penultimate_features(model, x, self.layer).astype(np.float64)
        t = as_array(y).reshape(-1).astype(np.int64)
        check(len(f) == len(t), "MahalanobisDetector.fit", "x and y with the same number of "
              "samples", f"{len(f)} and {len(t)}")
        classes = np.unique(t)
        self.means = np.stack([f[t == c].mean(axis=0) for c in classes])
        centred = f - self.means[np.searchsorted(classes, t)]
        cov = centred.T @ centred / len(f)
        cov += self.reg * max(float(np.trace(cov)) / len(cov), 1e-12) * np.eye(len(cov))
        self.precision = np.linalg.pinv(cov, hermitian=True)
        return self

    def score(self, model, x):
        """``-min_c (f - mu_c)^T P (f - mu_c)`` per sample, ``(N,)``."""
        if self.means is None:
            raise RuntimeError("MahalanobisDetector.score: expected a fitted detector, got an "
                               "unfitted one; call fit(model, x_train, y_train) first")
        f = penultimate_features(model, x, self.layer).astype(np.float64)
        fp = f @ self.precision
        d = (np.sum(fp * f, axis=1)[:, None] - 2 * fp @ self.means.T
             + np.sum((self.means @ self.precision) * self.means, axis=1)[None, :])
        return -d.min(axis=1)


def ensemble_disagreement(member_probs):
    """Minus the mutual information of member (or MC) probabilities ``(M, N, C)``, ``(N,)``."""
    return -mutual_information(member_probs)


def ood_metrics(in_scores, out_scores) -> dict:
    """AUROC, AUPR-In and FPR at 95% TPR of in-distribution scores against OOD ones.

    Args:
        in_scores: ``(N_in,)`` scores of in-distribution samples (the positives).
        out_scores: ``(N_out,)`` scores of out-of-distribution samples.

    Returns:
        dict: ``auroc``, ``aupr``, ``fpr95`` (fraction of OOD samples scoring at least the
        threshold that keeps 95% of the in-distribution ones).
    """
    s_in = as_array(in_scores).astype(np.float64).reshape(-1)
    s_out = as_array(out_scores).astype(np.float64).reshape(-1)
    check(len(s_in) > 0 and len(s_out) > 0, "ood_metrics", "non-empty in and out scores",
          f"{len(s_in)} and {len(s_out)}")
    y = np.concatenate([np.ones(len(s_in), np.int64), np.zeros(len(s_out), np.int64)])
    s = np.concatenate([s_in, s_out])
    thr = np.quantile(s_in, 0.05, method="lower")  # 95% of the in-scores are >= thr
    return {"auroc": float(roc_auc(y, s)), "aupr": float(average_precision(y, s)),
            "fpr95": float(np.mean(s_out >= thr))}


def ood_report(model, in_data, out_data, scores=("msp", "energy", "odin", "mahalanobis",
                                                  "disagreement"), train_data=None,
               temperature: float = 1.0, odin_temperature: float = 1000.0,
               odin_epsilon: float = 0.0014) -> dict:
    """Every OOD score's AUROC, AUPR-In and FPR@95%TPR on one in/out pair.

    Args:
        model (Module or DeepEnsemble): the classifier.
        in_data: in-distribution test inputs ``(N, ...)``.
        out_data: out-of-distribution inputs ``(M, ...)``.
        scores (sequence of str): among ``"msp"``, ``"energy"``, ``"odin"``,
            ``"mahalanobis"`` (needs ``train_data``) and ``"disagreement"`` (needs a
            DeepEnsemble). Scores whose prerequisites are missing are skipped.
        train_data (tuple, optional): ``(x, y)`` to fit the Mahalanobis detector.
        temperature (float): temperature of the energy score. Default 1.
        odin_temperature (float), odin_epsilon (float): ODIN's settings. Defaults 1000, 0.0014.

    Returns:
        dict: score name -> ``{"auroc", "aupr", "fpr95"}``.

    Example:
        >>> ood_report(model, x_test_in, x_unseen_classes, train_data=(x_train, y_train))
        {'msp': {'auroc': 0.91, ...}, 'energy': {'auroc': 0.93, ...}, ...}
    """
    known = ("msp", "energy", "odin", "mahalanobis", "disagreement")
    for s in scores:
        check(s in known, "ood_report", f"scores among {known}", repr(s), cls=ValueError)
    ens = isinstance(model, DeepEnsemble)
    if ens:  # members' mean logits for the energy, their mean probabilities for the MSP
        rin, rout = model.predict(in_data), model.predict(out_data)
        pin, pout = softmax(rin), softmax(rout)
        zin, zout = rin.mean(0), rout.mean(0)
        msp_in, msp_out = pin.mean(0).max(1), pout.mean(0).max(1)
    else:
        zin, zout = batched_eval(model, in_data), batched_eval(model, out_data)
        msp_in, msp_out = max_softmax_score(zin), max_softmax_score(zout)
    res = {}
    for s in scores:
        if s == "msp":
            a, b = msp_in, msp_out
        elif s == "energy":
            a, b = energy_score(zin, temperature), energy_score(zout, temperature)
        elif s == "odin" and not ens:
            a = odin_score(model, in_data, odin_temperature, odin_epsilon)
            b = odin_score(model, out_data, odin_temperature, odin_epsilon)
        elif s == "mahalanobis" and not ens and train_data is not None:
            det = MahalanobisDetector().fit(model, *train_data)
            a, b = det.score(model, in_data), det.score(model, out_data)
        elif s == "disagreement" and ens:
            a, b = ensemble_disagreement(pin), ensemble_disagreement(pout)
        else:
            continue
        res[s] = ood_metrics(a, b)
    return res
