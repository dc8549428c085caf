"""Shape ops: reshape/view, transpose/permute, squeeze/unsqueeze, expand, repeat/tile,
cat/stack/split, flip, roll, clone (PyTorch's names and semantics); ``pad`` lives in
:mod:`lamina.functional.padding` and is re-exported here.

Forwards return views where NumPy can; backwards are the matching inverse view (or a sum for
expand/repeat). Arguments may be given as varargs or one tuple: ``x.view(-1, 784)`` or
``x.view((-1, 784))``.
"""

from __future__ import annotations

import math

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..errors import check, op_error
from ._util import register_methods, unwrap

__all__ = ["reshape", "view", "view_as", "reshape_as", "transpose", "permute", "swapaxes",
           "swapdims", "t", "flatten", "unflatten", "squeeze", "unsqueeze", "expand_dims",
           "expand", "broadcast_to", "expand_as", "repeat", "tile", "cat", "concat",
           "concatenate", "stack", "split", "chunk", "unbind", "pad", "flip", "roll",
           "contiguous", "clone", "movedim", "moveaxis"]


def _sizes(args) -> tuple:
    """``(2, 3)`` from ``(2, 3)``, ``((2, 3),)``, ``([2, 3],)`` or a 1-D tensor/array."""
    if len(args) == 1 and not isinstance(args[0], int):
        args = args[0].tolist() if hasattr(args[0], "tolist") else args[0]
    return (int(args),) if isinstance(args, int) else tuple(int(s) for s in args)


def _dim(d, ndim, op) -> int:
    check(-ndim <= d < max(ndim, 1), op, f"dim in [{-ndim}, {max(ndim, 1)})", f"dim={d}")
    return d % max(ndim, 1)


class Reshape(Function):
    def forward(self, x):
        self.in_shape = x.shape
        return x.reshape(self.shape)

    def backward(self, gy):
        return (gy.reshape(self.in_shape),)


class Permute(Function):
    def forward(self, x):
        return x.transpose(self.axes)

    def backward(self, gy):  # the inverse permutation
        return (gy.transpose(sorted(range(len(self.axes)), key=self.axes.__getitem__)),)


class BroadcastTo(Function):
    def forward(self, x):
        return self.xp.broadcast_to(x, self.shape)

    def backward(self, gy):
        return (gy,)  # the engine sums broadcast dims back to the input shape


class Tile(Function):
    def forward(self, x):
        self.in_shape = x.shape
        return self.xp.tile(x, self.reps)

    def backward(self, gy):
        src = (1,) * (len(self.reps) - len(self.in_shape)) + tuple(self.in_shape)
        inter = [v for pair in zip(self.reps, src) for v in pair]  # (r0, s0, r1, s1, ...)
        g = gy.reshape(inter).sum(axis=tuple(range(0, 2 * len(src), 2)))
        return (g.reshape(self.in_shape),)


class Cat(Function):
    def forward(self, *xs):
        self.bounds = [0]
        for x in xs:
            self.bounds.append(self.bounds[-1] + x.shape[self.axis])
        return self.xp.concatenate(xs, axis=self.axis)

    def backward(self, gy):
        b, pre = self.bounds, (slice(None),) * self.axis
        return tuple(gy[pre + (slice(b[i], b[i + 1]),)] if need else None
                     for i, need in enumerate(self.needs_input_grad))


class Stack(Function):
    def forward(self, *xs):
        return self.xp.stack(xs, axis=self.axis)

    def backward(self, gy):
        g = self.xp.moveaxis(gy, self.axis, 0)
        return tuple(g[i] if need else None for i, need in enumerate(self.needs_input_grad))


class Split(Function):
    """Pieces of ``x`` along ``axis`` with the given ``sizes`` (or removing ``axis`` when
    ``unbind``); outputs whose gradient never arrives count as zeros."""

    def forward(self, x):
        self.shape, self.dtype = x.shape, x.dtype
        if self.unbind:
            return tuple(self.xp.moveaxis(x, self.axis, 0))
        cuts = [sum(self.sizes[:i + 1]) for i in range(len(self.sizes) - 1)]
        return tuple(self.xp.split(x, cuts, axis=self.axis))

    def backward(self, *gys):
        xp, ax = self.xp, self.axis
        if self.unbind:
            shp = self.shape[:ax] + self.shape[ax + 1:]
            gys = [xp.zeros(shp, self.dtype) if g is None else g for g in gys]
            return (xp.stack(gys, axis=ax),)
        parts = []
        for g, n in zip(gys, self.sizes):
            if g is None:
                g = xp.zeros(self.shape[:ax] + (n,) + self.shape[ax + 1:], self.dtype)
            parts.append(g)
        return (xp.concatenate(parts, axis=ax),)


class Flip(Function):
    def forward(self, x):
        return self.xp.flip(x, self.axes)

    def backward(self, gy):
        return (self.xp.flip(gy, self.axes),)


class Roll(Function):
    def forward(self, x):
        return self.xp.roll(x, self.shifts, self.axes)

    def backward(self, gy):
        neg = tuple(-s for s in self.shifts) if isinstance(self.shifts, tuple) else -self.shifts
        return (self.xp.roll(gy, neg, self.axes),)


class Clone(Function):
    def forward(self, x):
        return x.copy()

    def backward(self, gy):
        return (gy,)


def _reshape(op, x, shape):
    old = unwrap(x).shape
    size = math.prod(old)
    neg = [i for i, s in enumerate(shape) if s == -1]
    known = math.prod(s for s in shape if s != -1)
    bad = len(neg) > 1 or any(s < -1 for s in shape)
    if not bad and neg:
        bad = known == 0 or size % known != 0
        if not bad:
            shape = tuple(size // known if s == -1 else s for s in shape)
    if bad or math.prod(shape) != size:
        raise op_error(op, f"a shape with {size} elements (input shape {old})",
                       f"shape {tuple(shape)}")
    if shape == old:
        return x if isinstance(x, Tensor) else Tensor(x)
    return Reshape.apply(x, shape=shape)


def reshape(x, *shape):
    """View ``x`` with a new shape (one entry may be -1, inferred).

    Args:
        x (Tensor): input. shape (ints or one tuple): the new shape, same number of elements.

    Returns:
        Tensor: ``x`` reshaped (shares memory when NumPy can).

    Raises:
        ShapeError: naming both shapes when the sizes differ.
    """
    return _reshape("reshape", x, _sizes(shape))


def view(x, *shape):
    """PyTorch's ``view``: :func:`reshape` (``x.view(-1, 784)`` or ``x.view((-1, 784))``)."""
    return _reshape("view", x, _sizes(shape))


def view_as(x, other):
    """``x`` viewed with ``other``'s shape."""
    return _reshape("view_as", x, tuple(other.shape))


def reshape_as(x, other):
    """``x`` reshaped to ``other``'s shape."""
    return _reshape("reshape_as", x, tuple(other.shape))


def permute(x, *dims):
    """Reorder dims: ``x.permute(0, 2, 1)`` or ``x.permute((0, 2, 1))``.

    Args:
        x (Tensor): input. dims: a permutation of ``range(x.ndim)`` (negative allowed).

    Returns:
        Tensor: a view; ``out.shape[i] == x.shape[dims[i]]``.
    """
    nd = unwrap(x).ndim
    dims = _sizes(dims)
    axes = tuple(d % nd if nd else d for d in dims)
    if sorted(axes) != list(range(nd)):
        raise op_error("permute", f"a permutation of {nd} dims", f"dims {dims}")
    if axes == tuple(range(nd)):
        return x
    return Permute.apply(x, axes=axes)


def transpose(x, *args, dim0=None, dim1=None, axes=None):
    """Swap two dims (PyTorch: ``x.transpose(0, 1)``) or permute (NumPy:
    ``x.transpose((1, 0, 2))``; no arguments reverses all dims).

    Args:
        x (Tensor): input. dim0, dim1 (int): the dims to swap. axes (tuple): NumPy permutation.

    Returns:
        Tensor: a view of ``x``.
    """
    if dim0 is not None or dim1 is not None:
        args = (dim0, dim1)
    if axes is not None:
        args = (axes,)
    if len(args) == 2 and all(isinstance(a, int) for a in args):
        return swapaxes(x, *args)
    if not args:
        return permute(x, tuple(range(unwrap(x).ndim))[::-1])
    return permute(x, *args)


def swapaxes(x, axis0, axis1):
    """Swap dims ``axis0`` and ``axis1`` (PyTorch's ``transpose(dim0, dim1)``)."""
    nd = unwrap(x).ndim
    a, b = _dim(axis0, nd, "transpose"), _dim(axis1, nd, "transpose")
    axes = list(range(nd))
    axes[a], axes[b] = b, a
    return x if a == b else Permute.apply(x, axes=tuple(axes))


swapdims = swapaxes


def t(x):
    """Transpose a tensor of at most 2 dims (PyTorch's ``t``)."""
    nd = unwrap(x).ndim
    check(nd <= 2, "t", "a tensor with <= 2 dims", f"shape {unwrap(x).shape}",
          "use transpose(dim0, dim1) or .mT")
    return x if nd < 2 else swapaxes(x, 0, 1)


def movedim(x, source, destination):
    """Move dim(s) ``source`` to position(s) ``destination`` (ints or tuples), others in order."""
    nd = unwrap(x).ndim
    src = (source,) if isinstance(source, int) else tuple(source)
    dst = (destination,) if isinstance(destination, int) else tuple(destination)
    check(len(src) == len(dst), "movedim", "as many sources as destinations", f"{src}, {dst}")
    src = [_dim(s, nd, "movedim") for s in src]
    dst = [_dim(d, nd, "movedim") for d in dst]
    rest = [i for i in range(nd) if i not in src]
    order = [None] * nd
    for s, d in zip(src, dst):
        order[d] = s
    it = iter(rest)
    return permute(x, tuple(o if o is not None else next(it) for o in order))


moveaxis = movedim


def flatten(x, start_dim=0, end_dim=-1):
    """Merge dims ``start_dim..end_dim`` (inclusive) into one.

    Args:
        x (Tensor): input. start_dim (int): Default 0. end_dim (int): Default -1.

    Returns:
        Tensor: e.g. ``x.flatten(1)`` maps ``(N, C, H, W)`` to ``(N, C*H*W)``; 0-d gives 1-d.
    """
    shp = unwrap(x).shape
    if not shp:
        return _reshape("flatten", x, (1,))
    s, e = _dim(start_dim, len(shp), "flatten"), _dim(end_dim, len(shp), "flatten")
    check(s <= e, "flatten", "start_dim <= end_dim", f"{start_dim} > {end_dim}")
    return _reshape("flatten", x, shp[:s] + (math.prod(shp[s:e + 1]),) + shp[e + 1:])


def unflatten(x, dim, sizes):
    """Split dim ``dim`` into ``sizes`` (one entry may be -1): the inverse of :func:`flatten`."""
    shp = unwrap(x).shape
    d = _dim(dim, len(shp), "unflatten")
    sizes = tuple(sizes)
    if -1 in sizes:
        known = math.prod(s for s in sizes if s != -1)
        sizes = tuple(shp[d] // max(known, 1) if s == -1 else s for s in sizes)
    if math.prod(sizes) != shp[d]:
        raise op_error("unflatten", f"sizes with product {shp[d]} (dim {dim} of {shp})",
                       f"sizes {sizes}")
    return _reshape("unflatten", x, shp[:d] + sizes + shp[d + 1:])


def squeeze(x, dim=None, *, axis=None):
    """Remove size-1 dims (all, or those in ``dim``; a listed dim not of size 1 is kept, as
    in PyTorch)."""
    dim = axis if dim is None else dim
    shp = unwrap(x).shape
    if dim is None:
        drop = {i for i, s in enumerate(shp) if s == 1}
    else:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        dims = [_dim(d, len(shp), "squeeze") for d in dims]  # out of range raises, as torch
        drop = {d for d in dims if shp and shp[d] == 1}
    return _reshape("squeeze", x, tuple(s for i, s in enumerate(shp) if i not in drop))


def unsqueeze(x, dim):
    """Insert a size-1 dim at ``dim`` (``-1`` appends): ``(3,).unsqueeze(0) -> (1, 3)``."""
    shp = unwrap(x).shape
    d = _dim(dim, len(shp) + 1, "unsqueeze")
    return _reshape("unsqueeze", x, shp[:d] + (1,) + shp[d:])


expand_dims = unsqueeze


def broadcast_to(x, *shape):
    """Broadcast ``x`` to ``shape`` (NumPy rules); the gradient sums over broadcast dims."""
    shape = _sizes(shape)
    old = unwrap(x).shape
    if shape == old:
        return x
    lead = len(shape) - len(old)
    ok = lead >= 0 and all(o == 1 or o == s for o, s in zip(old, shape[lead:]))
    if not ok:
        raise op_error("expand", f"a shape that {old} broadcasts to", f"{shape}")
    return BroadcastTo.apply(x, shape=shape)


def expand(x, *sizes):
    """PyTorch's ``expand``: broadcast to ``sizes``; ``-1`` keeps that dim."""
    sizes = _sizes(sizes)
    old = unwrap(x).shape
    lead = len(sizes) - len(old)
    sizes = tuple(old[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(sizes))
    return broadcast_to(x, sizes)


def expand_as(x, other):
    """``x`` expanded to ``other``'s shape."""
    return broadcast_to(x, tuple(other.shape))


def tile(x, *reps):
    """Repeat ``x`` ``reps[i]`` times along each dim (``reps`` padded with leading 1s)."""
    reps = _sizes(reps)
    nd = unwrap(x).ndim
    reps = (1,) * (nd - len(reps)) + reps
    return Tile.apply(x, reps=reps)


def repeat(x, *sizes):
    """PyTorch's ``repeat``: tile with ``len(sizes) >= x.ndim`` (new leading dims allowed).

    Args:
        x (Tensor): input. sizes (ints or one tuple): repetitions per dim.

    Returns:
        Tensor: shape ``sizes[i] * x.shape[i]`` (``x``'s shape padded with leading 1s).
    """
    sizes = _sizes(sizes)
    nd = unwrap(x).ndim
    check(len(sizes) >= nd, "repeat", f"at least {nd} sizes (x.ndim)", f"{sizes}")
    return Tile.apply(x, reps=sizes)


def cat(tensors, dim=0, *, axis=None):
    """Concatenate along an existing dim ``dim``; every other dim must match.

    Args:
        tensors (sequence of Tensor): at least one. dim/axis (int): Default 0.

    Returns:
        Tensor: the concatenation.
    """
    dim = dim if axis is None else axis
    tensors = list(tensors)
    check(len(tensors) > 0, "cat", "a non-empty sequence of tensors", "an empty one")
    shapes = [unwrap(t).shape for t in tensors]
    nd = len(shapes[0])
    d = _dim(dim, nd, "cat")
    for s in shapes[1:]:
        if len(s) != nd or s[:d] + s[d + 1:] != shapes[0][:d] + shapes[0][d + 1:]:
            raise op_error("cat", f"all tensors to have the same shape except in dim {dim}",
                           f"{shapes[0]} and {s}")
    if len(tensors) == 1:
        return tensors[0]
    return Cat.apply(*tensors, axis=d)


concat = concatenate = cat


def stack(tensors, dim=0, *, axis=None):
    """Stack equal-shape tensors along a new dim ``dim`` (Default 0)."""
    dim = dim if axis is None else axis
    tensors = list(tensors)
    check(len(tensors) > 0, "stack", "a non-empty sequence of tensors", "an empty one")
    shapes = [unwrap(t).shape for t in tensors]
    for s in shapes[1:]:
        if s != shapes[0]:
            raise op_error("stack", "tensors of equal shape", f"{shapes[0]} and {s}")
    return Stack.apply(*tensors, axis=_dim(dim, len(shapes[0]) + 1, "stack"))


def split(x, split_size_or_sections, dim=0):
    """Split along ``dim`` into pieces of size ``split_size_or_sections`` (the last may be
    smaller) or into pieces of the listed sizes (which must sum to the dim's length).

    Returns:
        tuple of Tensor: views of ``x``.
    """
    shp = unwrap(x).shape
    d = _dim(dim, len(shp), "split")
    n = shp[d]
    if isinstance(split_size_or_sections, int):
        k = split_size_or_sections
        check(k > 0 or n == 0, "split", "a positive split size", f"{k}")
        sizes = [k] * (n // k) + ([n % k] if n % k else []) if k > 0 else [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != n:
            raise op_error("split", f"sizes summing to {n} (dim {dim} of {shp})", f"{sizes}")
    return Split.apply(x, axis=d, sizes=sizes, unbind=False)


def chunk(x, chunks, dim=0):
    """Split into ``chunks`` pieces of ``ceil(n / chunks)`` (fewer if they run out), as torch."""
    n = unwrap(x).shape[_dim(dim, unwrap(x).ndim, "chunk")]
    check(chunks > 0, "chunk", "chunks > 0", f"{chunks}")
    return split(x, max(-(-n // chunks), 1), dim)


def unbind(x, dim=0):
    """Tuple of the slices of ``x`` along ``dim`` (the dim removed)."""
    return Split.apply(x, axis=_dim(dim, unwrap(x).ndim, "unbind"), unbind=True)


def flip(x, *dims):
    """Reverse the order along ``dims`` (int, ints or a tuple; all dims when none)."""
    nd = unwrap(x).ndim
    dims = _sizes(dims) if dims else tuple(range(nd))
    return Flip.apply(x, axes=tuple(_dim(d, nd, "flip") for d in dims))


def roll(x, shifts, dims=None):
    """Roll elements by ``shifts`` along ``dims`` (of the flattened tensor when None)."""
    if isinstance(shifts, (list, tuple)):
        shifts = tuple(int(s) for s in shifts)
    if isinstance(dims, list):
        dims = tuple(dims)
    n_shifts = len(shifts) if isinstance(shifts, tuple) else 1
    n_dims = 0 if dims is None else len(dims) if isinstance(dims, tuple) else 1
    # torch: a tuple of shifts needs as many dims; only one shift may roll the flattened tensor
    check(n_shifts == n_dims or (n_shifts == 1 and n_dims == 0), "roll",
          "as many dims as shifts", f"shifts={shifts}, dims={dims}")
    if isinstance(shifts, tuple) and dims is None:
        shifts = shifts[0]
    return Roll.apply(x, shifts=shifts, axes=dims)


def contiguous(x):
    """Return ``x`` itself (NumPy arrays need no contiguity for lamina's ops)."""
    return x


def clone(x):
    """A differentiable copy of ``x`` (new memory)."""
    return Clone.apply(x)


register_methods(reshape=reshape, view=view, view_as=view_as, reshape_as=reshape_as,
                 transpose=transpose, permute=permute, swapaxes=swapaxes, swapdims=swapdims,
                 t=t, flatten=flatten, unflatten=unflatten, squeeze=squeeze, unsqueeze=unsqueeze,
                 expand_dims=expand_dims, expand=expand, broadcast_to=broadcast_to,
                 expand_as=expand_as, repeat=repeat, tile=tile, split=split, chunk=chunk,
                 unbind=unbind, flip=flip, roll=roll, contiguous=contiguous, clone=clone,
                 movedim=movedim, moveaxis=moveaxis)
Tensor.T = property(lambda self: permute(self, tuple(range(self.ndim))[::-1]),
                    doc="All dims reversed (the transpose of a matrix).")
Tensor.mT = property(lambda self: swapaxes(self, -2, -1), doc="The last two dims swapped.")

# torch.cat / torch.stack promote their inputs to one result type
Cat.promote = "all"
Stack.promote = "all"

from .padding import Pad, pad  # noqa: E402,F401  (re-exported: F.pad, shape.pad)
