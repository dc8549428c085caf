"""Training callbacks (Keras's hook names), one per file."""

from .base import Callback, CallbackList, resolve_mode
from .csv_logger import CSVLogger
from .early_stopping import EarlyStopping
from .gradient_monitor import GradientMonitor, GradientWarning
from .lambda_callback import LambdaCallback
from .lr_scheduler import LRSchedulerCallback
from .model_checkpoint import ModelCheckpoint
from .progress_bar import ProgressBar
from .tensorboard import TensorBoard
from .terminate_on_nan import TerminateOnNaN

__all__ = ["Callback", "CallbackList", "resolve_mode", "EarlyStopping", "ModelCheckpoint",
           "LRSchedulerCallback", "ProgressBar", "CSVLogger", "TensorBoard", "GradientMonitor",
           "GradientWarning", "TerminateOnNaN", "LambdaCallback"]
