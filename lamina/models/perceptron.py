"""Rosenblatt's perceptron (seed Q3), trained with the perceptron learning rule, not backprop.

For each misclassified sample ``(x, y)`` with ``y`` in {0, 1} and prediction
``step(w . x + b)``, the rule adds ``lr * (y - y_hat) * x`` to ``w`` and ``lr * (y - y_hat)`` to
``b``. The perceptron convergence theorem guarantees a separating hyperplane after finitely many
updates when the classes are linearly separable; otherwise (XOR) it cycles forever, which is why
``fit`` stops after ``max_epochs`` and warns.
"""

from __future__ import annotations

import warnings

from .. import backend as B
from ..autograd.tensor import Tensor
from ..errors import op_error
from ..nn.module import Module, Parameter

__all__ = ["Perceptron", "ConvergenceWarning"]


class ConvergenceWarning(UserWarning):
    """A training procedure stopped before reaching its convergence criterion."""


def _host(a):
    return B.to_host(a.array if isinstance(a, Tensor) else a)


class Perceptron(Module):
    """Single-layer perceptron with a step activation, for binary labels in {0, 1}.

    Args:
        n_features (int): input dimension.
        lr (float): learning rate of the perceptron rule. Default 1.0.
        max_epochs (int): passes over the data before giving up. Default 100.
        shuffle (bool): visit samples in a new random order (``lamina.backend.rng()``) each
            epoch. Default False (the classic fixed order).

    Attributes:
        weight (Parameter): (n_features,), starts at 0 (no gradient: not trained by backprop).
        bias (Parameter): scalar, starts at 0.
        errors_ (list[int]): misclassified samples (= updates) in each epoch.
        converged_ (bool): True once an epoch made no error.
        n_epochs_ (int): epochs run by the last ``fit``.

    Shape:
        X (N, n_features), y (N,) -> predictions (N,).

    Example:
        >>> p = Perceptron(4).fit(X, y)
        >>> p.converged_, (p.predict(X) == y).mean()
        (True, 1.0)
    """

    def __init__(self, n_features: int, lr: float = 1.0, max_epochs: int = 100,
                 shuffle: bool = False):
        super().__init__()
        if n_features <= 0 or lr <= 0 or max_epochs <= 0:
            raise ValueError(f"Perceptron: expected positive n_features, lr and max_epochs, got "
                             f"{n_features}, {lr}, {max_epochs}")
        self.n_features, self.lr, self.max_epochs, self.shuffle = (n_features, lr, max_epochs,
                                                                   shuffle)
        dt = B.get_default_dtype()
        self.weight = Parameter(B.np.zeros(n_features, dtype=dt), requires_grad=False)
        self.bias = Parameter(B.np.zeros((), dtype=dt), requires_grad=False)
        self.errors_: list = []
        self.converged_ = False
        self.n_epochs_ = 0

    def _check_X(self, X):
        X = _host(X).astype(self.weight.dtype, copy=False)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise op_error("Perceptron", f"X of shape (N, {self.n_features})",
                           f"{tuple(X.shape)}")
        return X

    def fit(self, X, y) -> "Perceptron":
        """Run the perceptron rule until an epoch makes no mistake or ``max_epochs`` pass.

        Args:
            X (array | Tensor): (N, n_features) inputs.
            y (array | Tensor): (N,) labels in {0, 1}.

        Returns:
            self. Warns ``ConvergenceWarning`` (and sets ``converged_ = False``) when the
            data are probably not linearly separable.
        """
        np = B.np
        X = self._check_X(X)
        y = _host(y).reshape(-1)
        if y.shape[0] != X.shape[0] or not np.isin(y, (0, 1)).all():
            raise op_error("Perceptron.fit", f"labels y of shape ({X.shape[0]},) with values in "
                           "{0, 1}", f"shape {tuple(y.shape)}, values {np.unique(y)[:5]}")
        w, b = self.weight.array, self.bias.array
        lr = w.dtype.type(self.lr)
        y = y.astype(w.dtype)
        self.errors_, self.converged_ = [], False
        for epoch in range(self.max_epochs):
            order = B.rng().permutation(len(X)) if self.shuffle else range(len(X))
            errors = 0
            for i in order:
                pred = w.dtype.type(1.0 if X[i] @ w + b > 0 else 0.0)
                update = lr * (y[i] - pred)
                if update != 0:
                    w += update * X[i]
                    b += update
                    errors += 1
            self.errors_.append(errors)
            if errors == 0:
                self.converged_ = True
                break
        self.n_epochs_ = epoch + 1
        if not self.converged_:
            warnings.warn(
                f"Perceptron did not converge in {self.max_epochs} epochs ({self.errors_[-1]} "
                "errors in the last one): the data are probably not linearly separable (e.g. "
                "XOR); use a multi-layer network (lamina.models.MLP)", ConvergenceWarning,
                stacklevel=2)
        return self

    def decision_function(self, X):
        """The summation ``X @ weight + bias`` as a NumPy array (N,)."""
        return self._check_X(X) @ self.weight.array + self.bias.array

    def predict(self, X):
        """Class labels ``step(X @ weight + bias)`` in {0, 1} as an int64 NumPy array (N,)."""
        return (self.decision_function(X) > 0).astype(B.np.int64)

    def score(self, X, y) -> float:
        """Accuracy of :meth:`predict` on ``(X, y)``."""
        return float((self.predict(X) == _host(y).reshape(-1)).mean())

    def forward(self, x):
        """Step output (float 0/1) of a Tensor batch (N, n_features), as a Tensor."""
        return Tensor(self.predict(x).astype(self.weight.dtype))

    def extra_repr(self) -> str:
        return f"n_features={self.n_features}, lr={self.lr}, max_epochs={self.max_epochs}"
