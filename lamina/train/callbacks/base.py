"""``Callback``: Keras's hook names, called by :class:`~lamina.train.Trainer`."""

from __future__ import annotations

__all__ = ["Callback", "CallbackList", "resolve_mode"]

_HIGHER = ("acc", "auc", "f1", "precision", "recall", "r2", "average_precision")


def resolve_mode(monitor: str, mode: str, op: str) -> str:
    """``"min"`` or ``"max"`` for ``monitor``; ``"auto"`` looks the metric up in the registry
    (``val_`` stripped), then falls back to max for accuracy-like names and min otherwise."""
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{op}: expected mode in ('auto', 'min', 'max'), got {mode!r}")
    if mode != "auto":
        return mode
    from ...metrics import available_metrics, get_metric
    name = monitor[4:] if monitor.startswith("val_") else monitor
    if name in available_metrics():
        return "max" if get_metric(name).higher_is_better else "min"
    return "max" if any(h in name for h in _HIGHER) else "min"


class Callback:
    """Base class: override the hooks you need; all default to doing nothing.

    The trainer calls ``set_trainer(trainer)`` first; then ``self.trainer``, ``self.model``,
    ``self.optimizer`` and ``self.history`` are available. Set ``self.trainer.stop_training =
    True`` to stop after the current batch/epoch. ``logs`` dicts map names to floats: batch
    hooks get the running epoch means, ``on_epoch_end`` the epoch's ``loss``, metrics,
    ``val_*`` and ``lr``.

    A callback that defines ``state_dict()``/``load_state_dict()`` has its state saved in
    trainer checkpoints and restored on resume.
    """

    trainer = None

    def set_trainer(self, trainer) -> None:
        self.trainer = trainer

    @property
    def model(self):
        return self.trainer.model

    @property
    def optimizer(self):
        return self.trainer.optimizer

    @property
    def history(self):
        return self.trainer.history

    def on_train_begin(self, logs=None): ...
    def on_train_end(self, logs=None): ...
    def on_epoch_begin(self, epoch, logs=None): ...
    def on_epoch_end(self, epoch, logs=None): ...
    def on_train_batch_begin(self, batch, logs=None): ...
    def on_train_batch_end(self, batch, logs=None): ...
    def on_test_begin(self, logs=None): ...
    def on_test_end(self, logs=None): ...


_HOOKS = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
          "on_train_batch_begin", "on_train_batch_end", "on_test_begin", "on_test_end")


class CallbackList:
    """Calls a hook on every callback in order (``callbacks.on_epoch_end(epoch, logs)``)."""

    def __init__(self, callbacks=(), trainer=None):
        self.callbacks = list(callbacks)
        for c in self.callbacks:
            if not isinstance(c, Callback):
                raise TypeError(f"Trainer.fit: expected Callback instances in callbacks, got "
                                f"{type(c).__name__}")
            if trainer is not None:
                c.set_trainer(trainer)

    def __iter__(self):
        return iter(self.callbacks)

    def __len__(self) -> int:
        return len(self.callbacks)

    def keys(self) -> list:
        """A stable key per callback (class name, with an index when repeated)."""
        names = [type(c).__name__ for c in self.callbacks]
        return [n if names.count(n) == 1 else f"{n}_{names[:i].count(n)}"
                for i, n in enumerate(names)]

    def __getattr__(self, hook):
        if hook not in _HOOKS:
            raise AttributeError(hook)

        def call(*args):
            for c in self.callbacks:
                getattr(c, hook)(*args)
        return call
