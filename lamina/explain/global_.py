"""Global explanations: permutation importance, partial dependence / ICE, a global surrogate
with its fidelity, and if-then rules extracted through a shallow tree.

Each function takes a model (a Module or any callable on a batch) and batches every
perturbed copy of the data through it.
"""

from __future__ import annotations

from .. import backend as B
from ..autograd import Tensor, no_grad
from ..errors import check
from ._core import as_array

np = B.np

__all__ = ["predict_fn", "permutation_importance", "partial_dependence", "GlobalSurrogate",
           "extract_rules", "Rule"]


def predict_fn(model, batch_size: int = 4096):
    """``X -> scores`` (an array) for a Module or callable: logits/outputs, no gradients."""
    def f(x):
        x = as_array(x)
        outs = []
        with no_grad():
            for s in range(0, x.shape[0], batch_size):
                o = model(Tensor(x[s:s + batch_size]))
                outs.append(as_array(o))
        return np.concatenate(outs)
    return f


def _labels(scores):
    return scores.argmax(1) if scores.ndim == 2 and scores.shape[1] > 1 else (
        (scores.reshape(-1) > 0).astype(np.int64))


def _accuracy(y, scores):
    return float((_labels(scores) == np.asarray(y)).mean())


def permutation_importance(model, X, y, metric=None, n_repeats: int = 5, features=None):
    """Drop of ``metric`` when one feature column is shuffled (Breiman 2001; scikit-learn's
    ``permutation_importance`` semantics), ``n_repeats`` shuffles per feature.

    Args:
        model (Module or callable): maps ``(N, D)`` (or ``(N, ...)``) to outputs.
        X (array): data, ``(N, D)`` or ``(N, ...)`` (features are the flattened entries).
        y (array): labels or targets.
        metric (callable or None): ``metric(y, scores) -> float``, higher is better; None is
            accuracy of the argmax. Default None.
        n_repeats (int): shuffles per feature. Default 5.
        features (sequence of int or None): flat feature indices to test; None all.

    Returns:
        dict with ``importances_mean`` ``(D,)``, ``importances_std`` and ``importances``
        ``(D, n_repeats)`` and ``baseline_score``.
    """
    X = as_array(X)
    flat = X.reshape(X.shape[0], -1)
    f = predict_fn(model)
    metric = metric or _accuracy
    base = metric(y, f(X))
    feats = range(flat.shape[1]) if features is None else list(features)
    rng = B.rng()
    imp = np.zeros((len(feats), n_repeats))
    for j, col in enumerate(feats):
        batch = np.repeat(flat[None], n_repeats, 0)
        for r in range(n_repeats):
            batch[r, :, col] = flat[rng.permutation(flat.shape[0]), col]
        scores = f(batch.reshape((-1,) + X.shape[1:])).reshape((n_repeats, X.shape[0], -1))
        imp[j] = [base - metric(y, s[:, 0] if s.shape[-1] == 1 else s) for s in scores]
    return {"importances_mean": imp.mean(1), "importances_std": imp.std(1),
            "importances": imp, "baseline_score": base}


def partial_dependence(model, X, feature: int, grid_resolution: int = 20, target=None,
                       kind: str = "average"):
    """Partial dependence (Friedman 2001) and ICE curves of one feature.

    Args:
        model (Module or callable): the model.
        X (array): ``(N, D)`` data.
        feature (int): column index.
        grid_resolution (int): grid points between the 5th and 95th percentiles. Default 20.
        target (int or None): output column (class); None for a single output.
        kind (str): ``average`` (PD), ``individual`` (ICE) or ``both``. Default ``average``.

    Returns:
        dict with ``grid`` ``(G,)`` and ``average`` ``(G,)`` and/or ``individual`` ``(N, G)``.
    """
    X = as_array(X)
    check(kind in ("average", "individual", "both"), "partial_dependence",
          "kind average, individual or both", repr(kind), cls=ValueError)
    lo, hi = np.percentile(X[:, feature], [5, 95])
    grid = np.linspace(lo, hi, grid_resolution).astype(X.dtype)
    batch = np.repeat(X[None], len(grid), 0)
    batch[:, :, feature] = grid[:, None]
    out = predict_fn(model)(batch.reshape(-1, X.shape[1]))
    out = out.reshape(len(grid), X.shape[0], -1)
    vals = out[..., 0 if target is None else target].T  # (N, G)
    res = {"grid": grid}
    if kind in ("average", "both"):
        res["average"] = vals.mean(0)
    if kind in ("individual", "both"):
        res["individual"] = vals
    return res


class GlobalSurrogate:
    """An interpretable scikit-learn model trained to imitate the network's predictions.

    Args:
        model (Module or callable): the network.
        estimator: an unfitted scikit-learn classifier (e.g.
            ``DecisionTreeClassifier(max_depth=4)``); None is that tree.

    Attributes:
        estimator_: the fitted surrogate.

    Example:
        >>> s = GlobalSurrogate(net).fit(X_train)
        >>> s.fidelity(X_test)          # share of test rows where tree and net agree
    """

    def __init__(self, model, estimator=None):
        self.model = model
        self.estimator = estimator

    def fit(self, X, n_synthetic: int = 0, noise: float = 0.2):
        """Fit the surrogate on ``(X, net's predicted labels)``.

        Args:
            X (array): ``(N, D)`` rows (no labels needed: the net labels them).
            n_synthetic (int): jittered copies of X added (each feature plus Gaussian noise
                of ``noise`` times its std), labelled by the net too, so the tree sees the
                net's boundary where data are sparse (as TREPAN's generated samples do).
                Default 0.
            noise (float): jitter scale. Default 0.2.

        Returns:
            self.
        """
        try:
            from sklearn.base import clone
            from sklearn.tree import DecisionTreeClassifier
        except ImportError as e:  # pragma: no cover
            raise ImportError("GlobalSurrogate needs scikit-learn: pip install scikit-learn") \
                from e
        est = DecisionTreeClassifier(max_depth=4, random_state=0) if self.estimator is None \
            else clone(self.estimator)
        X = as_array(X)
        if n_synthetic:
            sd = X.std(0, keepdims=True)
            rng = B.rng()
            X = np.concatenate([X] + [(X + rng.normal(0.0, noise, X.shape) * sd).astype(X.dtype)
                                      for _ in range(int(n_synthetic))])
        self.estimator_ = est.fit(X.reshape(X.shape[0], -1), self.net_labels(X))
        return self

    def net_labels(self, X):
        """The network's predicted labels for ``X``."""
        return _labels(predict_fn(self.model)(as_array(X)))

    def predict(self, X):
        """The surrogate's labels."""
        X = as_array(X)
        return self.estimator_.predict(X.reshape(X.shape[0], -1))

    def fidelity(self, X) -> float:
        """Share of rows where surrogate and network agree (held-out data, ideally)."""
        return float((self.predict(X) == self.net_labels(X)).mean())


class Rule:
    """One if-then rule: ``conditions`` (feature, op, threshold), predicted class, coverage
    (share of rows it covers), precision (share of covered rows whose true label is the
    class) and agreement (share of covered rows where the net predicts the class)."""

    def __init__(self, conditions, label, coverage=0.0, precision=float("nan"),
                 agreement=0.0):
        self.conditions, self.label = conditions, label
        self.coverage, self.precision, self.agreement = coverage, precision, agreement

    def text(self, feature_names=None, class_names=None) -> str:
        """``IF a <= 1.2 AND b > 0.3 THEN class`` with the rule's statistics."""
        name = (lambda j: feature_names[j]) if feature_names is not None else (
            lambda j: f"x[{j}]")
        cond = " AND ".join(f"{name(j)} {op} {t:.4g}" for j, op, t in self.conditions)
        lab = class_names[self.label] if class_names is not None else self.label
        return (f"IF {cond or 'TRUE'} THEN {lab}  (coverage {self.coverage:.3f}, precision "
                f"{self.precision:.3f}, agreement {self.agreement:.3f})")

    def covers(self, X):
        ok = np.ones(X.shape[0], bool)
        for j, op, t in self.conditions:
            ok &= (X[:, j] <= t) if op == "<=" else (X[:, j] > t)
        return ok

    __repr__ = text


def extract_rules(model, X, max_depth: int = 3, X_eval=None, y_eval=None,
                  feature_names=None, class_names=None, min_samples_leaf: int = 5,
                  n_synthetic: int = 0):
    """If-then rules that imitate the network: the leaves of a shallow decision tree fitted
    on the network's labels (a pedagogical extraction, Craven & Shavlik 1996).

    Args:
        model (Module or callable): the network.
        X (array): ``(N, D)`` data the tree is fitted on.
        max_depth (int): conditions per rule at most. Default 3.
        X_eval (array or None): held-out rows for the statistics; None uses ``X``.
        y_eval (array or None): true labels of ``X_eval`` for the precision. Default None.
        feature_names, class_names (sequence or None): names for :meth:`Rule.text`.
        min_samples_leaf (int): tree leaf size. Default 5.
        n_synthetic (int): jittered copies for the tree (see :meth:`GlobalSurrogate.fit`).

    Returns:
        dict with ``rules`` (list of :class:`Rule`, by coverage), ``agreement`` (share of
        ``X_eval`` where the rules' class equals the net's), ``text`` (one rule a line) and
        ``surrogate`` (the :class:`GlobalSurrogate`).
    """
    from sklearn.tree import DecisionTreeClassifier
    sur = GlobalSurrogate(model, DecisionTreeClassifier(
        max_depth=max_depth, min_samples_leaf=min_samples_leaf, random_state=0)).fit(
            X, n_synthetic)
    tree = sur.estimator_.tree_
    classes = sur.estimator_.classes_
    rules = []

    def walk(node, conds):
        if tree.children_left[node] == -1:
            rules.append(Rule(list(conds), int(classes[tree.value[node][0].argmax()])))
            return
        j, t = int(tree.feature[node]), float(tree.threshold[node])
        walk(tree.children_left[node], conds + [(j, "<=", t)])
        walk(tree.children_right[node], conds + [(j, ">", t)])

    walk(0, [])
    Xe = as_array(X if X_eval is None else X_eval)
    Xe = Xe.reshape(Xe.shape[0], -1)
    net = sur.net_labels(Xe)
    for r in rules:
        c = r.covers(Xe)
        r.coverage = float(c.mean())
        r.agreement = float((net[c] == r.label).mean()) if c.any() else 0.0
        if y_eval is not None and c.any():
            r.precision = float((np.asarray(y_eval)[c] == r.label).mean())
    rules.sort(key=lambda r: -r.coverage)
    agreement = float((sur.predict(Xe) == net).mean())
    text = "\n".join(r.text(feature_names, class_names) for r in rules)
    return {"rules": rules, "agreement": agreement, "text": text, "surrogate": sur}
