"""Learning-rate range test (Smith 2017; the fastai "lr finder").

Train for a few iterations while the lr grows exponentially from ``start_lr`` to ``end_lr``,
record the (smoothed) loss, stop when it diverges, and put the model and optimizer back as
they were. The lr where the loss falls fastest is a good starting lr.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

from .. import backend as B
from ..errors import check
from .optimizer import Optimizer

__all__ = ["lr_finder", "LRFinderResult"]


@dataclass
class LRFinderResult:
    """What :func:`lr_finder` recorded.

    Attributes:
        lrs (list[float]): the learning rate of each iteration run.
        losses (list[float]): the exponentially smoothed (bias-corrected) loss at each.
        diverged (bool): whether the run stopped early because the loss blew up.
    """

    lrs: list = field(default_factory=list)
    losses: list = field(default_factory=list)
    diverged: bool = False

    def suggestion(self, skip_start: int = 0, skip_end: int = 0) -> float:
        """The lr at the steepest descent of the loss against ``log10(lr)``.

        Args:
            skip_start (int): points ignored at the start. Default 0.
            skip_end (int): points ignored at the end (the divergence). Default 0.

        Returns:
            float: the suggested learning rate.

        Raises:
            ValueError: fewer than 3 points remain.
        """
        np = B.np
        end = len(self.lrs) - skip_end
        lrs = np.asarray(self.lrs[skip_start:end], dtype=np.float64)
        losses = np.asarray(self.losses[skip_start:end], dtype=np.float64)
        check(len(lrs) >= 3, "LRFinderResult.suggestion", "at least 3 recorded points",
              str(len(lrs)), "run more iterations or skip fewer points", cls=ValueError)
        ok = np.isfinite(losses)
        lrs, losses = lrs[ok], losses[ok]
        check(len(lrs) >= 3, "LRFinderResult.suggestion", "at least 3 finite losses",
              str(len(lrs)), cls=ValueError)
        slope = np.gradient(losses, np.log10(lrs))
        return float(lrs[int(np.argmin(slope))])


def lr_finder(model_step, optimizer: Optimizer, start_lr: float = 1e-7, end_lr: float = 10.0,
              num_iter: int = 100, smooth: float = 0.05, diverge_th: float = 5.0):
    """Run the lr range test and restore the parameters and optimizer afterwards.

    At iteration ``i`` every param group's lr is ``start_lr * (end_lr / start_lr) **
    (i / (num_iter - 1))``; the finder calls ``optimizer.zero_grad()``, ``loss =
    model_step()``, ``optimizer.step()``. The recorded loss is ``avg = (1 - smooth) * avg +
    smooth * loss``, bias-corrected by ``1 - (1 - smooth) ** (i + 1)``. It stops after the
    first iteration whose smoothed loss is not finite or exceeds ``diverge_th`` times the
    best so far.

    Args:
        model_step (callable): ``model_step() -> float``: one forward and backward pass on a
            batch (fills the ``.grad`` of the optimizer's parameters), returning the loss.
        optimizer (Optimizer): its parameters, state and groups are restored at the end.
        start_lr (float): first lr (> 0). Default 1e-7.
        end_lr (float): last lr (> start_lr). Default 10.
        num_iter (int): iterations at most (>= 2). Default 100.
        smooth (float): smoothing weight of the new loss, in (0, 1]. Default 0.05.
        diverge_th (float): divergence threshold, a multiple of the best loss. Default 5.

    Returns:
        LRFinderResult: ``lrs``, ``losses`` and ``suggestion()``.

    Example:
        >>> def model_step():
        ...     x, y = next(batches)
        ...     loss = F.mse_loss(model(x), y); loss.backward()
        ...     return loss.item()
        >>> res = lr_finder(model_step, SGD(model.parameters(), lr=0.1))
        >>> lr = res.suggestion()
    """
    check(0 < start_lr < end_lr, "lr_finder", "0 < start_lr < end_lr",
          f"start_lr={start_lr}, end_lr={end_lr}", cls=ValueError)
    check(int(num_iter) == num_iter and num_iter >= 2, "lr_finder", "num_iter >= 2",
          str(num_iter), cls=ValueError)
    check(0 < smooth <= 1, "lr_finder", "0 < smooth <= 1", str(smooth), cls=ValueError)
    check(diverge_th > 1, "lr_finder", "diverge_th > 1", str(diverge_th), cls=ValueError)
    params = [p for g in optimizer.param_groups for p in g["params"]]
    saved_params = [p.array.copy() for p in params]
    saved_state = optimizer.state_dict()
    saved_groups = copy.deepcopy([{k: v for k, v in g.items() if k != "params"}
                                  for g in optimizer.param_groups])
    res = LRFinderResult()
    gamma = (end_lr / start_lr) ** (1.0 / (num_iter - 1))
    avg, best = 0.0, math.inf
    try:
        for i in range(int(num_iter)):
            lr = start_lr * gamma ** i
            for g in optimizer.param_groups:
                g["lr"] = lr
            optimizer.zero_grad()
            loss = float(model_step())
            optimizer.step()
            avg = (1.0 - smooth) * avg + smooth * loss
            smoothed = avg / (1.0 - (1.0 - smooth) ** (i + 1))
            res.lrs.append(lr)
            res.losses.append(smoothed)
            if not math.isfinite(smoothed) or smoothed > diverge_th * best:
                res.diverged = True
                break
            best = min(best, smoothed)
    finally:
        for p, d in zip(params, saved_params):
            p.array[...] = d
            p._grad = None
        groups = optimizer.param_groups  # keep the group dicts others may hold
        optimizer.load_state_dict(saved_state)
        optimizer.param_groups = groups
        for g, sg in zip(groups, saved_groups):
            for k in [k for k in g if k != "params" and k not in sg]:
                del g[k]
            g.update(sg)
    return res
