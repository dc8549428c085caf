"""``lamina.utils.data``: the same module object as :mod:`lamina.data` (torch.utils.data's path).

``from lamina.utils.data import DataLoader, TensorDataset, Dataset`` gives lamina.data's classes.
"""

import sys

from .. import data as _data

sys.modules[__name__] = _data
