"""``History``: the per-epoch logs of a training run (Keras's ``History``)."""

from __future__ import annotations

import math

__all__ = ["History"]


class History:
    """Per-epoch values of every log key.

    Attributes:
        history (dict[str, list[float]]): ``loss``, metric names, ``val_loss``, ``val_*``,
            ``lr``... one value per epoch (NaN where a key was missing that epoch).
        epoch (list[int]): the 0-based epoch index of each entry.

    Example:
        >>> hist = trainer.fit(train, epochs=10, validation=val)
        >>> hist.history["val_accuracy"][-1], hist.best("val_loss")
    """

    def __init__(self):
        self.history: dict[str, list] = {}
        self.epoch: list[int] = []

    def append(self, epoch: int, logs: dict) -> None:
        """Record one epoch's ``logs`` (numbers only)."""
        n = len(self.epoch)
        self.epoch.append(int(epoch))
        for k, v in logs.items():
            self.history.setdefault(k, [math.nan] * n).append(float(v))
        for k, vals in self.history.items():
            if len(vals) == n:
                vals.append(math.nan)

    def __getitem__(self, key: str) -> list:
        return self.history[key]

    def __contains__(self, key: str) -> bool:
        return key in self.history

    def __len__(self) -> int:
        return len(self.epoch)

    def keys(self):
        return self.history.keys()

    def best(self, key: str, mode: str = "min") -> float:
        """The smallest (``mode="min"``) or largest (``"max"``) recorded value of ``key``."""
        vals = [v for v in self.history[key] if not math.isnan(v)]
        return min(vals) if mode == "min" else max(vals)

    def state_dict(self) -> dict:
        """``{"history": {key: [floats]}, "epoch": [ints]}`` (JSON-able)."""
        return {"history": {k: list(v) for k, v in self.history.items()},
                "epoch": list(self.epoch)}

    def load_state_dict(self, state: dict) -> None:
        """Restore :meth:`state_dict` (or a plain ``{key: list}`` dict)."""
        if "history" in state and isinstance(state["history"], dict):
            self.history = {k: [float(x) for x in v] for k, v in state["history"].items()}
            self.epoch = [int(e) for e in state.get("epoch", [])]
        else:
            self.history = {k: [float(x) for x in v] for k, v in state.items()}
            self.epoch = list(range(max((len(v) for v in self.history.values()), default=0)))

    def __repr__(self) -> str:
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"
