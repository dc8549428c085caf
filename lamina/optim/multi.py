"""``MultiOptimizer``: several named optimizers driven and checkpointed as one.

A GAN's discriminator and generator, or an encoder fine-tuned at another rate than a new head,
each keep their own optimizer; a Trainer and its checkpoints see one object whose state dict
holds every optimizer's state under its name.
"""

from __future__ import annotations

from .optimizer import Optimizer

__all__ = ["MultiOptimizer"]


class MultiOptimizer:
    """Named optimizers behind one optimizer interface.

    ``zero_grad`` and ``step`` act on every optimizer in order; ``param_groups`` lists all their
    groups (the first one's ``lr`` is what a Trainer logs); ``state_dict`` maps each name to
    that optimizer's state dict, so a checkpoint restores all of them exactly.

    Args:
        **optimizers (Optimizer): at least one, by name.

    Example:
        >>> opt = MultiOptimizer(discriminator=d_opt, generator=g_opt)
        >>> opt["generator"].step()          # one of them
        >>> lamina.io.save_checkpoint("ckpt.safetensors", gan, opt)   # both states
    """

    def __init__(self, **optimizers: Optimizer):
        if not optimizers:
            raise ValueError("MultiOptimizer: expected at least one named optimizer, got none")
        for name, opt in optimizers.items():
            if not isinstance(opt, Optimizer):
                raise TypeError(f"MultiOptimizer: expected an Optimizer for {name!r}, got "
                                f"{type(opt).__name__}")
        self.optimizers = dict(optimizers)

    def __getitem__(self, name: str) -> Optimizer:
        return self.optimizers[name]

    @property
    def param_groups(self) -> list:
        """Every optimizer's parameter groups, in order."""
        return [g for o in self.optimizers.values() for g in o.param_groups]

    def zero_grad(self, set_to_none: bool = True) -> None:
        """``zero_grad`` on every optimizer."""
        for o in self.optimizers.values():
            o.zero_grad(set_to_none)

    def step(self, closure=None):
        """``step`` every optimizer (a closure is evaluated once, before the first)."""
        loss = closure() if closure is not None else None
        for o in self.optimizers.values():
            o.step()
        return loss

    def state_dict(self) -> dict:
        """``{name: optimizer.state_dict()}``."""
        return {name: o.state_dict() for name, o in self.optimizers.items()}

    def load_state_dict(self, state: dict) -> None:
        """Restore a :meth:`state_dict`; its names must match this object's."""
        if set(state) != set(self.optimizers):
            raise ValueError(f"MultiOptimizer.load_state_dict: expected states for "
                             f"{sorted(self.optimizers)}, got {sorted(state)}")
        for name, o in self.optimizers.items():
            o.load_state_dict(state[name])

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={type(o).__name__}" for k, o in self.optimizers.items())
        return f"MultiOptimizer({inner})"
