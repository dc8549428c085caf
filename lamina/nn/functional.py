"""``lamina.nn.functional`` is ``lamina.functional`` (PyTorch's spelling: ``import ... as F``)."""

import sys

from .. import functional as _functional

sys.modules[__name__] = _functional
