"""``lamina.utils``: PyTorch's ``torch.utils`` spellings (``lamina.utils.data`` is
:mod:`lamina.data`), so ``from torch.utils.data import DataLoader`` ports by renaming.
"""

from . import data  # noqa: F401

__all__ = ["data"]
