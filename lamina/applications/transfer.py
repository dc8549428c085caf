"""Transfer learning (seed Q33): reuse a pretrained network on a new task with few labels.

The pieces of the usual recipe, each small and usable alone:

* :func:`load_pretrained`: copy a saved backbone into a new model (``prefix`` picks a
  sub-network's keys out of a whole model's state dict).
* :func:`replace_head`: swap the last layer (or any sub-module) for one sized to the new task.
* ``Module.freeze()`` / ``unfreeze()``: stop gradients; a frozen module's BatchNorm layers stay
  in eval mode, so their running statistics remain the pretrained ones.
* :func:`discriminative_param_groups`: one optimizer group per layer, the learning rate shrinking
  by ``decay`` per layer away from the output (ULMFiT's discriminative fine-tuning).
* :class:`GradualUnfreezing`: a Trainer callback that unfreezes layer groups from the top down,
  one every ``every`` epochs.

Example:
    >>> model = LeNet5(num_classes=5, batch_norm=True)
    >>> load_pretrained(model, "pretrained.safetensors", strict=False)
    >>> replace_head(model, "classifier.-1", nn.Linear(84, 5))
    >>> groups = layer_groups(model)
    >>> opt = optim.Adam(discriminative_param_groups(model, 1e-3, decay=2.6, groups=groups))
    >>> Trainer(model, opt, "cross_entropy").fit((x, y), epochs=30, batch_size=16,
    ...     callbacks=[GradualUnfreezing([g for _, g in groups[:-1]], every=5)])
"""

from __future__ import annotations

import os

from ..errors import check
from ..nn.module import Module
from ..train.callbacks.base import Callback

__all__ = ["replace_head", "layer_groups", "discriminative_param_groups", "load_pretrained",
           "GradualUnfreezing"]


def _parent_and_key(model: Module, where):
    """``(parent, child_key)`` for an int index or a dotted path whose parts may be indices."""
    parts = [where] if isinstance(where, int) else str(where).split(".")
    check(len(parts) > 0 and parts != [""], "replace_head", "a child name, dotted path or index",
          repr(where))
    parent = model
    for i, part in enumerate(parts):
        keys = list(parent._modules)
        if isinstance(part, int) or part.lstrip("-").isdigit() and part not in parent._modules:
            idx = int(part)
            check(-len(keys) <= idx < len(keys), "replace_head",
                  f"an index in [-{len(keys)}, {len(keys)}) of {type(parent).__name__}",
                  repr(idx))
            part = keys[idx]
        check(part in parent._modules, "replace_head",
              f"a child of {type(parent).__name__} (one of {keys})", repr(part))
        if i == len(parts) - 1:
            return parent, part
        parent = parent._modules[part]
    raise AssertionError("unreachable")  # pragma: no cover


def replace_head(model: Module, where, new_module: Module) -> Module:
    """Replace a sub-module (usually the classifier) with ``new_module``, in place.

    Args:
        model (Module): the network.
        where (str or int): a child's name (``"fc"``), a dotted path (``"classifier.5"``), an
            index into a ``Sequential`` model, or a path ending in a negative index
            (``"classifier.-1"``, the last layer of ``model.classifier``).
        new_module (Module): the replacement (trainable; it takes the parent's train/eval mode).

    Returns:
        Module: the module that was replaced.

    Raises:
        ValueError: ``where`` names no child.

    Example:
        >>> old = replace_head(model, "classifier.-1", nn.Linear(84, 5))
        >>> old.out_features, model.classifier[-1].out_features
        (10, 5)
    """
    check(isinstance(new_module, Module), "replace_head", "a Module as new_module",
          type(new_module).__name__, cls=TypeError)
    parent, key = _parent_and_key(model, where)
    old = parent._modules[key]
    parent.add_module(key, new_module)
    new_module.train(parent.training)
    return old


def _has_running_stats(m: Module) -> bool:
    return any(k.startswith("running_") for k in m._buffers)


def layer_groups(model: Module) -> list:
    """Split a network into layers, from the input to the output, for per-layer learning rates
    and unfreezing.

    Each module that owns parameters starts a group, except normalization layers (modules with
    running statistics), which join the layer before them (a conv and its BatchNorm form one
    group). Modules are taken in registration order, which is the forward order for
    ``Sequential`` stacks and for models that register layers as they use them.

    Args:
        model (Module): the network.

    Returns:
        list of ``(name, Module list)``: ``name`` is the qualified name of the group's first
        module; the list holds the group's modules.

    Example:
        >>> [n for n, _ in layer_groups(LeNet5(batch_norm=True))]
        ['features.0', 'features.4', 'classifier.1', 'classifier.3', 'classifier.5']
    """
    groups: list = []
    for name, m in model.named_modules():
        if not any(p is not None for p in m._parameters.values()):
            continue
        if groups and _has_running_stats(m):
            groups[-1][1].append(m)
        else:
            groups.append((name, [m]))
    return groups


def _group_params(group) -> list:
    mods = group if isinstance(group, (list, tuple)) else [group]
    out, seen = [], set()
    for m in mods:
        for p in m.parameters():
            if id(p) not in seen:
                seen.add(id(p))
                out.append(p)
    return out


def discriminative_param_groups(model: Module, base_lr: float, decay: float = 2.6,
                                groups=None) -> list:
    """Optimizer parameter groups with learning rates growing towards the output.

    The last group (the head) gets ``base_lr``; each group before it gets the next one's rate
    divided by ``decay`` (Howard & Ruder, 2018, "Universal Language Model Fine-tuning", use 2.6).
    General low-level features change little; the task-specific top changes most. Frozen
    parameters are included (the optimizer skips them while their gradient is None), so one
    optimizer serves a whole gradual-unfreezing run.

    Args:
        model (Module): the network.
        base_lr (float): learning rate of the last group.
        decay (float): ratio between neighbouring groups' rates, >= 1. Default 2.6.
        groups (list, optional): from input to output: modules, dotted names, lists of them, or
            :func:`layer_groups` pairs. Parameters in no group join the last one.
            Default: :func:`layer_groups` of ``model``.

    Returns:
        list of dict: ``{"params": [...], "lr": float, "name": str}`` per group, ready for any
        ``lamina.optim`` optimizer.

    Example:
        >>> opt = optim.Adam(discriminative_param_groups(model, 1e-3, decay=2.0))
        >>> [round(g["lr"], 6) for g in opt.param_groups][-2:]
        [0.0005, 0.001]
    """
    check(base_lr > 0 and decay >= 1, "discriminative_param_groups", "base_lr > 0 and decay >= 1",
          f"base_lr={base_lr}, decay={decay}")
    groups = layer_groups(model) if groups is None else list(groups)
    check(len(groups) > 0, "discriminative_param_groups", "at least one group", "none")
    named = []
    for i, g in enumerate(groups):
        if isinstance(g, tuple) and len(g) == 2 and isinstance(g[0], str):
            name, g = g
        else:
            name = g if isinstance(g, str) else str(i)
        if isinstance(g, str):
            g = model.get_submodule(g)
        elif isinstance(g, (list, tuple)):
            g = [model.get_submodule(x) if isinstance(x, str) else x for x in g]
        named.append((name, _group_params(g)))
    seen = {id(p) for _, ps in named for p in ps}
    rest = [p for p in model.parameters() if id(p) not in seen]
    named[-1] = (named[-1][0], named[-1][1] + rest)
    n = len(named)
    return [{"params": ps, "lr": base_lr / decay ** (n - 1 - i), "name": name}
            for i, (name, ps) in enumerate(named) if ps]


def load_pretrained(module: Module, source, prefix: str = "", strict: bool = True):
    """Load pretrained weights into ``module`` from a file or a state dict.

    Args:
        module (Module): the receiving network or sub-network (e.g. ``model.features``).
        source (str, PathLike or dict): a file written by ``lamina.io.save(state_dict, path)``
            or a state dict.
        prefix (str): use only keys starting with it, stripped (``"features."`` loads a whole
            model's backbone into ``model.features``). Default "".
        strict (bool): raise on missing or unexpected keys (a head sized for another task is
            reported as a size mismatch either way: replace it after loading, or load the
            backbone with ``prefix``). Default True.

    Returns:
        ``(missing_keys, unexpected_keys)``.

    Example:
        >>> lamina.io.save(pretrained.state_dict(), "lenet.safetensors")
        >>> load_pretrained(model.features, "lenet.safetensors", prefix="features.")
    """
    if isinstance(source, (str, os.PathLike)):
        from ..io import load
        source = load(source)
    check(isinstance(source, dict), "load_pretrained", "a path or a state dict",
          type(source).__name__, cls=TypeError)
    return module.load_state_dict(source, strict=strict, prefix=prefix)


class GradualUnfreezing(Callback):
    """Unfreeze layer groups from the output down, one every ``every`` epochs (ULMFiT).

    When training begins every group is frozen (``freeze(bn_eval)``); modules outside the
    groups (the new head) train from the first epoch. At the start of epoch ``k * every`` the
    ``k`` groups nearest the output are unfrozen. The schedule depends only on the epoch index,
    so a resumed run unfreezes the same groups.

    Args:
        groups (list): modules (or dotted names, or lists of modules) from input to output.
        every (int): epochs between unfreezing steps, >= 1. Default 1.
        bn_eval (bool): hold frozen groups' BatchNorm layers in eval mode. Default True.

    Attributes:
        unfrozen (int): number of groups unfrozen so far.

    Example:
        >>> groups = [g for _, g in layer_groups(model)[:-1]]      # all but the head
        >>> trainer.fit((x, y), epochs=20, batch_size=16,
        ...             callbacks=[GradualUnfreezing(groups, every=4)])
    """

    def __init__(self, groups, every: int = 1, bn_eval: bool = True):
        check(isinstance(every, int) and every >= 1, "GradualUnfreezing", "an integer every >= 1",
              repr(every))
        self.groups = list(groups)
        check(len(self.groups) > 0, "GradualUnfreezing", "at least one group", "none")
        self.every, self.bn_eval = every, bn_eval
        self.unfrozen = 0

    def _modules(self, i: int) -> list:
        g = self.groups[i]
        g = g if isinstance(g, (list, tuple)) else [g]
        return [self.model.get_submodule(m) if isinstance(m, str) else m for m in g]

    def _set(self, n: int) -> None:
        k = len(self.groups)
        for i in range(k):
            for m in self._modules(i):
                if i >= k - n:
                    m.unfreeze()
                    m.train(self.model.training)
                else:
                    m.freeze(bn_eval=self.bn_eval)
        self.unfrozen = n

    def on_train_begin(self, logs=None):
        self._set(0)

    def on_epoch_begin(self, epoch, logs=None):
        n = min(len(self.groups), epoch // self.every)
        if n != self.unfrozen:
            self._set(n)
