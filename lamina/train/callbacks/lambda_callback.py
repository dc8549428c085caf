"""``LambdaCallback``: a callback from plain functions."""

from __future__ import annotations

from .base import _HOOKS, Callback

__all__ = ["LambdaCallback"]


class LambdaCallback(Callback):
    """Build a callback from functions with the hooks' signatures (Keras's ``LambdaCallback``).

    Args:
        on_epoch_begin, on_epoch_end: ``f(epoch, logs)``.
        on_train_batch_begin, on_train_batch_end: ``f(batch, logs)``.
        on_train_begin, on_train_end, on_test_begin, on_test_end: ``f(logs)``.

    Example:
        >>> LambdaCallback(on_epoch_end=lambda epoch, logs: print(epoch, logs["loss"]))
    """

    def __init__(self, **hooks):
        unknown = sorted(set(hooks) - set(_HOOKS))
        if unknown:
            raise TypeError(f"LambdaCallback: expected hooks among {list(_HOOKS)}, got "
                            f"{unknown}")
        for name, fn in hooks.items():
            if fn is not None:
                setattr(self, name, fn)
