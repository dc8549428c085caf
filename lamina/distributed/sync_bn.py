"""``SyncBatchNorm``: batch statistics over the global batch, shared by all ranks.

Forward all-reduces per-channel sums (then sums of squared deviations: two passes, as exact as
single-process BatchNorm) so every rank normalises with the mean and variance of the union of
the ranks' batches. Backward all-reduces the two per-channel sums the input gradient needs.

Weighting follows :class:`DistributedDataParallel`: each rank's loss is its local mean, and the
global loss is ``sum_r (n_r / N) L_r``. Backward forms the sums of the global loss's gradient
(``n_r / N`` times the local ones) and returns ``N / n_r`` times the global input gradient, so
that after DDP's ``n_r / N`` weighting every parameter gets exactly the gradient of BatchNorm over
the global batch, also with uneven shards. ``weight`` and ``bias`` get local sums; DDP reduces
them.
"""

from __future__ import annotations

from .. import backend as B
from ..autograd.function import Function
from ..errors import op_error
from ..functional.normalization import normalize_affine, update_running_stats
from ..nn.normalization import _BatchNorm
from . import comm

__all__ = ["SyncBatchNorm", "convert_sync_batchnorm"]

np = B.np


class _SyncBN(Function):
    def forward(self, x, weight, bias):
        xp = self.xp
        axes = (0,) + tuple(range(2, x.ndim))
        cshape = (1, -1) + (1,) * (x.ndim - 2)
        C = x.shape[1]
        n_local = x.size // C
        buf = np.zeros(C + 1, x.dtype)
        buf[:C] = B.to_host(x.sum(axis=axes))
        buf[C] = n_local
        comm.all_reduce(buf)
        N = float(buf[C])
        mean = xp.asarray(buf[:C] / N).reshape(cshape)
        xc = x - mean
        sq = B.to_host((xc * xc).sum(axis=axes)).astype(x.dtype, copy=False)
        comm.all_reduce(sq)
        var = xp.asarray(sq / N).reshape(cshape)
        inv_std = 1.0 / xp.sqrt(var + self.eps)
        if self.running_mean is not None:
            update_running_stats(self.running_mean, self.running_var, self.momentum, mean, var,
                                 N / max(N - 1.0, 1.0))
        x_hat, y = normalize_affine(xc, inv_std, weight, bias, cshape)
        self.saved = (x_hat, inv_std, weight)
        self.axes, self.cshape, self.n_local, self.N = axes, cshape, n_local, N
        return y

    def backward(self, gy):
        x_hat, inv_std, weight = self.saved
        need_x, need_w, need_b = self.needs_input_grad
        gw = (gy * x_hat).sum(axis=self.axes) if need_w else None
        gb = gy.sum(axis=self.axes) if need_b else None
        gx = None
        if need_x:
            g = gy if weight is None else gy * weight.reshape(self.cshape)
            C = g.shape[1]
            share = self.n_local / self.N  # this rank's weight in the global loss
            sums = np.empty(2 * C, g.dtype)
            sums[:C] = B.to_host(g.sum(axis=self.axes)) * share
            sums[C:] = B.to_host((g * x_hat).sum(axis=self.axes)) * share
            comm.all_reduce(sums)
            xp = self.xp
            s1 = xp.asarray(sums[:C] / self.n_local).reshape(self.cshape)
            s2 = xp.asarray(sums[C:] / self.n_local).reshape(self.cshape)
            gx = inv_std * (g - s1 - x_hat * s2)
        return gx, gw, gb


class SyncBatchNorm(_BatchNorm):
    """BatchNorm whose training statistics are those of the global batch over all ranks.

    Same parameters and buffers as ``BatchNorm1d/2d/3d`` (state dicts copy 1:1); eval mode uses
    the running statistics, like BatchNorm. With one rank it equals BatchNorm.

    Args:
        num_features (int): C.
        eps (float): added to the variance. Default 1e-5.
        momentum (float): running-average factor. Default 0.1.
        affine (bool): learn ``weight`` and ``bias``. Default True.
        track_running_stats (bool): keep running statistics. Default True.
        dtype: parameter dtype. Default: the default float dtype.

    Shape:
        (N, C, *) -> same; statistics per channel over N and * on all ranks.

    Example:
        >>> model = convert_sync_batchnorm(model)     # every BatchNorm -> SyncBatchNorm
    """

    _ndims = tuple(range(2, 8))
    _layout = "(N, C, *)"

    def forward(self, x):
        self._check_input(x)
        if not self.training:
            return super().forward(x)
        bufs = self._buffers
        if self.momentum is None:
            raise op_error("SyncBatchNorm", "a float momentum", "None (cumulative average)")
        if self.track_running_stats:
            bufs["num_batches_tracked"] += 1
        track = self.track_running_stats
        return _SyncBN.apply(x, self.weight, self.bias,
                             running_mean=bufs["running_mean"] if track else None,
                             running_var=bufs["running_var"] if track else None,
                             momentum=float(self.momentum), eps=float(self.eps))


def convert_sync_batchnorm(module):
    """Replace every BatchNorm in ``module`` by a SyncBatchNorm holding the same state.

    Args:
        module (Module): the model (changed in place; a bare BatchNorm is returned replaced).

    Returns:
        Module: ``module`` (or the new SyncBatchNorm when ``module`` itself is a BatchNorm).
    """
    if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
        ref = module.weight if module.affine else module.running_mean
        dtype = None if ref is None else ref.dtype
        new = SyncBatchNorm(module.num_features, module.eps, module.momentum, module.affine,
                            module.track_running_stats, dtype=dtype)
        new.load_state_dict(module.state_dict())
        new.train(module.training)
        return new
    for name, child in list(module._modules.items()):
        if child is not None:
            module._modules[name] = convert_sync_batchnorm(child)
    return module
