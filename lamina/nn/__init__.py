"""``lamina.nn``: modules, layers, initialisers and loss modules (PyTorch's names and layouts)."""

from . import functional  # noqa: F401  (lamina.nn.functional is lamina.functional)
from . import init  # noqa: F401
from .module import Module, Parameter  # noqa: F401
from .containers import (ModuleDict, ModuleList, ParameterDict, ParameterList,  # noqa: F401
                         Sequential)
from .layers import *  # noqa: F401,F403
from .activation import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .regularization import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
from .recurrent import *  # noqa: F401,F403
from .attention import *  # noqa: F401,F403
from .embedding import *  # noqa: F401,F403
from .losses_imbalance import *  # noqa: F401,F403
from .missing import *  # noqa: F401,F403
from .summary import summary  # noqa: F401
from . import utils  # noqa: F401

__all__ = [k for k in dir() if not k.startswith("_")]
