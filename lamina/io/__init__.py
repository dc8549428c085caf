"""``lamina.io``: safe serialisation (seed Q31). Weights and checkpoints are safetensors plus a
JSON tree in the header; pickle is never used, written or read. Writes are atomic."""

from .atomic import atomic_write
from .checkpoint import CHECKPOINT_VERSION, load_checkpoint, save_checkpoint
from .serialization import FORMAT, load, read_metadata, save
from .model_card import model_card

__all__ = ["save", "load", "read_metadata", "atomic_write", "save_checkpoint",
           "load_checkpoint", "FORMAT", "CHECKPOINT_VERSION", "model_card"]
