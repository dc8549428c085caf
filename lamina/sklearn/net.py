"""``NeuralNet``: the scikit-learn estimator around a lamina module (skorch's design).

The estimator's parameters are plain values (a module name or class, ``lr``, ``max_epochs``...);
``fit`` turns them into a module, an optimizer, a criterion and a :class:`~lamina.train.Trainer`
and trains. Double-underscore parameters route to constructors (``module__hidden=(128,)``,
``optimizer__weight_decay=1e-4``, ``criterion__gamma=2.0``, ``scheduler__T_0=10``), so
``GridSearchCV(net, {"module__hidden": [(64,), (128,)], "lr": [1e-3, 1e-2]})`` works.

Pickling a fitted estimator stores its parameters and the module's ``state_dict`` arrays (the
module, optimizer and trainer objects are dropped and the module is rebuilt on unpickling);
``save_params``/``load_params`` write and read the weights with :mod:`lamina.io` (safetensors,
never pickle).

Layout: this file is the estimator (parameters, validation, ``fit``, ``forward``);
``_build`` turns parameters into objects, ``_training`` holds the seeding, the validation
split and the weighted batch step, ``_persist`` the pickling and ``save_params``.
"""

from __future__ import annotations

from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from .. import backend as B
from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor
from ..data import DataLoader, TensorDataset
from ..errors import check
from ..nn import Module
from ..train import Trainer
from . import _build
from ._persist import PersistenceMixin
from ._training import host, seeded, split_train_valid, weighted_step

__all__ = ["NeuralNet", "seeded"]  # seeded lives in _training; kept importable from here

np = B.np


class NeuralNet(PersistenceMixin, BaseEstimator):
    """Base of the wrappers; use :class:`NeuralNetClassifier`, :class:`NeuralNetRegressor` or
    :class:`NeuralNetBinaryClassifier`.

    Args:
        module: a zoo name (``"mlp"``, default: ``MLP(n_features, hidden=(64,), n_outputs)``),
            a ``lamina.nn.Module`` class or factory (its ``in_features``/``input_size`` and
            ``out_features``/``num_classes`` arguments are filled in from the data), or a
            Module instance (deep-copied at each fresh ``fit``).
        criterion: the loss; a name, a loss class (built with ``criterion__*``) or function
            ``f(outputs, targets, reduction=...)``. Default None (the estimator's own).
        optimizer: a ``lamina.optim`` name or class. Default ``"adam"``.
        lr (float): learning rate. Default 0.01.
        max_epochs (int): epochs per ``fit``. Default 20.
        batch_size (int): Default 32.
        callbacks (list, optional): ``lamina.train`` callbacks (``EarlyStopping``...).
        train_split: None (no validation, default), a validation fraction (stratified for
            classifiers), a scikit-learn splitter (its first fold) or a callable
            ``(X, y) -> (train_idx, valid_idx)``; validation adds ``val_loss`` to ``history_``.
        scheduler: an lr scheduler name or class stepped each epoch (``scheduler__*``).
        device (str): ``"cpu"`` (default) or ``"cuda"``.
        random_state (int, optional): seeds initialization, shuffling and the split; the
            global ``lamina`` generator is restored afterwards. Default None.
        verbose (int): the Trainer's verbosity. Default 0.
        warm_start (bool): a fitted estimator's ``fit`` continues training. Default False.
        **kwargs: ``module__*``, ``optimizer__*``, ``criterion__*``, ``scheduler__*``.

    Attributes:
        module_ (Module): the fitted network.
        optimizer_ (Optimizer): its optimizer.
        criterion_: the loss built from ``criterion``.
        trainer_ (Trainer): the loop that trained it.
        history_ (History): per-epoch ``loss`` (and ``val_loss``, ``val_accuracy``...).
        n_features_in_ (int): input features seen at fit.
        feature_names_in_ (array): column names (DataFrame input only).
        n_epochs_ (int): epochs trained in all.
    """

    _default_criterion = "mse_loss"
    _metrics: tuple = ()

    def __init__(self, module="mlp", *, criterion=None, optimizer="adam", lr=0.01,
                 max_epochs=20, batch_size=32, callbacks=None, train_split=None, scheduler=None,
                 device="cpu", random_state=None, verbose=0, warm_start=False, **kwargs):
        self.module, self.criterion, self.optimizer, self.lr = module, criterion, optimizer, lr
        self.max_epochs, self.batch_size, self.callbacks = max_epochs, batch_size, callbacks
        self.train_split, self.scheduler, self.device = train_split, scheduler, device
        self.random_state, self.verbose, self.warm_start = random_state, verbose, warm_start
        self._set_routed(kwargs, "__init__")

    # ------------------------------------------------------------------ parameters
    def _set_routed(self, kwargs: dict, where: str) -> None:
        for k, v in kwargs.items():
            if "__" not in k or k.split("__", 1)[0] not in _build.ROUTED:
                if where == "__init__":  # scikit-learn wants __init__ never to raise: at fit
                    self._bad_kwargs = [*getattr(self, "_bad_kwargs", []), k]
                    continue
                raise TypeError(f"{type(self).__name__}.{where}: got an unexpected keyword "
                                f"argument {k!r}; routed arguments start with "
                                f"{', '.join(p + '__' for p in _build.ROUTED)}")
            setattr(self, k, v)

    def get_params(self, deep=True):
        """The constructor's parameters plus every routed ``prefix__name`` one."""
        params = super().get_params(deep=deep)
        params.update({k: v for k, v in vars(self).items()
                       if "__" in k and k.split("__", 1)[0] in _build.ROUTED})
        return params

    def set_params(self, **params):
        """Set parameters; ``module__*``/``optimizer__*``/``criterion__*``/``scheduler__*``
        keys are stored as given (used at the next ``fit``)."""
        routed = {k: v for k, v in params.items()
                  if "__" in k and k.split("__", 1)[0] in _build.ROUTED}
        self._set_routed(routed, "set_params")
        rest = {k: v for k, v in params.items() if k not in routed}
        if rest:
            super().set_params(**rest)
        return self

    # ------------------------------------------------------------------ data
    def _validate(self, X, y=None, reset=True):
        kw = {"dtype": [np.float32, np.float64], "allow_nd": True}
        if y is None:
            X = validate_data(self, X, reset=reset, **kw)
            return X.astype(B.get_default_dtype(), copy=False), None
        X, y = validate_data(self, X, y, reset=reset, multi_output=self._multi_output(),
                             y_numeric=self._y_numeric(), **kw)
        return X.astype(B.get_default_dtype(), copy=False), y

    def _multi_output(self) -> bool:
        return False

    def _y_numeric(self) -> bool:
        return False

    def _check_hparams(self) -> None:
        name = type(self).__name__
        bad = getattr(self, "_bad_kwargs", None)
        if bad:
            raise TypeError(f"{name}: got unexpected keyword arguments {bad}; routed arguments "
                            f"start with {', '.join(p + '__' for p in _build.ROUTED)}")
        check(isinstance(self.max_epochs, (int, np.integer)) and self.max_epochs >= 1, name,
              "an integer max_epochs >= 1", repr(self.max_epochs))
        check(isinstance(self.batch_size, (int, np.integer)) and self.batch_size >= 1, name,
              "an integer batch_size >= 1", repr(self.batch_size))
        check(isinstance(self.lr, (int, float, np.floating)) and self.lr > 0, name,
              "a positive lr", repr(self.lr))

    def _seed(self):
        if self.random_state is None:
            return None
        if isinstance(self.random_state, (int, np.integer)):
            return int(self.random_state)
        return int(check_random_state(self.random_state).randint(0, 2**31 - 1))

    # ------------------------------------------------------------------ subclass hooks
    def _prepare_y(self, y, fitting_first: bool):
        """Targets as the criterion wants them (overridden by the classifiers)."""
        y = np.asarray(y, dtype=B.get_default_dtype())
        return y.reshape(len(y), -1)

    def _n_outputs(self, y_enc) -> int:
        return int(y_enc.shape[1])

    def _sample_weight(self, y_enc, sample_weight):
        return sample_weight

    def _class_counts(self, y_enc):
        return None

    def _make_loader(self, X, y_enc, w):
        return DataLoader(TensorDataset(X, y_enc, w), batch_size=int(self.batch_size),
                          shuffle=True)

    # ------------------------------------------------------------------ fitting
    def initialize(self, n_features: int, n_outputs: int, class_counts=None):
        """Build ``module_``, ``criterion_``, ``optimizer_``, ``scheduler_`` and ``trainer_``
        for ``n_features`` inputs and ``n_outputs`` outputs (``fit`` calls this)."""
        name = type(self).__name__
        self.module_ = _build.build_module(self.module, _build.routed_kwargs(self, "module"),
                                           n_features, n_outputs, name)
        crit = self.criterion if self.criterion is not None else self._default_criterion
        self.criterion_ = _build.build_criterion(crit, _build.routed_kwargs(self, "criterion"),
                                                 class_counts, name)
        if self.device != "cpu":
            self.module_.to(self.device)
        self.optimizer_ = _build.build_optimizer(self.optimizer, self.module_.parameters(),
                                                 float(self.lr),
                                                 _build.routed_kwargs(self, "optimizer"), name)
        self.scheduler_ = _build.build_scheduler(self.scheduler, self.optimizer_,
                                                 _build.routed_kwargs(self, "scheduler"), name)
        self.trainer_ = Trainer(self.module_, self.optimizer_, loss_fn=self._mean_loss,
                                metrics=self._metrics, scheduler=self.scheduler_,
                                step_fn=weighted_step, device=self.device)
        self._init_shape = (int(n_features), int(n_outputs), class_counts)
        return self

    def _per_sample(self, out, y):
        crit = self.criterion_
        if isinstance(crit, Module):
            red = getattr(crit, "reduction", None)
            if red is not None:
                crit.reduction = "none"
            per = crit(out, y)
        else:
            per = crit(out, y, reduction="none")
        return per.reshape(per.shape[0], -1).mean(axis=1) if per.ndim > 1 else per

    def _mean_loss(self, out, y):
        return self._per_sample(out, y).mean()

    def fit(self, X, y, sample_weight=None, **fit_params):
        """Train for ``max_epochs`` epochs (from scratch unless ``warm_start`` and fitted).

        Args:
            X: array-like ``(n_samples, n_features)`` (or ``(n_samples, C, ...)`` for
                convolutional modules). DataFrames set ``feature_names_in_``.
            y: targets ``(n_samples,)`` (or ``(n_samples, n_outputs)`` for regression).
            sample_weight: ``(n_samples,)`` non-negative weights, default None (all ones);
                each sample's loss is multiplied by its weight (normalized to mean 1).
            **fit_params: ``epochs`` overrides ``max_epochs`` for this call.

        Returns:
            self.
        """
        warm = bool(self.warm_start) and hasattr(self, "module_")
        return self._fit(X, y, sample_weight, fit_params.pop("epochs", None), warm, None)

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One more epoch on ``(X, y)`` (initializing on the first call, as ``MLPClassifier``).

        Args:
            X: as :meth:`fit`.
            y: as :meth:`fit`.
            sample_weight: as :meth:`fit`.
            classes: every class label (classifiers; needed on the first call when one batch
                may miss classes). Default None.

        Returns:
            self.
        """
        return self._fit(X, y, sample_weight, 1, hasattr(self, "module_"), classes)

    def _fit(self, X, y, sample_weight, epochs, warm: bool, classes):
        self._check_hparams()
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y "
                             "is None.")
        X, y = self._validate(X, y, reset=not warm)
        self._fit_classes = classes
        y_enc = self._prepare_y(y, not warm)
        sw = _check_sample_weight(sample_weight, X, dtype=np.float64)
        check(bool(np.all(sw >= 0)), type(self).__name__, "non-negative sample_weight",
              f"min {sw.min()}")
        w = self._sample_weight(y_enc, sw)
        w = (w / max(float(w.mean()), 1e-12)).astype(B.get_default_dtype())
        seed = self._seed()
        with seeded(seed):
            if not warm:
                self.initialize(X.shape[1], self._n_outputs(y_enc), self._class_counts(y_enc))
            train, val = self._split(X, y_enc, w)
            loader = self._make_loader(*train)
            trainer = self.trainer_
            start = trainer.epoch if warm else 0
            n_epochs = int(epochs or self.max_epochs)
            validation = None if val is None else (val[0], val[1])
            trainer.fit(loader, epochs=start + n_epochs, initial_epoch=start,
                        validation=validation, callbacks=list(self.callbacks or ()),
                        verbose=int(self.verbose), batch_size=int(self.batch_size))
        self.history_ = trainer.history
        self.n_epochs_ = trainer.epoch
        return self

    def _split(self, X, y_enc, w):
        return split_train_valid(self.train_split, X, y_enc, w, type(self).__name__)

    # ------------------------------------------------------------------ inference
    def forward(self, X):
        """Raw module outputs for ``X`` (eval mode, no gradients), as a host array.

        Args:
            X: array-like, validated as in ``fit`` (same number of features).

        Returns:
            array ``(n_samples, n_outputs)``.
        """
        check_is_fitted(self, "module_")
        X, _ = self._validate(X, reset=False)
        model = self.module_
        was = model.training
        model.eval()
        outs = []
        step = max(int(self.batch_size), 1024)
        try:
            with no_grad():
                for i in range(0, len(X), step):
                    xb = Tensor(X[i:i + step])
                    if self.device != "cpu":
                        xb = xb.to(self.device)
                    outs.append(host(model(xb)))
        finally:
            model.train(was)
        out = np.concatenate(outs) if outs else np.zeros((0, self._init_shape[1]), X.dtype)
        return out.reshape(len(X), -1)
