"""Basic layers: ``Linear``, ``Neuron`` (seed Q1–Q2), shape helpers, dropout, ``Residual``."""

from __future__ import annotations

import math

from .. import backend as B
from .. import functional as F
from ..errors import op_error
from . import init as _init
from .activation import get_activation
from .module import Module, Parameter

__all__ = ["Identity", "Lambda", "Linear", "Neuron", "Flatten", "Unflatten", "Dropout",
           "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "Residual"]


def _dtype(dtype):
    return B.get_default_dtype() if dtype is None else B.np.dtype(dtype)


class Identity(Module):
    """Returns its input unchanged (accepts and ignores constructor arguments, like PyTorch).

    Shape:
        any -> same.
    """

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return x


class Lambda(Module):
    """Wrap a function as a module (no parameters): ``Lambda(lambda x: x * 2)``.

    Args:
        fn (callable): applied to the input.
    """

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, *args):
        return self.fn(*args)

    def extra_repr(self) -> str:
        return getattr(self.fn, "__name__", type(self.fn).__name__)


_NAMED_INITS = {
    "xavier_uniform": _init.xavier_uniform_,
    "xavier_normal": _init.xavier_normal_,
    "kaiming_uniform": lambda w: _init.kaiming_uniform_(w, nonlinearity="relu"),
    "kaiming_normal": lambda w: _init.kaiming_normal_(w, nonlinearity="relu"),
    "orthogonal": _init.orthogonal_,
    "zeros": _init.zeros_,
}


class Linear(Module):
    """Affine map ``y = x @ weight.T + bias`` (PyTorch's layout and names).

    Args:
        in_features (int): size of each input sample.
        out_features (int): size of each output sample.
        bias (bool): learn an additive bias. Default True.
        init (str | callable | None): weight initialisation. None (default) is PyTorch's:
            ``kaiming_uniform_(a=sqrt(5))``, i.e. U(-1/sqrt(in), 1/sqrt(in)), and the bias
            U(-1/sqrt(in), 1/sqrt(in)). 'xavier_uniform', 'xavier_normal', 'kaiming_uniform',
            'kaiming_normal' (He, for ReLU), 'orthogonal', 'zeros', or a callable
            ``fn(weight)`` filling the weight in place; with any of these the bias starts at 0.
        dtype: parameter dtype. Default: the default float dtype (float32).

    Attributes:
        weight (Parameter): (out_features, in_features). bias (Parameter | None): (out_features,).

    Shape:
        (*, in_features) -> (*, out_features).

    Example:
        >>> layer = nn.Linear(784, 10, init="xavier_uniform")
        >>> layer(lamina.randn(32, 784)).shape
        (32, 10)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, init=None,
                 dtype=None):
        super().__init__()
        if in_features <= 0 or out_features <= 0:
            raise ValueError(f"Linear: expected positive in_features and out_features, got "
                             f"in_features={in_features}, out_features={out_features}")
        self.in_features, self.out_features = in_features, out_features
        dt = _dtype(dtype)
        self.weight = Parameter(B.np.empty((out_features, in_features), dtype=dt))
        if bias:
            self.bias = Parameter(B.np.empty((out_features,), dtype=dt))
        else:
            self.register_parameter("bias", None)
        if init is not None and not callable(init) and init not in _NAMED_INITS:
            raise ValueError(f"Linear: expected init None, a callable or one of "
                             f"{', '.join(_NAMED_INITS)}, got {init!r}")
        self.init = init
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-draw the parameters with the layer's ``init`` scheme."""
        if self.init is None:
            _init.kaiming_uniform_(self.weight, a=math.sqrt(5))
            if self.bias is not None:
                bound = 1.0 / math.sqrt(self.in_features)
                _init.uniform_(self.bias, -bound, bound)
            return
        fn = self.init if callable(self.init) else _NAMED_INITS[self.init]
        fn(self.weight)
        if self.bias is not None:
            _init.zeros_(self.bias)

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Neuron(Module):
    """One artificial neuron, its two stages visible: ``summation(x) = x @ weights + bias``,
    then ``activation`` (seed Q1–Q2). ``forward(x) = activation(summation(x))``.

    Args:
        in_features (int): number of inputs.
        activation: 'sigmoid' (default), 'relu', 'tanh', 'step' (the classic perceptron), any
            activation name, a Module or a callable.
        dtype: parameter dtype. Default: the default float dtype.

    Attributes:
        weights (Parameter): (in_features,), drawn U(-1/sqrt(in), 1/sqrt(in)).
        bias (Parameter): scalar, shape ().
        activation (Module): the activation function.

    Shape:
        (N, in_features) -> (N,); (in_features,) -> ().

    Example:
        >>> n = nn.Neuron(2, activation="step")
        >>> z = n.summation(x); y = n.activation(z)  # same as n(x)
    """

    def __init__(self, in_features: int, activation="sigmoid", dtype=None):
        super().__init__()
        self.in_features = in_features
        dt = _dtype(dtype)
        bound = 1.0 / math.sqrt(in_features)
        self.weights = Parameter(B.np.empty((in_features,), dtype=dt))
        self.bias = Parameter(B.np.zeros((), dtype=dt))
        _init.uniform_(self.weights, -bound, bound)
        _init.uniform_(self.bias, -bound, bound)
        self.activation = get_activation(activation)

    def summation(self, x):
        """The weighted sum ``x @ weights + bias`` (the pre-activation)."""
        n = x.shape[-1] if x.ndim else None
        if n != self.in_features:
            raise op_error("Neuron", f"input with {self.in_features} features in the last "
                           "dimension", f"shape {tuple(x.shape)}")
        return F.matmul(x, self.weights) + self.bias

    def forward(self, x):
        return self.activation(self.summation(x))

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}"


class Flatten(Module):
    """Merge dimensions ``start_dim..end_dim`` into one.

    Args:
        start_dim (int): Default 1 (keep the batch dimension).
        end_dim (int): Default -1.

    Shape:
        (N, C, H, W) -> (N, C*H*W) with the defaults.
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        return F.flatten(x, self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dimension ``dim`` into ``unflattened_size`` (inverse of :class:`Flatten`).

    Args:
        dim (int): the dimension to split.
        unflattened_size (tuple): its new sizes (one may be -1).

    Shape:
        (N, C*H*W) -> (N, C, H, W) for ``Unflatten(1, (C, H, W))``.
    """

    def __init__(self, dim: int, unflattened_size):
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, x):
        return F.unflatten(x, self.dim, self.unflattened_size)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class Dropout(Module):
    """Zero each element with probability ``p`` in training, scaling the rest by
    ``1 / (1 - p)``; identity in eval mode (seed Q21).

    Args:
        p (float): drop probability in [0, 1]. Default 0.5.
        inplace (bool): ignored (PyTorch compatibility). Default False.

    Shape:
        any -> same.
    """

    _fn = staticmethod(F.dropout)

    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{type(self).__name__}: expected p in [0, 1], got {p}")
        self.p, self.inplace = p, inplace

    def forward(self, x):
        return self._fn(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Dropout1d(Dropout):
    """Channel-wise dropout for (N, C, L): whole channels zeroed with probability ``p``."""

    _fn = staticmethod(F.dropout1d)


class Dropout2d(Dropout):
    """Channel-wise dropout for (N, C, H, W): whole feature maps zeroed with probability
    ``p``, the rest scaled by ``1 / (1 - p)``.

    As in PyTorch 2.13, a 3-D input is read as (N, C, L) (channel-wise 1-D dropout) and a 2-D
    input as (N, C) (element-wise dropout), each with torch's ``UserWarning`` (as
    ``F.dropout2d`` does for 3-D input).
    """

    _fn = staticmethod(F.dropout2d)

    def forward(self, x):
        if x.ndim in (2, 3):
            import warnings
            if x.ndim == 2:
                msg = ("dropout2d: Received a 2-D input to dropout2d, which is deprecated and "
                       "will result in an error in a future release. To retain the behavior "
                       "and silence this warning, please use dropout instead.")
            else:
                msg = ("dropout2d: Received a 3D input to dropout2d and assuming that "
                       "channel-wise 1D dropout behavior is desired - input is interpreted as "
                       "shape (N, C, L), where C is the channel dim. To maintain the 1D "
                       "channel-wise dropout behavior, please switch to using dropout1d.")
            warnings.warn(msg, UserWarning, stacklevel=2)
            shape = tuple(x.shape)
            x4 = x.reshape(shape[0], shape[1], -1, 1)
            return F.dropout2d(x4, self.p, self.training).reshape(shape)
        return super().forward(x)


class Dropout3d(Dropout):
    """Channel-wise dropout for (N, C, D, H, W)."""

    _fn = staticmethod(F.dropout3d)


class AlphaDropout(Dropout):
    """Dropout that keeps SELU activations at zero mean and unit variance."""

    _fn = staticmethod(F.alpha_dropout)


class Residual(Module):
    """Skip connection ``x + module(x)`` (He et al., 2016); ``module`` must keep the shape.

    Args:
        module (Module): the residual branch, registered as ``module``.

    Shape:
        any -> same.
    """

    def __init__(self, module: Module):
        super().__init__()
        self.module = module

    def forward(self, x):
        y = self.module(x)
        if tuple(y.shape) != tuple(x.shape):
            raise op_error("Residual", f"the branch {type(self.module).__name__} to keep the "
                           f"input shape {tuple(x.shape)}", f"{tuple(y.shape)}")
        return x + y
