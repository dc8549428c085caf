"""``Tensor.__format__``: ``'{:+.2f}'.format(t)`` works on one-element tensors, as in PyTorch."""

from __future__ import annotations

from ._util import register_methods

__all__: list[str] = []


def _format(self, spec: str) -> str:
    """Format a 0-d tensor as its Python number; other tensors accept only an empty spec (torch).

    Args:
        spec (str): a format spec such as ``'+.2f'``; empty gives ``str(t)``.

    Returns:
        str: the formatted value.
    """
    if self.ndim == 0:
        return self.item().__format__(spec)
    return object.__format__(self, spec)


register_methods(__format__=_format)
