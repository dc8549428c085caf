"""NaN-aware inputs (seed Q43): impute inside the network and tell it what was missing.

``MissingIndicator`` replaces each NaN by a per-feature value (learned, or fixed) and appends
the 0/1 missingness mask, so ``(N, F)`` with NaNs becomes ``(N, 2F)`` without NaNs.
``MissingSequenceInput`` does the same for ``(N, T, F)`` sequences with the GRU-D input decay
(Che et al. 2018): a missing step is filled with ``gamma * last_seen + (1 - gamma) * mean``,
``gamma = exp(-relu(w * delta + b))``, where ``delta`` is the time since the feature was last
seen, and the mask and ``delta`` are appended as channels.
"""

from __future__ import annotations

from .. import backend as B
from .. import functional as F
from ..autograd.tensor import Tensor
from ..errors import check
from .module import Module, Parameter

__all__ = ["MissingIndicator", "MissingSequenceInput"]


def _mask(op, x, nfeat):
    check(x.shape[-1] == nfeat, op, f"x.shape[-1] == {nfeat} (num_features)",
          f"x {tuple(x.shape)}")
    xp = B.get_array_module(x.array)
    miss = xp.isnan(x.array)
    return miss, Tensor(miss.astype(x.dtype))


class MissingIndicator(Module):
    """Fill NaNs with a per-feature value and append the missingness mask.

    Args:
        num_features (int): features ``F``.
        fill: ``"learned"`` (a trainable value per feature, initialized to ``init``,
            default), a float or a ``(F,)`` array (fixed values, e.g. training means).
        init (float or array): starting value of a learned fill. Default 0.0 (the mean of
            standardized data).
        append_mask (bool): append the ``(N, F)`` 0/1 mask. Default True.

    Shape:
        ``(N, F)`` with NaNs -> ``(N, 2F)`` (or ``(N, F)`` without the mask), no NaNs.

    Example:
        >>> net = nn.Sequential(nn.MissingIndicator(8), nn.Linear(16, 32), nn.ReLU(),
        ...                     nn.Linear(32, 2))
    """

    def __init__(self, num_features: int, fill="learned", init=0.0, append_mask: bool = True):
        super().__init__()
        self.num_features, self.append_mask = int(num_features), bool(append_mask)
        self.learned = isinstance(fill, str)
        if self.learned:
            check(fill == "learned", "MissingIndicator", "fill 'learned', a float or an array",
                  repr(fill))
            value = B.np.broadcast_to(B.np.asarray(init, dtype=B.get_default_dtype()),
                                      (self.num_features,)).copy()
            self.fill = Parameter(value)
        else:
            value = B.np.broadcast_to(B.np.asarray(fill, dtype=B.get_default_dtype()),
                                      (self.num_features,)).copy()
            self.register_buffer("fill", value)

    def forward(self, x):
        miss, m = _mask("MissingIndicator", x, self.num_features)
        fill = self.fill if isinstance(self.fill, Tensor) else Tensor(self.fill).to(x.device)
        out = F.where(Tensor(miss), 0.0, x) + m * fill
        return F.cat([out, m], dim=-1) if self.append_mask else out

    def extra_repr(self) -> str:
        return (f"{self.num_features}, fill={'learned' if self.learned else 'fixed'}, "
                f"append_mask={self.append_mask}")


class MissingSequenceInput(Module):
    """GRU-D style input for sequences with missing steps: decayed last observation + mask +
    time since last observation.

    Args:
        num_features (int): features ``F`` per step.
        mean (float or array): the value a long gap decays to (e.g. training means of
            standardized data: 0). Default 0.0.

    Shape:
        ``(N, T, F)`` with NaNs -> ``(N, T, 3F)``: ``[x_hat, mask, delta]``.

    Example:
        >>> net = nn.Sequential(nn.MissingSequenceInput(3), GRUOverTime(9, 32))
    """

    def __init__(self, num_features: int, mean=0.0):
        super().__init__()
        self.num_features = int(num_features)
        dt = B.get_default_dtype()
        self.register_buffer("mean", B.np.broadcast_to(B.np.asarray(mean, dtype=dt),
                                                       (self.num_features,)).copy())
        self.decay_weight = Parameter(B.np.full(self.num_features, 0.1, dtype=dt))
        self.decay_bias = Parameter(B.np.zeros(self.num_features, dtype=dt))

    def forward(self, x):
        check(x.ndim == 3, "MissingSequenceInput", "x of shape (N, T, F)",
              f"shape {tuple(x.shape)}")
        miss, m = _mask("MissingSequenceInput", x, self.num_features)
        xp = B.get_array_module(x.array)
        mean = xp.asarray(self.mean)
        seen = ~miss
        t = x.shape[1]
        # last observation carried forward and steps since it, by a scan over time (T steps,
        # vectorized over samples and features)
        last = xp.empty_like(x.array)
        delta = xp.zeros_like(x.array)
        cur = xp.broadcast_to(mean, x.array[:, 0].shape).copy()
        gap = xp.zeros_like(cur)
        for i in range(t):
            obs = seen[:, i]
            cur = xp.where(obs, x.array[:, i], cur)
            last[:, i] = cur
            delta[:, i] = gap
            gap = xp.where(obs, 1.0, gap + 1.0).astype(x.dtype)
        d = Tensor(delta)
        gamma = F.exp(-F.relu(d * self.decay_weight + self.decay_bias))
        filled = gamma * Tensor(last) + (1.0 - gamma) * Tensor(mean).to(x.device)
        x_hat = F.where(Tensor(miss), filled, F.where(Tensor(miss), 0.0, x))
        return F.cat([x_hat, m, d], dim=-1)

    def extra_repr(self) -> str:
        return f"{self.num_features}"
