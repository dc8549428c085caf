"""Post-hoc calibration of a trained classifier: temperature, vector and matrix scaling (Guo et
al. 2017) and Platt scaling for binary outputs, fitted on held-out logits with SciPy's L-BFGS.

The fitted maps are a handful of numbers: ``save`` writes them as JSON beside a run's weights
and :func:`load_calibrator` reads them back.
"""

from __future__ import annotations

import json

from .. import backend as B
from ..autograd.creation import tensor
from ..errors import check
from ..metrics._util import as_array
from ..nn.module import Module
from ..nn.utils import batched_eval

np = B.np

__all__ = ["TemperatureScaling", "PlattScaling", "CalibratedModel", "load_calibrator"]

_METHODS = ("temperature", "vector", "matrix")


def _softmax(s):
    s = s - s.max(axis=1, keepdims=True)
    e = np.exp(s)
    return e / e.sum(axis=1, keepdims=True)


def _lbfgs(fun, x0, max_iter):
    try:
        from scipy.optimize import minimize
    except ImportError as e:  # pragma: no cover - scipy ships with the test extras
        raise ImportError("lamina.uncertainty: calibration fitting needs SciPy "
                          "(pip install scipy)") from e
    res = minimize(fun, x0, jac=True, method="L-BFGS-B", options={"maxiter": max_iter})
    return res.x


def _logits_labels(op, logits, y):
    z = as_array(logits).astype(np.float64)
    t = as_array(y).reshape(-1).astype(np.int64)
    check(z.ndim == 2, op, "logits of shape (N, C)", f"{z.shape}")
    check(len(z) == len(t), op, "logits and labels with the same number of samples",
          f"logits {z.shape} and labels {t.shape}")
    check(len(t) > 0 and t.min() >= 0 and t.max() < z.shape[1], op,
          f"labels in [0, {z.shape[1]})", f"{len(t)} labels" if len(t) == 0
          else f"labels in [{t.min()}, {t.max()}]")
    return z, t


class TemperatureScaling:
    """Fit a map of the logits that minimises the NLL of held-out (validation) data.

    ``method="temperature"`` (default) learns one scalar ``T > 0``: ``softmax(z / T)``, which
    never changes the argmax. ``"vector"`` learns ``softmax(z * w + b)`` and ``"matrix"``
    ``softmax(z @ W.T + b)`` (Guo et al. 2017); those may change predictions and over-fit small
    validation sets, which ``reg`` (an L2 penalty pulling the map to the identity) tempers.

    Args:
        method (str): ``"temperature"``, ``"vector"`` or ``"matrix"``. Default
            ``"temperature"``.
        max_iter (int): L-BFGS iterations. Default 200.
        reg (float): L2 weight on ``w - 1`` / ``W - I`` and ``b`` (vector and matrix only),
            per sample. Default 0.0.

    Attributes:
        temperature (float): the fitted T (``method="temperature"``).
        params (dict): the fitted arrays (``log_t``; ``w``, ``b``; or ``W``, ``b``).

    Example:
        >>> ts = TemperatureScaling().fit(val_logits, val_labels)
        >>> probs = ts.transform(test_logits)          # calibrated probabilities
        >>> calibrated = ts.wrap(model); calibrated.predict_proba(x_test)
    """

    def __init__(self, method: str = "temperature", max_iter: int = 200, reg: float = 0.0):
        check(method in _METHODS, "TemperatureScaling", f"method in {_METHODS}", repr(method),
              cls=ValueError)
        check(reg >= 0, "TemperatureScaling", "reg >= 0", repr(reg), cls=ValueError)
        self.method, self.max_iter, self.reg = method, int(max_iter), float(reg)
        self.params: dict | None = None

    # ------------------------------------------------------------------ the math
    def _unpack(self, theta, c):
        if self.method == "temperature":
            return {"log_t": theta[:1]}
        if self.method == "vector":
            return {"w": theta[:c], "b": theta[c:]}
        return {"W": theta[:c * c].reshape(c, c), "b": theta[c * c:]}

    def _scaled(self, z, p):
        if self.method == "temperature":
            return z * np.exp(-p["log_t"][0])
        if self.method == "vector":
            return z * p["w"] + p["b"]
        return z @ p["W"].T + p["b"]

    def _objective(self, theta, z, t):
        """NLL (mean over samples) and its gradient in the packed parameters."""
        n, c = z.shape
        p = self._unpack(theta, c)
        s = self._scaled(z, p)
        s_max = s.max(axis=1, keepdims=True)
        lse = np.log(np.exp(s - s_max).sum(axis=1)) + s_max[:, 0]
        loss = float(np.mean(lse - s[np.arange(n), t]))
        g = _softmax(s)
        g[np.arange(n), t] -= 1.0
        g /= n  # dL/ds
        if self.method == "temperature":
            return loss, np.array([-np.sum(g * s)])
        if self.method == "vector":
            dw, db = np.sum(g * z, axis=0), g.sum(axis=0)
            loss += self.reg * (np.sum((p["w"] - 1.0) ** 2) + np.sum(p["b"] ** 2))
            dw += 2 * self.reg * (p["w"] - 1.0)
        else:
            dw, db = (g.T @ z).ravel(), g.sum(axis=0)
            eye = np.eye(c)
            loss += self.reg * (np.sum((p["W"] - eye) ** 2) + np.sum(p["b"] ** 2))
            dw += 2 * self.reg * (p["W"] - eye).ravel()
        return loss, np.concatenate([dw, db + 2 * self.reg * p["b"]])

    # ------------------------------------------------------------------ API
    def fit(self, logits, y) -> "TemperatureScaling":
        """Fit on held-out logits and labels (never on the training data the net memorised).

        Args:
            logits: ``(N, C)`` array or Tensor (the model's raw outputs).
            y: integer labels ``(N,)``.

        Returns:
            self.
        """
        z, t = _logits_labels("TemperatureScaling.fit", logits, y)
        c = z.shape[1]
        x0 = {"temperature": np.zeros(1), "vector": np.concatenate([np.ones(c), np.zeros(c)]),
              "matrix": np.concatenate([np.eye(c).ravel(), np.zeros(c)])}[self.method]
        theta = _lbfgs(lambda th: self._objective(th, z, t), x0, self.max_iter)
        self.params = self._unpack(theta, c)
        self.n_classes = c
        return self

    def _check_fitted(self, op):
        if self.params is None:
            raise RuntimeError(f"TemperatureScaling.{op}: expected a fitted calibrator, got an "
                               "unfitted one; call fit(val_logits, val_labels) first")

    @property
    def temperature(self) -> float:
        """The fitted temperature T (``method="temperature"`` only)."""
        self._check_fitted("temperature")
        check(self.method == "temperature", "TemperatureScaling.temperature",
              'method="temperature"', repr(self.method), cls=ValueError)
        return float(np.exp(self.params["log_t"][0]))

    def scale(self, logits):
        """Calibrated logits, as a host array in the input's floating dtype.

        Shape:
            (N, C) -> (N, C).
        """
        self._check_fitted("scale")
        z = as_array(logits)
        dt = z.dtype if z.dtype.kind == "f" else B.get_default_dtype()
        return self._scaled(z.astype(np.float64), self.params).astype(dt)

    def transform(self, logits):
        """Calibrated probabilities ``softmax(scale(logits))``.

        Args:
            logits: ``(N, C)`` array or Tensor.

        Returns:
            NumPy array ``(N, C)``, rows summing to 1.
        """
        return _softmax(self.scale(logits))

    predict_proba = transform

    def wrap(self, model) -> "CalibratedModel":
        """The model with this calibrator on its outputs (see :class:`CalibratedModel`)."""
        self._check_fitted("wrap")
        return CalibratedModel(model, self)

    def state_dict(self) -> dict:
        """The method and the fitted numbers, JSON-ready."""
        self._check_fitted("state_dict")
        return {"type": "TemperatureScaling", "method": self.method, "reg": self.reg,
                "params": {k: np.asarray(v).tolist() for k, v in self.params.items()}}

    def load_state_dict(self, state: dict) -> "TemperatureScaling":
        """Restore :meth:`state_dict`'s output. Returns self."""
        self.method, self.reg = state["method"], float(state.get("reg", 0.0))
        self.params = {k: np.asarray(v, dtype=np.float64) for k, v in state["params"].items()}
        return self

    def save(self, path) -> None:
        """Write the calibrator as JSON (e.g. ``RUN_DIR/calibration.json``)."""
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.state_dict(), f, indent=1)


class PlattScaling:
    """Platt scaling for a binary classifier: ``P(y = 1) = sigmoid(a * s + b)``.

    ``s`` is the model's single logit ``(N,)``/``(N, 1)`` or, for two-column logits, the margin
    ``z[:, 1] - z[:, 0]``. ``a`` and ``b`` minimise the held-out binary cross-entropy (L-BFGS).

    Args:
        max_iter (int): L-BFGS iterations. Default 200.

    Attributes:
        a (float), b (float): the fitted slope and offset.
    """

    def __init__(self, max_iter: int = 200):
        self.max_iter = int(max_iter)
        self.a = self.b = None

    @staticmethod
    def _score(logits):
        z = as_array(logits).astype(np.float64)
        if z.ndim == 2 and z.shape[1] == 2:
            return z[:, 1] - z[:, 0]
        check(z.ndim == 1 or (z.ndim == 2 and z.shape[1] == 1), "PlattScaling",
              "binary logits (N,), (N, 1) or (N, 2)", f"{z.shape}")
        return z.reshape(-1)

    def fit(self, logits, y) -> "PlattScaling":
        """Fit ``a`` and ``b`` on held-out logits and 0/1 labels. Returns self."""
        s = self._score(logits)
        t = as_array(y).reshape(-1).astype(np.float64)
        check(len(s) == len(t) and len(t) > 0, "PlattScaling.fit", "logits and labels with "
              "the same (non-zero) number of samples", f"{len(s)} and {len(t)}")

        def fun(th):
            u = th[0] * s + th[1]
            loss = np.mean(np.logaddexp(0.0, u) - t * u)  # BCE with logits, stable form
            g = (1.0 / (1.0 + np.exp(-u)) - t) / len(t)
            return float(loss), np.array([np.sum(g * s), np.sum(g)])

        self.a, self.b = (float(v) for v in _lbfgs(fun, np.array([1.0, 0.0]), self.max_iter))
        return self

    def scale(self, logits):
        """Calibrated logit ``a * s + b`` ``(N,)``."""
        if self.a is None:
            raise RuntimeError("PlattScaling.scale: expected a fitted calibrator, got an "
                               "unfitted one; call fit(val_logits, val_labels) first")
        return self.a * self._score(logits) + self.b

    def transform(self, logits):
        """Calibrated P(y = 1) ``(N,)``."""
        return 1.0 / (1.0 + np.exp(-self.scale(logits)))

    predict_proba = transform

    def wrap(self, model) -> "CalibratedModel":
        """The model with this calibrator on its outputs."""
        self.scale(np.zeros((1, 1)))  # raises when unfitted
        return CalibratedModel(model, self)

    def state_dict(self) -> dict:
        """``a`` and ``b``, JSON-ready."""
        return {"type": "PlattScaling", "a": self.a, "b": self.b}

    def load_state_dict(self, state: dict) -> "PlattScaling":
        """Restore :meth:`state_dict`'s output. Returns self."""
        self.a, self.b = float(state["a"]), float(state["b"])
        return self

    def save(self, path) -> None:
        """Write the calibrator as JSON."""
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.state_dict(), f, indent=1)


def load_calibrator(path):
    """Read a calibrator written by ``save`` (TemperatureScaling or PlattScaling)."""
    with open(path, encoding="utf-8") as f:
        state = json.load(f)
    kinds = {"TemperatureScaling": TemperatureScaling, "PlattScaling": PlattScaling}
    if state.get("type") not in kinds:
        raise ValueError(f"load_calibrator: expected a 'type' in {sorted(kinds)} in {path}, got "
                         f"{state.get('type')!r}")
    return kinds[state["type"]]().load_state_dict(state)


class CalibratedModel(Module):
    """A model whose outputs pass through a fitted calibrator.

    ``forward`` returns calibrated logits as a Tensor (differentiable in the input:
    ``z / T``, ``z * w + b``, ``z @ W.T + b`` or Platt's ``a * s + b``); ``predict_proba``
    returns calibrated probabilities for an array, in eval mode and batches.

    Args:
        model (Module): the trained classifier (left unchanged).
        calibrator (TemperatureScaling or PlattScaling): fitted.
    """

    def __init__(self, model, calibrator):
        super().__init__()
        self.model = model
        object.__setattr__(self, "calibrator", calibrator)

    def forward(self, x):
        z = self.model(x)
        cal = self.calibrator
        if isinstance(cal, PlattScaling):
            s = z[:, 1] - z[:, 0] if z.ndim == 2 and z.shape[1] == 2 else z.reshape(-1)
            return s * cal.a + cal.b
        p = cal.params
        c = lambda a: tensor(np.asarray(a, dtype=z.dtype))  # noqa: E731
        if cal.method == "temperature":
            return z * float(np.exp(-p["log_t"][0]))
        if cal.method == "vector":
            return z * c(p["w"]) + c(p["b"])
        return z @ c(p["W"].T) + c(p["b"])

    def predict_proba(self, x, batch_size: int = 512):
        """Calibrated probabilities of ``x`` (array or Tensor ``(N, ...)``).

        Returns:
            NumPy array ``(N, C)`` (``(N,)`` P(y = 1) for Platt scaling).
        """
        return self.calibrator.transform(batched_eval(self.model, x, batch_size=batch_size))
