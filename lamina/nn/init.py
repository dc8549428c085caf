"""Weight initialisers (seed Q17), PyTorch's names and formulas, in place.

Every function fills ``tensor.array`` in place (keeping its dtype and device), draws from
``lamina.backend.rng()`` (so ``lamina.manual_seed`` fixes it) and returns the tensor. Fans follow
PyTorch: for a weight of shape ``(out, in, *kernel)``, ``fan_in = in * prod(kernel)`` and
``fan_out = out * prod(kernel)``.

Why it matters: with ``fan_in`` inputs of unit variance, a layer's pre-activations have variance
``fan_in * Var(w)``. Xavier/Glorot (``Var(w) = 2 / (fan_in + fan_out)``) keeps it near 1 for tanh
and sigmoid nets; Kaiming/He (``Var(w) = 2 / fan_in``) compensates ReLU zeroing half the units.
"""

from __future__ import annotations

import math

from .. import backend as B
from ..autograd.tensor import Tensor
from ..errors import op_error

__all__ = ["calculate_gain", "zeros_", "ones_", "constant_", "normal_", "uniform_", "eye_",
           "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
           "trunc_normal_", "orthogonal_", "_calculate_fan_in_and_fan_out"]


def calculate_gain(nonlinearity: str, param=None) -> float:
    """The recommended gain for a nonlinearity (PyTorch's table).

    Args:
        nonlinearity (str): 'linear', 'conv1d'..'conv3d', 'sigmoid', 'tanh', 'relu',
            'leaky_relu', 'selu'.
        param (float | None): negative slope of 'leaky_relu' (default 0.01).

    Returns:
        float: 1 for linear/conv/sigmoid, 5/3 for tanh, sqrt(2) for relu,
        sqrt(2 / (1 + slope^2)) for leaky_relu, 3/4 for selu.
    """
    linear = ("linear", "identity", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
              "conv_transpose2d", "conv_transpose3d", "sigmoid")
    if nonlinearity in linear:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        if isinstance(slope, bool) or not isinstance(slope, (int, float)):
            raise ValueError(f"calculate_gain: expected a number for the negative slope, "
                             f"got {slope!r}")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: expected one of {', '.join(linear)}, tanh, relu, "
                     f"leaky_relu, selu, got {nonlinearity!r}")


def _calculate_fan_in_and_fan_out(tensor):
    """``(fan_in, fan_out)`` of a weight of shape (out, in, *kernel), as PyTorch computes it."""
    shape = tuple(tensor.shape)
    if len(shape) < 2:
        raise op_error("init", "a tensor with at least 2 dimensions to compute fan in/out",
                       f"shape {shape}", "use uniform_/normal_/constant_ for biases")
    receptive = 1
    for s in shape[2:]:
        receptive *= s
    return shape[1] * receptive, shape[0] * receptive


def _fan(tensor, mode):
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    if mode == "fan_in":
        return fan_in
    if mode == "fan_out":
        return fan_out
    raise ValueError(f"init: expected mode 'fan_in' or 'fan_out', got {mode!r}")


def _fill(tensor, host_values):
    """Write host values into ``tensor`` in place, keeping its dtype and device."""
    arr = tensor.array if isinstance(tensor, Tensor) else tensor
    xp = B.get_array_module(arr)
    arr[...] = xp.asarray(host_values.astype(arr.dtype, copy=False))
    return tensor


def _shape(tensor):
    return tuple(tensor.shape)


def zeros_(tensor):
    """Fill with 0. Returns ``tensor``."""
    return constant_(tensor, 0.0)


def ones_(tensor):
    """Fill with 1. Returns ``tensor``."""
    return constant_(tensor, 1.0)


def constant_(tensor, val: float):
    """Fill with ``val``. Returns ``tensor``."""
    arr = tensor.array if isinstance(tensor, Tensor) else tensor
    arr[...] = val
    return tensor


def eye_(tensor):
    """Fill a 2-D tensor with the identity (ones on the diagonal). Returns ``tensor``."""
    if len(_shape(tensor)) != 2:
        raise op_error("eye_", "a 2-D tensor", f"shape {_shape(tensor)}")
    return _fill(tensor, B.np.eye(*_shape(tensor)))


def uniform_(tensor, a: float = 0.0, b: float = 1.0):
    """Fill with draws from U(a, b). Defaults a=0, b=1. Returns ``tensor``."""
    return _fill(tensor, B.rng().uniform(a, b, _shape(tensor)))


def normal_(tensor, mean: float = 0.0, std: float = 1.0):
    """Fill with draws from N(mean, std^2). Defaults mean=0, std=1. Returns ``tensor``."""
    return _fill(tensor, B.rng().normal(mean, std, _shape(tensor)))


def trunc_normal_(tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0,
                  b: float = 2.0):
    """Fill with N(mean, std^2) draws restricted to [a, b] (rejection sampling; ``a``/``b``
    are absolute bounds as in PyTorch). Returns ``tensor``."""
    if not a < b:
        raise ValueError(f"trunc_normal_: expected a < b, got a={a}, b={b}")
    g = B.rng()
    vals = g.normal(mean, std, _shape(tensor))
    bad = (vals < a) | (vals > b)
    for _ in range(1000):
        if not bad.any():
            break
        vals[bad] = g.normal(mean, std, int(bad.sum()))
        bad = (vals < a) | (vals > b)
    else:
        raise ValueError(f"trunc_normal_: [a, b] = [{a}, {b}] holds almost no mass of "
                         f"N({mean}, {std}^2)")
    return _fill(tensor, vals)


def xavier_uniform_(tensor, gain: float = 1.0):
    """Glorot uniform: U(-bound, bound), ``bound = gain * sqrt(6 / (fan_in + fan_out))``.

    Args:
        tensor: weight with at least 2 dimensions.
        gain (float): scale (see :func:`calculate_gain`). Default 1.

    Returns:
        ``tensor``, filled in place; variance ``gain^2 * 2 / (fan_in + fan_out)``.
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor, gain: float = 1.0):
    """Glorot normal: N(0, std^2), ``std = gain * sqrt(2 / (fan_in + fan_out))``.

    Args:
        tensor: weight with at least 2 dimensions.
        gain (float): Default 1.

    Returns:
        ``tensor``, filled in place.
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def kaiming_uniform_(tensor, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu"):
    """He uniform: U(-bound, bound), ``bound = gain * sqrt(3 / fan)``.

    Args:
        tensor: weight with at least 2 dimensions.
        a (float): negative slope of the following leaky ReLU (0 for ReLU). Default 0.
        mode (str): 'fan_in' (preserve forward variance) or 'fan_out' (backward). Default
            'fan_in'.
        nonlinearity (str): 'relu' or 'leaky_relu' (default; with ``a=0`` equal to relu).

    Returns:
        ``tensor``, filled in place; variance ``gain^2 / fan``.
    """
    gain = calculate_gain(nonlinearity, a)
    bound = gain * math.sqrt(3.0 / _fan(tensor, mode))
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu"):
    """He normal: N(0, std^2), ``std = gain / sqrt(fan)``.

    Args:
        tensor: weight with at least 2 dimensions.
        a (float): negative slope of the following leaky ReLU. Default 0.
        mode (str): 'fan_in' or 'fan_out'. Default 'fan_in'.
        nonlinearity (str): Default 'leaky_relu'.

    Returns:
        ``tensor``, filled in place.
    """
    gain = calculate_gain(nonlinearity, a)
    return normal_(tensor, 0.0, gain / math.sqrt(_fan(tensor, mode)))


def orthogonal_(tensor, gain: float = 1.0):
    """Fill with a (semi-)orthogonal matrix (Saxe et al., 2013): the tensor viewed as
    (shape[0], rest) has orthonormal rows or columns, times ``gain``. Returns ``tensor``."""
    shape = _shape(tensor)
    if len(shape) < 2:
        raise op_error("orthogonal_", "a tensor with at least 2 dimensions", f"shape {shape}")
    np = B.np
    rows = shape[0]
    cols = int(np.prod(shape[1:]))
    flat = B.rng().normal(0.0, 1.0, (rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))  # make the decomposition unique (uniform over the group)
    if rows < cols:
        q = q.T
    return _fill(tensor, (gain * q).reshape(shape))
