"""``lamina.train``: the training loop, callbacks and history (seed Q8-Q12, Q20).

Example:
    >>> from lamina.train import Trainer, EarlyStopping
    >>> trainer = Trainer(model, lamina.optim.Adam(model.parameters(), 1e-3), "cross_entropy")
    >>> trainer.fit((X, y), epochs=30, batch_size=64, validation=(Xv, yv),
    ...             callbacks=[EarlyStopping(patience=5)])
"""

from . import callbacks
from .callbacks import (Callback, CSVLogger, EarlyStopping, GradientMonitor, GradientWarning,
                        LambdaCallback, LRSchedulerCallback, ModelCheckpoint, ProgressBar,
                        TensorBoard, TerminateOnNaN)
from .history import History
from .loops import fit_sampled, fit_tbptt
from .step import compute_loss, default_step, split_batch
from .trainer import Trainer

__all__ = ["Trainer", "History", "default_step", "split_batch", "compute_loss", "callbacks",
           "Callback", "EarlyStopping", "ModelCheckpoint", "LRSchedulerCallback", "ProgressBar",
           "CSVLogger", "TensorBoard", "GradientMonitor", "GradientWarning", "TerminateOnNaN",
           "LambdaCallback", "fit_sampled", "fit_tbptt"]
