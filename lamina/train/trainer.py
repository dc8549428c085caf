"""``Trainer``: ``fit``/``evaluate``/``predict`` with Keras-style callbacks and exact resumption.

The batch step is a replaceable function (``step_fn``), so GAN and RL loops reuse the epoch loop,
callbacks, logging and checkpoints without forking the trainer.
"""

from __future__ import annotations

import os

from .. import backend as B
from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor
from ..metrics import get_metric
from ._data import as_loader, class_weighted, split_validation
from .callbacks.base import CallbackList
from .callbacks.lr_scheduler import step_scheduler
from .callbacks.progress_bar import ProgressBar
from .history import History
from .step import compute_loss, default_step, split_batch

__all__ = ["Trainer"]

np = B.np


def _resolve_loss(loss_fn):
    if loss_fn is None or callable(loss_fn):
        return loss_fn
    from .. import functional as F
    fn = getattr(F, str(loss_fn), None)
    if fn is None:
        raise ValueError(f"Trainer: expected a callable loss_fn or a lamina.functional loss name "
                         f"('cross_entropy', 'mse_loss'...), got {loss_fn!r}")
    return fn


def _batch_len(x) -> int:
    try:
        return len(x)
    except TypeError:
        return 1


def _host(a):
    return B.to_host(a.array if isinstance(a, Tensor) else a)


class Trainer:
    """Train a model with a loop you never have to write.

    Args:
        model (Module): the network.
        optimizer (Optimizer): e.g. ``lamina.optim.Adam(model.parameters(), lr=1e-3)``.
        loss_fn (callable or str): ``loss_fn(outputs, targets) -> scalar Tensor`` (logits in, as
            ``F.cross_entropy``), or a ``lamina.functional`` name. Default None (custom steps).
        metrics (sequence): registered names (``"accuracy"``, ``"f1_macro"``, ``"r2"``...; see
            :func:`lamina.metrics.available_metrics`) or callables ``f(y_true, outputs)``.
            Computed once per epoch on the accumulated outputs (exact for F1, AUC...).
            Default ``("accuracy",)``.
        scheduler (optional): an lr scheduler stepped after every epoch (or batch, see
            ``scheduler_interval``); ``ReduceLROnPlateau`` receives ``scheduler_monitor``.
        step_fn (callable, optional): ``step_fn(trainer, batch) -> dict``; default
            :func:`~lamina.train.step.default_step`.
        device (str): ``"cpu"`` or ``"cuda"``; the model and batches are moved there.
            Default ``"cpu"``.
        grad_clip (float, optional): clip the global gradient norm to this value. Default None.
        scheduler_interval (str): ``"epoch"`` (default) or ``"step"``.
        scheduler_monitor (str, optional): log key for ``ReduceLROnPlateau`` (default
            ``val_loss`` when validating, else ``loss``).
        compile (bool): the default step runs the forward and the loss through
            :func:`lamina.compile` (captured once per batch shape, then replayed; the same
            numbers as eager, see :mod:`lamina.nn.compiled`). Default False.

    Attributes:
        history (History): the running history.
        stop_training (bool): set by a callback to stop after the current epoch.
        epoch (int): completed epochs.
        global_step (int): optimizer steps taken.
        train_loader: the loader being fitted.
        params (dict): ``epochs``, ``steps``, ``verbose``.

    Example:
        >>> trainer = Trainer(model, Adam(model.parameters(), 1e-3), F.cross_entropy)
        >>> hist = trainer.fit((X, y), epochs=20, batch_size=64, validation=(Xv, yv))
        >>> trainer.evaluate((Xt, yt), batch_size=256)["accuracy"]
    """

    def __init__(self, model, optimizer=None, loss_fn=None, metrics=("accuracy",),
                 scheduler=None, step_fn=None, device: str = "cpu", grad_clip=None,
                 scheduler_interval: str = "epoch", scheduler_monitor: str | None = None,
                 compile: bool = False):  # noqa: A002 - torch.compile's word
        if scheduler_interval not in ("epoch", "step"):
            raise ValueError(f"Trainer: expected scheduler_interval 'epoch' or 'step', got "
                             f"{scheduler_interval!r}")
        self.model, self.optimizer, self.scheduler = model, optimizer, scheduler
        self.loss_fn = _resolve_loss(loss_fn)
        self.metrics = [get_metric(m) for m in (metrics or ())]
        self.step_fn = step_fn or default_step
        self.device, self.grad_clip = device, grad_clip
        self.compile, self._compiled = bool(compile), None
        self.scheduler_interval, self.scheduler_monitor = scheduler_interval, scheduler_monitor
        if device != "cpu":
            model.to(device)
        first = next(iter(model.parameters()), None)
        self.param_dtype = None if first is None else first.dtype
        self.history = History()
        self.stop_training = False
        self.epoch = self.global_step = 0
        self.train_loader = None
        self.params: dict = {}
        self.callbacks = CallbackList()
        self._batch_size = None
        self._pending: dict = {}

    # ------------------------------------------------------------------ helpers
    def to_device(self, batch):
        """Move the Tensors of a batch to the trainer's device."""
        if self.device == "cpu":
            return batch
        if isinstance(batch, Tensor):
            return batch.to(self.device)
        if isinstance(batch, (tuple, list)):
            return type(batch)(self.to_device(b) for b in batch)
        if isinstance(batch, dict):
            return {k: self.to_device(v) for k, v in batch.items()}
        return batch

    def _loader(self, data, batch_size, shuffle, op):
        return as_loader(data, batch_size, shuffle, f"Trainer.{op}",
                         default_batch_size=self._batch_size)

    def compute_metrics(self, y_true: list, y_pred: list) -> dict:
        """Every metric on the concatenated host arrays of an epoch."""
        if not self.metrics or not y_pred:
            return {}
        t, p = np.concatenate(y_true), np.concatenate(y_pred)
        return {m.name: float(m(t, p)) for m in self.metrics}

    # ------------------------------------------------------------------ training
    def fit(self, train, epochs: int = 1, validation=None, callbacks=(), verbose: int = 1,
            initial_epoch: int = 0, batch_size: int | None = None, shuffle: bool = True,
            checkpoint=None, resume=False, validation_batch_size: int | None = None,
            validation_data=None, validation_split: float = 0.0,
            class_weight: dict | None = None) -> History:
        """Train for ``epochs`` epochs (counting from ``initial_epoch``).

        Args:
            train: a DataLoader, a Dataset or an ``(X, y)`` tuple (then ``batch_size`` is
                required); datasets get a shuffling ``lamina.data.DataLoader``.
            epochs (int): index of the last epoch (Keras's convention). Default 1.
            validation: data evaluated after each epoch (logs ``val_loss``, ``val_<metric>``).
            callbacks (sequence of Callback): default ().
            verbose (int): 0 silent, 1 progress bar (live on a TTY, else a line per epoch),
                2 one line per epoch. Default 1.
            initial_epoch (int): epoch to start at (the history continues). Default 0.
            batch_size (int, optional): for datasets and tuples. Default None.
            shuffle (bool): shuffle training data that is not already a loader. Default True.
            checkpoint (str, optional): write a full checkpoint here (atomically) after every
                epoch: model, optimizer, scheduler, RNG, loader position, history, callbacks.
            resume (bool or str): True resumes from ``checkpoint`` when that file exists; a
                path resumes from that file. The run continues exactly (bit-identical weights)
                at the saved epoch. Default False.
            validation_batch_size (int, optional): default ``batch_size``.
            validation_data: Keras's name for ``validation`` (give one of the two).
            validation_split (float): Keras semantics: hold out the last fraction of ``train``
                (an ``(X, y)`` tuple or a Dataset), taken before shuffling. Default 0.0.
            class_weight (dict, optional): class index -> weight; each training sample's loss
                is multiplied by its class's weight and averaged over the batch, as Keras does
                (``loss_fn`` must accept ``reduction="none"``). Validation loss is unweighted.

        Returns:
            History: ``history.history`` maps ``loss``, metrics, ``val_*`` and ``lr`` to
            per-epoch lists.
        """
        self._batch_size = batch_size or self._batch_size
        if validation_data is not None:
            if validation is not None:
                raise ValueError("Trainer.fit: expected one of validation= or validation_data=, "
                                 "got both")
            validation = validation_data
        if validation_split:
            if validation is not None:
                raise ValueError("Trainer.fit: expected validation_split or validation data, "
                                 "got both")
            train, validation = split_validation(train, validation_split, "Trainer.fit")
        loader = self._loader(train, batch_size, shuffle, "fit")
        val_loader = None if validation is None else self._loader(
            validation, validation_batch_size or batch_size, False, "fit")
        self.train_loader = loader
        cbs = list(callbacks)
        if verbose and not any(isinstance(c, ProgressBar) for c in cbs):
            cbs.append(ProgressBar(verbose=verbose))
        self.callbacks = CallbackList(cbs, trainer=self)
        resume_path = checkpoint if resume is True else (resume or None)
        if resume_path is not None and os.path.exists(resume_path):
            self.load_checkpoint(resume_path)
        resumed = "epoch" in self._pending
        if resumed:
            initial_epoch = self._pending.pop("epoch")
        elif initial_epoch == 0:
            self.history = History()
        self._apply_pending_data()
        self.stop_training = False
        steps = len(loader) if hasattr(loader, "__len__") else None
        self.params = {"epochs": epochs, "steps": steps, "verbose": verbose}
        self.callbacks.on_train_begin({})
        self._apply_pending_callbacks()
        logs: dict = {}
        for epoch in range(initial_epoch, epochs):
            self.callbacks.on_epoch_begin(epoch, {})
            logs = self._train_epoch_weighted(loader, class_weight)
            if val_loader is not None:
                val = self._evaluate(val_loader, self.callbacks)
                logs.update({"val_" + k: v for k, v in val.items()})
            if self.optimizer is not None:
                logs["lr"] = float(self.optimizer.param_groups[0]["lr"])
            if self.scheduler is not None and self.scheduler_interval == "epoch":
                step_scheduler(self.scheduler, logs, self.scheduler_monitor, "Trainer.fit")
            self.epoch = epoch + 1
            self.history.append(epoch, logs)
            self.callbacks.on_epoch_end(epoch, logs)
            if checkpoint is not None:
                self.save_checkpoint(checkpoint)
            if self.stop_training:
                break
        self.callbacks.on_train_end(logs)
        return self.history

    def _train_epoch_weighted(self, loader, class_weight) -> dict:
        if not class_weight:
            return self._train_epoch(loader)
        plain = self.loss_fn
        self.loss_fn = class_weighted(plain, class_weight, "Trainer.fit")
        try:
            return self._train_epoch(loader)
        finally:
            self.loss_fn = plain

    def _train_epoch(self, loader) -> dict:
        self.model.train()
        sums: dict = {}
        seen = 0
        preds, targets = [], []
        for i, batch in enumerate(loader):
            self.callbacks.on_train_batch_begin(i, {})
            batch = self.to_device(batch)
            out = dict(self.step_fn(self, batch) or {})
            y_pred, y_true = out.pop("y_pred", None), out.pop("y_true", None)
            if self.metrics and y_pred is not None and y_true is not None:
                preds.append(_host(y_pred))
                targets.append(_host(y_true))
            n = _batch_len(split_batch(batch)[0])
            for k, v in out.items():
                if isinstance(v, Tensor):
                    v = v.item()
                if isinstance(v, (int, float, np.number)):
                    sums[k] = sums.get(k, 0.0) + float(v) * n
            seen += n
            self.global_step += 1
            if self.scheduler is not None and self.scheduler_interval == "step":
                self.scheduler.step()
            self.callbacks.on_train_batch_end(i, {k: s / seen for k, s in sums.items()})
            if self.stop_training:
                break
        logs = {k: s / max(seen, 1) for k, s in sums.items()}
        logs.update(self.compute_metrics(targets, preds))
        return logs

    # ------------------------------------------------------------------ inference
    def _run(self, loader, with_targets: bool):
        """Forward every batch in eval mode without recording: (loss sums, n, outputs, y)."""
        was_training = self.model.training
        self.model.eval()
        loss_sum, seen, outs, ys = 0.0, 0, [], []
        try:
            with no_grad():
                for batch in loader:
                    x, y = split_batch(self.to_device(batch))
                    out = self.model(x)
                    outs.append(_host(out))
                    n = _batch_len(x)
                    seen += n
                    if with_targets and y is not None:
                        ys.append(_host(y))
                        if self.loss_fn is not None:
                            loss_sum += compute_loss(self, out, y).item() * n
        finally:
            self.model.train(was_training)
        return loss_sum, seen, outs, ys

    def _evaluate(self, loader, callbacks) -> dict:
        callbacks.on_test_begin({})
        loss_sum, seen, outs, ys = self._run(loader, True)
        logs = {}
        if ys and self.loss_fn is not None:
            logs["loss"] = loss_sum / max(seen, 1)
        if ys:
            logs.update(self.compute_metrics(ys, outs))
        callbacks.on_test_end(logs)
        return logs

    def evaluate(self, data, batch_size: int | None = None, callbacks=()) -> dict:
        """Loss and metrics on ``data`` (eval mode, no gradients).

        Args:
            data: DataLoader, Dataset or ``(X, y)`` tuple.
            batch_size (int, optional): default: the last ``fit`` batch size, else 256.
            callbacks (sequence): get ``on_test_begin``/``on_test_end``. Default ().

        Returns:
            dict: ``loss`` and each metric name -> float.
        """
        loader = self._loader(data, batch_size or self._batch_size or 256, False, "evaluate")
        return self._evaluate(loader, CallbackList(callbacks, trainer=self))

    def predict(self, data, batch_size: int | None = None):
        """The model's outputs for ``data`` (eval mode, no gradients), as one host array.

        Args:
            data: DataLoader, Dataset, ``(X, y)`` tuple or an array/Tensor ``X``.
            batch_size (int, optional): default: the last ``fit`` batch size, else 256.

        Returns:
            NumPy array ``(N, ...)``: concatenated outputs (logits for classifiers).
        """
        loader = self._loader(data, batch_size or self._batch_size or 256, False, "predict")
        outs = self._run(loader, False)[2]
        return np.concatenate(outs) if outs else np.zeros((0,), B.get_default_dtype())

    # ------------------------------------------------------------------ checkpoints
    def save_checkpoint(self, path, extra=None) -> None:
        """Atomically write a full checkpoint after ``self.epoch`` completed epochs (model,
        optimizer, scheduler, RNG, training-loader position, history, callback states)."""
        from ..io import save_checkpoint
        loader = self.train_loader if hasattr(self.train_loader, "state_dict") else None
        states = {k: c.state_dict() for k, c in zip(self.callbacks.keys(), self.callbacks)
                  if hasattr(c, "state_dict")}
        save_checkpoint(path, self.model, self.optimizer, self.scheduler, epoch=self.epoch,
                        loader=loader, history=self.history,
                        extra={"global_step": self.global_step, "callbacks": states,
                               "user": extra})

    def load_checkpoint(self, path) -> int:
        """Restore a :meth:`save_checkpoint` file; the next ``fit`` continues from its epoch.

        Model, optimizer and scheduler are restored now; the loader position, RNG state and
        callback states are applied when ``fit`` has built its loader and callbacks.

        Returns:
            int: the number of completed epochs in the checkpoint.
        """
        from ..io import load_checkpoint
        info = load_checkpoint(path, self.model, self.optimizer, self.scheduler)
        extra = info["extra"] or {}
        self.epoch = info["epoch"]
        self.global_step = int(extra.get("global_step", 0))
        self.history = History()
        if info["history"] is not None:
            self.history.load_state_dict(info["history"])
        self._pending = {"epoch": self.epoch, "rng": info["rng"], "loader": info["loader"],
                         "callbacks": extra.get("callbacks") or {}}
        return self.epoch

    def _apply_pending_data(self) -> None:
        p = self._pending
        if p.get("loader") is not None and hasattr(self.train_loader, "load_state_dict"):
            self.train_loader.load_state_dict(p.pop("loader"))
        if p.get("rng") is not None:  # building loaders may have drawn seeds: restore again
            B.set_rng_state(p.pop("rng"))

    def _apply_pending_callbacks(self) -> None:
        states = self._pending.pop("callbacks", None) or {}
        for key, cb in zip(self.callbacks.keys(), self.callbacks):
            if key in states and hasattr(cb, "load_state_dict"):
                cb.load_state_dict(states[key])
        self._pending = {}
