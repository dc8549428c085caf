"""``lamina.functional`` (imported as ``F``): every differentiable op, one file per family.

Each file defines its ops as :class:`~lamina.autograd.Function` subclasses plus plain functions
with PyTorch's names, and attaches the matching Tensor methods itself.
"""

from . import arithmetic, comparison, reduction, shape, indexing, activation, loss, linear  # noqa: F401
from . import loss_class  # noqa: F401
from . import normalization, dropout, conv, pooling, embedding, recurrent, attention  # noqa
from . import inplace  # noqa: F401  (in-place methods: add_, zero_, +=, ...)
from . import blas, tensor_ops, torch_methods  # noqa: F401
from . import format as _format  # noqa: F401  (Tensor.__format__)
from .blas import *  # noqa: F401,F403  (mm, bmm, mv, addmm, outer, ...)
from .torch_methods import *  # noqa: F401,F403  (new_zeros, type_as, allclose, ...)
from .tensor_ops import *  # noqa: F401,F403  (einsum, tril, diag, meshgrid, multinomial...)
from .arithmetic import *  # noqa: F401,F403
from .comparison import *  # noqa: F401,F403
from .reduction import *  # noqa: F401,F403
from .shape import *  # noqa: F401,F403
from .indexing import *  # noqa: F401,F403
from .activation import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .loss_class import *  # noqa: F401,F403
from .linear import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
from .embedding import *  # noqa: F401,F403
from .recurrent import *  # noqa: F401,F403
from .attention import *  # noqa: F401,F403

# the public names: every family's own __all__ (the star imports above shadow some submodule
# names, e.g. the function ``linear`` replaces the module, so read them from sys.modules)
import sys as _sys  # noqa: E402

__all__ = sorted({name for _m in ("blas", "torch_methods", "tensor_ops", "arithmetic",
                                  "comparison", "reduction", "shape", "indexing", "activation",
                                  "loss", "loss_class", "linear", "normalization", "dropout",
                                  "conv", "pooling", "embedding", "recurrent", "attention")
                  for name in _sys.modules[f"{__name__}.{_m}"].__all__})
