"""``NeuralNetClassifier``, ``NeuralNetBinaryClassifier`` and ``NeuralNetRegressor``."""

from __future__ import annotations

from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets, type_of_target

from .. import backend as B
from ..data import DataLoader, StratifiedBatchSampler, TensorDataset
from ..errors import check, op_error
from .imbalance import BalancedBatchSampler
from .net import NeuralNet

__all__ = ["NeuralNetClassifier", "NeuralNetBinaryClassifier", "NeuralNetRegressor"]

np = B.np



class NeuralNetClassifier(ClassifierMixin, NeuralNet):
    """A lamina network as a scikit-learn classifier (softmax outputs, cross-entropy).

    Args:
        **params: ``module``, ``criterion``, ``optimizer``, ``lr``, ``max_epochs``,
            ``batch_size``, ``callbacks``, ``train_split``, ``scheduler``, ``device``,
            ``random_state``, ``verbose``, ``warm_start`` and routed ``module__*`` keys: see
            :class:`~lamina.sklearn.net.NeuralNet` (criterion default: ``cross_entropy``).
        class_weight: None, ``"balanced"`` (n / (C * n_c)) or ``{label: weight}``; multiplies
            each sample's loss (and ``sample_weight``). Default None.
        sampling: None (shuffled batches, default), ``"balanced"`` (each batch draws equally
            from every class, with replacement) or ``"stratified"`` (class proportions kept).

    Attributes:
        classes_ (array): the labels, in the order of ``predict_proba``'s columns.

    Example:
        >>> clf = NeuralNetClassifier(module__hidden=(128,), max_epochs=30, random_state=0)
        >>> clf.fit(X_train, y_train).score(X_test, y_test)
    """

    _default_criterion = "cross_entropy"
    _metrics = ("accuracy",)

    def __init__(self, module="mlp", *, criterion=None, optimizer="adam", lr=0.01,
                 max_epochs=20, batch_size=32, callbacks=None, train_split=None, scheduler=None,
                 device="cpu", random_state=None, verbose=0, warm_start=False,
                 class_weight=None, sampling=None, **kwargs):
        super().__init__(module, criterion=criterion, optimizer=optimizer, lr=lr,
                         max_epochs=max_epochs, batch_size=batch_size, callbacks=callbacks,
                         train_split=train_split, scheduler=scheduler, device=device,
                         random_state=random_state, verbose=verbose, warm_start=warm_start,
                         **kwargs)
        self.class_weight, self.sampling = class_weight, sampling

    _min_classes = 2

    def _prepare_y(self, y, fitting_first: bool):
        check_classification_targets(y)
        name = type(self).__name__
        if fitting_first:
            labels = self._fit_classes if self._fit_classes is not None else y
            self.classes_ = np.unique(np.asarray(labels))
            if len(self.classes_) < self._min_classes:
                raise ValueError(f"{name}: expected at least 2 classes in y, got 1 class "
                                 f"({self.classes_.tolist()[0]!r})")
        idx = np.searchsorted(self.classes_, y)
        idx = np.clip(idx, 0, len(self.classes_) - 1)
        bad = self.classes_[idx] != y
        if bad.any():
            raise op_error(name, f"labels among classes_ {self.classes_.tolist()}",
                           f"unseen labels {np.unique(y[bad]).tolist()}")
        return idx.astype(np.int64)

    def _n_outputs(self, y_enc) -> int:
        return len(self.classes_)

    def _class_counts(self, y_enc):
        return np.bincount(y_enc, minlength=len(self.classes_)).tolist()

    def _sample_weight(self, y_enc, sample_weight):
        cw = self.class_weight
        if cw is None:
            return sample_weight
        if isinstance(cw, str) and cw != "balanced":
            raise op_error(type(self).__name__, "class_weight None, 'balanced' or a dict",
                           repr(cw))
        present = np.unique(y_enc)
        table = np.ones(len(self.classes_))
        if cw == "balanced":
            table[present] = compute_class_weight("balanced", classes=present, y=y_enc)
        else:
            for label, weight in dict(cw).items():
                pos = np.flatnonzero(self.classes_ == label)
                if pos.size:
                    table[pos[0]] = float(weight)
        return sample_weight * table[y_enc]

    def _make_loader(self, X, y_enc, w):
        if self.sampling is None:
            return super()._make_loader(X, y_enc, w)
        ds = TensorDataset(X, y_enc, w)
        if self.sampling == "balanced":
            return DataLoader(ds, batch_sampler=BalancedBatchSampler(y_enc, int(self.batch_size)))
        if self.sampling == "stratified":
            return DataLoader(ds, batch_sampler=StratifiedBatchSampler(y_enc,
                                                                       int(self.batch_size)))
        raise op_error(type(self).__name__, "sampling None, 'balanced' or 'stratified'",
                       repr(self.sampling))

    def predict_proba(self, X):
        """Class probabilities ``(n_samples, n_classes)`` (softmax of the logits)."""
        z = self.forward(X)
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def decision_function(self, X):
        """Logits ``(n_samples, n_classes)``; for two classes, ``z_1 - z_0`` ``(n_samples,)``
        (positive means ``classes_[1]``)."""
        z = self.forward(X)
        return z[:, 1] - z[:, 0] if z.shape[1] == 2 else z

    def predict(self, X):
        """The most probable label per sample, ``(n_samples,)``."""
        z = self.forward(X)
        return self.classes_[z.argmax(axis=1)]


class NeuralNetBinaryClassifier(NeuralNetClassifier):
    """Two classes, one logit, ``binary_cross_entropy_with_logits``, a decision ``threshold``.

    Args:
        **params: ``module``, ``criterion``, ``optimizer``, ``lr``, ``max_epochs``,
            ``batch_size``, ``callbacks``, ``train_split``, ``scheduler``, ``device``,
            ``random_state``, ``verbose``, ``warm_start`` and routed ``module__*`` keys: see
            :class:`~lamina.sklearn.net.NeuralNet`.
        class_weight: as :class:`NeuralNetClassifier`.
        sampling: as :class:`NeuralNetClassifier`.
        threshold (float): ``predict`` gives ``classes_[1]`` where ``P(classes_[1]) >=
            threshold``. Default 0.5; tune it with :func:`lamina.sklearn.tune_threshold`.

    Example:
        >>> clf = NeuralNetBinaryClassifier(threshold=0.3).fit(X, y)
        >>> clf.predict_proba(X)[:, 1]
    """

    _default_criterion = "binary_cross_entropy_with_logits"
    _metrics = ()

    def __init__(self, module="mlp", *, criterion=None, optimizer="adam", lr=0.01,
                 max_epochs=20, batch_size=32, callbacks=None, train_split=None, scheduler=None,
                 device="cpu", random_state=None, verbose=0, warm_start=False,
                 class_weight=None, sampling=None, threshold=0.5, **kwargs):
        super().__init__(module, criterion=criterion, optimizer=optimizer, lr=lr,
                         max_epochs=max_epochs, batch_size=batch_size, callbacks=callbacks,
                         train_split=train_split, scheduler=scheduler, device=device,
                         random_state=random_state, verbose=verbose, warm_start=warm_start,
                         class_weight=class_weight, sampling=sampling, **kwargs)
        self.threshold = threshold

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags

    def _prepare_y(self, y, fitting_first: bool):
        y_type = type_of_target(y, input_name="y", raise_unknown=True)
        if y_type not in ("binary", "unknown") and not (y_type == "multiclass"
                                                         and len(np.unique(y)) <= 2):
            raise ValueError("Only binary classification is supported. The type of the target "
                             f"is {y_type}.")
        idx = super()._prepare_y(y, fitting_first)
        if len(self.classes_) != 2:
            raise op_error(type(self).__name__, "exactly 2 classes",
                           f"{len(self.classes_)} classes {self.classes_.tolist()}",
                           "use NeuralNetClassifier for more than two")
        return idx

    def _n_outputs(self, y_enc) -> int:
        return 1

    def _per_sample(self, out, y):
        return super()._per_sample(out.reshape(-1), y.astype(out.dtype))

    def decision_function(self, X):
        """The logit of ``classes_[1]``, ``(n_samples,)``."""
        return self.forward(X)[:, 0]

    def predict_proba(self, X):
        """``(n_samples, 2)``: ``[1 - p, p]`` with ``p = sigmoid(logit)``."""
        p = 1.0 / (1.0 + np.exp(-self.decision_function(X)))
        return np.stack([1.0 - p, p], axis=1)

    def predict(self, X):
        """``classes_[1]`` where ``P(classes_[1]) >= threshold``, else ``classes_[0]``."""
        check(0.0 <= float(self.threshold) <= 1.0, type(self).__name__,
              "threshold in [0, 1]", repr(self.threshold))
        p = self.predict_proba(X)[:, 1]
        return self.classes_[(p >= self.threshold).astype(int)]


class NeuralNetRegressor(RegressorMixin, NeuralNet):
    """A lamina network as a scikit-learn regressor (linear outputs, mean squared error).

    Args:
        **params: ``module``, ``criterion``, ``optimizer``, ``lr``, ``max_epochs``,
            ``batch_size``, ``callbacks``, ``train_split``, ``scheduler``, ``device``,
            ``random_state``, ``verbose``, ``warm_start`` and routed ``module__*`` keys: see
            :class:`~lamina.sklearn.net.NeuralNet` (criterion default: ``mse_loss``).

    ``y`` of shape ``(n_samples,)`` gives ``predict`` of that shape; ``(n_samples, k)`` trains
    ``k`` outputs.

    Example:
        >>> reg = NeuralNetRegressor(module__hidden=(64, 64), max_epochs=50).fit(X, y)
        >>> reg.score(X_test, y_test)        # R^2
    """

    _default_criterion = "mse_loss"

    def __init__(self, module="mlp", *, criterion=None, optimizer="adam", lr=0.01,
                 max_epochs=20, batch_size=32, callbacks=None, train_split=None, scheduler=None,
                 device="cpu", random_state=None, verbose=0, warm_start=False, **kwargs):
        super().__init__(module, criterion=criterion, optimizer=optimizer, lr=lr,
                         max_epochs=max_epochs, batch_size=batch_size, callbacks=callbacks,
                         train_split=train_split, scheduler=scheduler, device=device,
                         random_state=random_state, verbose=verbose, warm_start=warm_start,
                         **kwargs)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags

    def _multi_output(self) -> bool:
        return True

    def _y_numeric(self) -> bool:
        return True

    def _prepare_y(self, y, fitting_first: bool):
        y = np.asarray(y)
        if fitting_first:
            self._y_1d = y.ndim == 1
        return super()._prepare_y(y, fitting_first)

    def predict(self, X):
        """Predictions ``(n_samples,)`` (or ``(n_samples, k)`` when fitted on 2-D ``y``)."""
        out = self.forward(X).astype(np.float64)  # scikit-learn's regressors give float64
        return out[:, 0] if self._y_1d else out
