"""Embedding lookup: rows of a weight matrix picked by integer ids.

The backward scatter-adds the output gradient into the rows of the weight (ids repeated in a
batch get the sum of their gradients) with one 1-D ``add.at`` over flat element indices, the
fastest scatter NumPy offers (several times faster than a 2-D ``add.at``).
"""

from __future__ import annotations

from .. import backend as B
from ..autograd.function import Function
from ..errors import DTypeError, check, op_error
from ._util import unwrap

__all__ = ["embedding"]


class Embedding(Function):
    def forward(self, ids, weight):
        self.saved = (ids,)
        self.wshape = weight.shape
        return weight[ids]

    def backward(self, gy):
        (ids,) = self.saved
        xp = self.xp
        v, d = self.wshape
        flat_ids = ids.reshape(-1).astype(xp.intp)
        g = gy.reshape(-1, d)
        if self.padding_idx is not None:  # the padding row never learns
            keep = flat_ids != self.padding_idx
            flat_ids, g = flat_ids[keep], g[keep]
        gw = xp.zeros(v * d, dtype=gy.dtype)
        idx = (flat_ids[:, None] * d + xp.arange(d, dtype=xp.intp)).reshape(-1)
        xp.add.at(gw, idx, g.reshape(-1))
        return None, gw.reshape(v, d)


def embedding(input, weight, padding_idx=None):
    """Look up rows of ``weight`` by integer ids (a differentiable table lookup).

    Args:
        input (Tensor or array): integer ids, any shape, values in ``[0, num_embeddings)``.
        weight (Tensor): the table, shape ``(num_embeddings, embedding_dim)``.
        padding_idx (int, optional): the row of this id gets no gradient (it stays as it is,
            usually zeros). Negative values count from the end. Default None.

    Returns:
        Tensor: ``weight[input]``, shape ``(*input.shape, embedding_dim)``, dtype of ``weight``.

    Shape:
        input ``(*)``, weight ``(V, D)`` -> ``(*, D)``.

    Example:
        >>> w = lamina.randn(10, 3, requires_grad=True)
        >>> F.embedding(lamina.tensor([[1, 2], [1, 9]]), w).shape
        (2, 2, 3)
    """
    ids, w = unwrap(input), unwrap(weight)
    if not isinstance(ids, B.ndarray_types):  # a list of ids
        ids = B.np.asarray(ids)
    check(w.ndim == 2, "embedding", "a 2-D weight (num_embeddings, embedding_dim)",
          f"weight of shape {tuple(w.shape)}")
    if ids.dtype.kind not in "iu":
        raise op_error("embedding", "integer ids", f"ids of dtype {ids.dtype}",
                       "cast with .long()", cls=DTypeError)
    v = w.shape[0]
    if ids.size and (int(ids.min()) < 0 or int(ids.max()) >= v):
        raise op_error("embedding", f"ids in [0, {v}) (num_embeddings={v})",
                       f"ids in [{int(ids.min())}, {int(ids.max())}]", cls=IndexError)
    if padding_idx is not None:
        check(-v <= padding_idx < v, "embedding", f"padding_idx in [-{v}, {v})",
              f"padding_idx={padding_idx}")
        padding_idx = padding_idx % v
    return Embedding.apply(ids, weight, padding_idx=padding_idx)
