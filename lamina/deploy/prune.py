"""Pruning: magnitude masks (layer-wise or global) kept through training, a gradual polynomial
schedule, lottery-ticket rewinding, structured filter pruning to a smaller dense model, and
``sparsity_report``.

Masks live beside the model, as ``torch.nn.utils.prune`` keeps them: a forward pre-hook
multiplies each pruned weight by its mask before every forward, so optimizer updates never
revive a pruned weight and the model's code is untouched. ``Pruner.remove()`` makes the zeros
permanent and drops the hooks.
"""

from __future__ import annotations

import copy

from .. import backend as B
from ..errors import check
from ..nn.conv import Conv1d, Conv2d
from ..nn.layers import Linear
from ..train.callbacks.base import Callback

np = B.np

__all__ = ["Pruner", "magnitude_prune", "polynomial_sparsity", "GradualPruning",
           "LotteryTicket", "sparsity_report"]

PRUNABLE = (Linear, Conv1d, Conv2d)


def _layers(model, types=PRUNABLE):
    return [(n, m) for n, m in model.named_modules() if isinstance(m, types)]


class Pruner:
    """Weight masks of a model's Linear/Conv layers, re-applied before every forward.

    Args:
        model (Module): the model to prune (its weights are masked in place).
        scope (str): ``"global"`` (one magnitude threshold over all layers, default) or
            ``"layer"`` (the same fraction in each layer).
        types (tuple): layer classes pruned. Default Linear, Conv1d, Conv2d.
    """

    def __init__(self, model, scope: str = "global", types=PRUNABLE):
        check(scope in ("global", "layer"), "Pruner", "scope 'global' or 'layer'", repr(scope),
              cls=ValueError)
        self.model, self.scope = model, scope
        self.layers = _layers(model, types)
        check(bool(self.layers), "Pruner", "a model with Linear/Conv layers", "none")
        self.masks = {n: np.ones(m.weight.shape, bool) for n, m in self.layers}
        self.handles = [m.register_forward_pre_hook(self._hook(n)) for n, m in self.layers]
        self.sparsity = 0.0

    def _hook(self, name):
        def apply(module, args):
            module.weight.array *= self.masks[name]
        return apply

    def prune(self, sparsity: float) -> "Pruner":
        """Zero the ``sparsity`` fraction of smallest-magnitude weights (masks only grow).

        Args:
            sparsity (float): target fraction of zeros in [0, 1).

        Returns:
            Pruner: self.
        """
        check(0.0 <= sparsity < 1.0, "Pruner.prune", "sparsity in [0, 1)", f"{sparsity}",
              cls=ValueError)
        weights = {n: np.abs(m.weight.array) * self.masks[n] for n, m in self.layers}
        if self.scope == "global":
            flat = np.concatenate([w.reshape(-1) for w in weights.values()])
            k = int(round(sparsity * flat.size))
            thr = np.partition(flat, k - 1)[k - 1] if k > 0 else -1.0
            for n, w in weights.items():
                self.masks[n] &= w > thr
        else:
            for n, w in weights.items():
                k = int(round(sparsity * w.size))
                if k > 0:
                    thr = np.partition(w.reshape(-1), k - 1)[k - 1]
                    self.masks[n] &= w > thr
        self.apply()
        self.sparsity = float(sparsity)
        return self

    def apply(self) -> None:
        """Multiply each weight by its mask now."""
        for n, m in self.layers:
            m.weight.array *= self.masks[n]

    def remove(self):
        """Make the pruning permanent (zeros stay) and remove the hooks. Returns the model."""
        self.apply()
        for h in self.handles:
            h.remove()
        self.handles = []
        return self.model


def magnitude_prune(model, amount: float, scope: str = "global", types=PRUNABLE) -> Pruner:
    """Unstructured magnitude pruning (``torch.nn.utils.prune.global_unstructured`` with L1).

    Args:
        model (Module): pruned in place. amount (float): fraction of weights set to zero.
        scope (str): ``"global"`` (default) or ``"layer"``. types: layers pruned.

    Returns:
        Pruner: holds the masks, which stay applied through training until ``remove()``.

    Example:
        >>> pr = magnitude_prune(model, 0.8)
        >>> sparsity_report(model)["total"]["sparsity"] >= 0.79
        True
    """
    return Pruner(model, scope, types).prune(amount)


def polynomial_sparsity(step: int, final: float, begin: int, end: int, initial: float = 0.0,
                        power: int = 3) -> float:
    """Gradual pruning schedule of Zhu & Gupta (2017):
    ``s_t = s_f + (s_i - s_f) * (1 - (t - t0) / (t1 - t0)) ** power`` between ``begin`` and
    ``end``; ``initial`` before, ``final`` after.

    Args:
        step (int): current step (or epoch). final (float): target sparsity.
        begin, end (int): schedule start and end (end > begin).
        initial (float): starting sparsity. Default 0. power (int): Default 3.

    Returns:
        float: the sparsity at ``step``.
    """
    check(end > begin, "polynomial_sparsity", "end > begin", f"begin={begin}, end={end}",
          cls=ValueError)
    if step <= begin:
        return float(initial)
    if step >= end:
        return float(final)
    frac = 1.0 - (step - begin) / (end - begin)
    return float(final + (initial - final) * frac ** power)


class GradualPruning(Callback):
    """A ``Trainer`` callback that raises the sparsity on the polynomial schedule at the start
    of each epoch (iterative prune -> fine-tune).

    Args:
        final (float): target sparsity. begin, end (int): epochs of the schedule.
        scope (str): ``"global"`` (default) or ``"layer"``. power (int): Default 3.
    """

    def __init__(self, final: float, begin: int = 0, end: int = 5, scope: str = "global",
                 power: int = 3):
        super().__init__()
        self.final, self.begin, self.end, self.scope, self.power = final, begin, end, scope, power
        self.pruner = None
        self.schedule = []

    def on_epoch_begin(self, epoch, logs=None):
        if self.pruner is None:
            self.pruner = Pruner(self.model, self.scope)
        s = polynomial_sparsity(epoch, self.final, self.begin, self.end, power=self.power)
        self.pruner.prune(s)
        self.schedule.append((epoch, s))


class LotteryTicket:
    """Lottery-ticket rewinding (Frankle & Carbin 2019; Frankle et al. 2020 for late rewind):
    remember the weights now, train, prune, then :meth:`rewind` the surviving weights to the
    remembered values and train again with the masks.

    Args:
        model (Module): call this at initialisation (or after ``k`` warm-up steps).
    """

    def __init__(self, model):
        self.model = model
        self.saved = {n: p.array.copy() for n, p in model.named_parameters()}

    def rewind(self, pruner: Pruner | None = None) -> None:
        """Reset every parameter to its remembered value (masked weights stay zero)."""
        for n, p in self.model.named_parameters():
            p.array[...] = self.saved[n]
        if pruner is not None:
            pruner.apply()


def sparsity_report(model) -> dict:
    """Zeros per prunable layer and in total.

    Args:
        model (Module): any model.

    Returns:
        dict: ``{"layers": [{"name", "type", "params", "zeros", "sparsity"}, ...],
        "total": {"params", "zeros", "sparsity"}}`` (weights of Linear/Conv layers).
    """
    rows, tp, tz = [], 0, 0
    for n, m in _layers(model):
        w = m.weight.array
        z = int((w == 0).sum())
        rows.append({"name": n, "type": type(m).__name__, "params": int(w.size), "zeros": z,
                     "sparsity": z / max(w.size, 1)})
        tp, tz = tp + w.size, tz + z
    return {"layers": rows, "total": {"params": int(tp), "zeros": int(tz),
                                      "sparsity": tz / max(tp, 1)}}


def compressed_size_bytes(model) -> int:
    """Bytes of the model stored sparsely: nonzero float32 values plus a 1-bit mask per weight
    of each Linear/Conv, and every other parameter and buffer dense."""
    total = 0
    pruned = {id(m.weight) for _, m in _layers(model)}
    for p in model.parameters():
        a = p.array
        total += (int((a != 0).sum()) * a.itemsize + (a.size + 7) // 8) if id(p) in pruned \
            else a.nbytes
    for m in model.modules():
        total += sum(np.asarray(b).nbytes for b in m._buffers.values() if b is not None)
    return int(total)


def copy_model(model):
    """A deep copy (pruning a copy leaves the original as it was)."""
    return copy.deepcopy(model)
