"""Activation modules (seed Q15): thin ``Module`` wrappers over ``lamina.functional``.

Each holds only its options (and ``PReLU`` its learnable slope, named ``weight`` as in
PyTorch). ``inplace=`` is accepted for PyTorch compatibility and ignored: lamina never modifies
an input in place.
"""

from __future__ import annotations

from .. import backend as B
from .. import functional as F
from .module import Module, Parameter

__all__ = ["Sigmoid", "Tanh", "ReLU", "ReLU6", "LeakyReLU", "PReLU", "ELU", "CELU", "SELU",
           "GELU", "SiLU", "Mish", "Softplus", "Hardtanh", "Hardsigmoid", "Hardswish",
           "Softmax", "Softmin", "LogSoftmax", "Step", "get_activation"]


class Sigmoid(Module):
    """``1 / (1 + exp(-x))``; saturates (gradient <= 1/4), the classic cause of vanishing
    gradients in deep nets (seed Q12).

    Shape:
        any -> same.
    """

    def forward(self, x):
        return F.sigmoid(x)


class Tanh(Module):
    """Hyperbolic tangent, zero-centred, range (-1, 1). Shape: any -> same."""

    def forward(self, x):
        return F.tanh(x)


class ReLU(Module):
    """``max(x, 0)``. Shape: any -> same.

    Args:
        inplace (bool): ignored (accepted for PyTorch compatibility). Default False.
    """

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace

    def forward(self, x):
        return F.relu(x)


class ReLU6(ReLU):
    """``min(max(x, 0), 6)`` (MobileNet). Shape: any -> same."""

    def forward(self, x):
        return F.relu6(x)


class LeakyReLU(Module):
    """``x if x > 0 else negative_slope * x``. Shape: any -> same.

    Args:
        negative_slope (float): slope for x < 0. Default 0.01.
        inplace (bool): ignored. Default False.
    """

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False):
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class PReLU(Module):
    """Leaky ReLU with a learnable slope: one shared, or one per channel (dim 1).

    Args:
        num_parameters (int): 1 (shared) or the number of channels. Default 1.
        init (float): initial slope. Default 0.25.
        dtype: parameter dtype. Default: the default float dtype.

    Attributes:
        weight (Parameter): the slopes, shape (num_parameters,).

    Shape:
        (N, C, *) -> same (C == num_parameters unless it is 1).
    """

    def __init__(self, num_parameters: int = 1, init: float = 0.25, dtype=None):
        super().__init__()
        self.num_parameters = num_parameters
        dt = B.get_default_dtype() if dtype is None else B.np.dtype(dtype)
        self.weight = Parameter(B.np.full((num_parameters,), init, dtype=dt))

    def forward(self, x):
        return F.prelu(x, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class ELU(Module):
    """``x if x > 0 else alpha * (exp(x) - 1)``. Shape: any -> same.

    Args:
        alpha (float): Default 1.0.
        inplace (bool): ignored. Default False.
    """

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__()
        self.alpha = alpha
        self.inplace = inplace

    def forward(self, x):
        return F.elu(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class CELU(ELU):
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``. Shape: any -> same.

    Args:
        alpha (float): Default 1.0.
    """

    def forward(self, x):
        return F.celu(x, self.alpha)


class SELU(ReLU):
    """Scaled ELU, self-normalizing with LeCun-normal init (Klambauer et al., 2017)."""

    def forward(self, x):
        return F.selu(x)


class GELU(Module):
    """Gaussian error linear unit ``x * Phi(x)``.

    Args:
        approximate (str): 'none' (exact, erf) or 'tanh'. Default 'none'.

    Shape:
        any -> same.
    """

    def __init__(self, approximate: str = "none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: expected approximate 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x):
        return F.gelu(x, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class SiLU(ReLU):
    """``x * sigmoid(x)`` (swish). Shape: any -> same."""

    def forward(self, x):
        return F.silu(x)


class Mish(ReLU):
    """``x * tanh(softplus(x))``. Shape: any -> same."""

    def forward(self, x):
        return F.mish(x)


class Softplus(Module):
    """``log(1 + exp(beta * x)) / beta``, linear above ``threshold``.

    Args:
        beta (float): Default 1.0.
        threshold (float): Default 20.0.
    """

    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, x):
        return F.softplus(x, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Hardtanh(Module):
    """Clamp to ``[min_val, max_val]``.

    Args:
        min_val (float): Default -1.0.
        max_val (float): Default 1.0.
    """

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False):
        super().__init__()
        if not min_val < max_val:
            raise ValueError(f"Hardtanh: expected min_val < max_val, got {min_val}, {max_val}")
        self.min_val, self.max_val = min_val, max_val

    def forward(self, x):
        return F.hardtanh(x, self.min_val, self.max_val)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}"


class Hardsigmoid(ReLU):
    """``clip(x / 6 + 1/2, 0, 1)``. Shape: any -> same."""

    def forward(self, x):
        return F.hardsigmoid(x)


class Hardswish(ReLU):
    """``x * hardsigmoid(x)``. Shape: any -> same."""

    def forward(self, x):
        return F.hardswish(x)


class Softmax(Module):
    """Softmax along ``dim``.

    Args:
        dim (int): the axis that sums to 1. Default -1 (PyTorch's implicit-dim guess is not
            reproduced).

    Shape:
        any -> same.
    """

    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, x):
        return F.softmax(x, dim=self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmin(Softmax):
    """Softmax of ``-x`` along ``dim`` (default -1)."""

    def forward(self, x):
        return F.softmin(x, dim=self.dim)


class LogSoftmax(Softmax):
    """``log(softmax(x))`` along ``dim`` (default -1), computed stably."""

    def forward(self, x):
        return F.log_softmax(x, dim=self.dim)


class Step(Module):
    """Heaviside step ``1 if x > 0 else 0`` (the classic perceptron's activation, seed Q1).
    Its gradient is zero almost everywhere, which is why backprop needs smooth activations.

    Shape:
        any -> same.
    """

    def forward(self, x):
        return F.step(x)


_BY_NAME = {"sigmoid": Sigmoid, "tanh": Tanh, "relu": ReLU, "relu6": ReLU6,
            "leaky_relu": LeakyReLU, "elu": ELU, "celu": CELU, "selu": SELU, "gelu": GELU,
            "silu": SiLU, "swish": SiLU, "mish": Mish, "softplus": Softplus,
            "hardtanh": Hardtanh, "hardsigmoid": Hardsigmoid, "hardswish": Hardswish,
            "step": Step, "softmax": Softmax, "log_softmax": LogSoftmax}


def get_activation(activation) -> Module:
    """An activation module from a name ('relu', 'tanh', 'sigmoid', 'gelu', ...), a Module
    class, a Module instance, or a callable (wrapped in a module). ``None``/'identity'/'linear'
    give ``Identity``.

    Args:
        activation: name, Module class or instance, callable, or None.

    Returns:
        Module: the activation.
    """
    from .layers import Identity, Lambda
    if activation is None or activation in ("identity", "linear", "none"):
        return Identity()
    if isinstance(activation, str):
        key = activation.lower()
        if key not in _BY_NAME:
            raise ValueError(f"activation: expected one of {', '.join(sorted(_BY_NAME))}, "
                             f"'identity', a Module or a callable, got {activation!r}")
        return _BY_NAME[key]()
    if isinstance(activation, Module):
        return activation
    if isinstance(activation, type) and issubclass(activation, Module):
        return activation()
    if callable(activation):
        return Lambda(activation)
    raise TypeError(f"activation: expected a name, Module or callable, got "
                    f"{type(activation).__name__}")
