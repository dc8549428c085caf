"""Persistence of a fitted ``NeuralNet``: pickling through ``state_dict`` arrays, and
``save_params``/``load_params`` through :mod:`lamina.io` (safetensors + JSON, never pickle)."""

from __future__ import annotations

from sklearn.utils.validation import check_is_fitted

from .. import backend as B
from ._training import host, seeded

__all__ = ["PersistenceMixin"]

np = B.np


class PersistenceMixin:
    """``__getstate__``/``__setstate__``, ``save_params`` and ``load_params`` for
    :class:`~lamina.sklearn.net.NeuralNet` (which provides ``initialize``, ``module_``,
    ``history_``, ``n_epochs_`` and ``_init_shape``)."""

    def __getstate__(self):
        state = self.__dict__.copy()
        module = state.pop("module_", None)
        for k in ("optimizer_", "scheduler_", "trainer_", "criterion_"):
            state.pop(k, None)
        if module is not None:
            state["_module_state"] = {k: host(v).copy() for k, v in module.state_dict().items()}
        return state

    def __setstate__(self, state):
        arrays = state.pop("_module_state", None)
        self.__dict__.update(state)
        if arrays is not None:
            with seeded(0):  # the fresh weights are overwritten at once
                self.initialize(*self._init_shape)
            self.module_.load_state_dict(arrays)
            self.trainer_.history = self.history_
            self.trainer_.epoch = self.n_epochs_

    def save_params(self, path) -> None:
        """Write the fitted weights, sizes, classes and history to ``path`` with
        :func:`lamina.io.save` (safetensors + JSON, never pickle).

        Args:
            path (str or PathLike): destination file (``.safetensors`` by convention).
        """
        from ..io import save
        check_is_fitted(self, "module_")
        n_in, n_out, counts = self._init_shape
        meta = {"n_features": n_in, "n_outputs": n_out, "epochs": self.n_epochs_,
                "class_counts": None if counts is None else [int(c) for c in counts],
                "classes": None if not hasattr(self, "classes_") else self.classes_.tolist(),
                "feature_names": (None if not hasattr(self, "feature_names_in_")
                                  else [str(f) for f in self.feature_names_in_])}
        save({"module": dict(self.module_.state_dict()), "meta": meta,
              "history": self.history_.state_dict()}, path)

    def load_params(self, path):
        """Restore :meth:`save_params` into this (unfitted or fitted) estimator: the module is
        built from the saved sizes with this estimator's parameters, then loaded.

        Args:
            path (str or PathLike): a file written by :meth:`save_params`.

        Returns:
            self.
        """
        from ..io import load
        from ..train import History
        tree = load(path)
        meta = tree["meta"]
        self.initialize(meta["n_features"], meta["n_outputs"], meta["class_counts"])
        self.module_.load_state_dict(tree["module"])
        self.n_features_in_ = int(meta["n_features"])
        if meta["classes"] is not None:
            self.classes_ = np.asarray(meta["classes"])
        if meta["feature_names"] is not None:
            self.feature_names_in_ = np.asarray(meta["feature_names"], dtype=object)
        self.history_ = History()
        self.history_.load_state_dict(tree["history"])
        self.n_epochs_ = int(meta["epochs"])
        self.trainer_.history, self.trainer_.epoch = self.history_, self.n_epochs_
        return self
