"""Public testing tools: ``gradcheck`` and the op-test harness ``check_op``.

Users test their own ops with these exactly as lamina tests its own:

    >>> from lamina.testing import gradcheck
    >>> gradcheck(lambda x: (x * x).sum(), np.random.randn(3, 4))
"""

from .gradcheck import GradcheckError, gradcheck
from .harness import check_op, torch_available

__all__ = ["gradcheck", "GradcheckError", "check_op", "torch_available"]
