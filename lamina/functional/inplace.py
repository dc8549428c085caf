"""In-place tensor methods with PyTorch's trailing underscore (``add_``, ``mul_``, ``zero_``...)
and the augmented operators ``+=``, ``-=``, ``*=``, ``/=``, ``**=``, ``@=``.

PyTorch's rules:

- Outside autograd (grad mode off, or no tensor involved requires grad) the op writes into
  ``x.array`` itself: every tensor sharing the storage (``.data``, ``from_numpy``) sees it.
  ``with lamina.no_grad(): p -= lr * p.grad`` is the manual SGD step.
- On a leaf that requires grad, with grad mode on, it raises PyTorch's error.
- On a tensor inside a graph it is recorded: the result has the op in its history and
  ``backward`` is exact. (lamina rebinds ``x.array`` to the result here instead of overwriting
  the old storage, so arrays earlier ops saved stay valid; other aliases of the old storage do
  not see the change. See docs/pytorch.md.)
- The result is cast to ``x``'s dtype under NumPy's ``same_kind`` rule: a float result into an
  integer tensor raises, as in PyTorch.
- Every in-place op bumps ``x``'s version; ``backward`` raises when an op saved an array that
  was since changed in place (lamina.autograd.inplace).
"""

from __future__ import annotations

from .. import backend as B
from ..autograd.function import _new
from ..autograd.grad_mode import STATE, no_grad
from ..autograd.inplace import bump, mark_output_modified
from ..autograd.tensor import Tensor
from . import activation as A
from . import arithmetic as M
from . import comparison as C
from .indexing import masked_fill as _masked_fill
from . import shape as _S
from .shape import broadcast_to

__all__ = ["apply_inplace"]


def _needs_graph(x, args) -> bool:
    if not STATE.grad_enabled:
        return False
    if x._requires_grad:
        return True
    return any(isinstance(a, Tensor) and a._requires_grad for a in args)


def apply_inplace(x: Tensor, name: str, op, *args):
    """Run ``op(x, *args)`` (an out-of-place function returning a Tensor) and store the result
    in ``x`` by PyTorch's in-place rules (module docstring). Returns ``x``."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected a Tensor, got {type(x).__name__}")
    if _needs_graph(x, args):
        if x._requires_grad and x._creator is None:
            raise RuntimeError(
                f"{name}: a leaf Variable that requires grad is being used in an in-place "
                "operation; wrap the update in `with lamina.no_grad():` (as an optimizer "
                "does) or work on a copy (x.clone())")
        old = _new(Tensor)
        old.array, old._version = x.array, x._version
        old._creator, old._out_idx, old._requires_grad = x._creator, x._out_idx, x._requires_grad
        r = op(old, *args)
        out = _fit(name, x, r.array)
        if out is not r.array:
            r = M.astype(r, x.array.dtype)
        bump(x)
        x.array = r.array
        x._creator, x._out_idx, x._requires_grad = r._creator, r._out_idx, r._requires_grad
        return x
    with no_grad():
        r = op(x, *args)
    res = r.array if isinstance(r, Tensor) else r
    _write(name, x, res)
    return x


def _fit(name, x, res):
    """Check that ``res`` can be stored in ``x`` (shape and dtype, PyTorch's rules)."""
    a = x.array
    if res.shape != a.shape:
        try:
            shape = B.np.broadcast_shapes(res.shape, a.shape)
        except ValueError:
            shape = None
        if shape != a.shape:
            raise RuntimeError(f"{name}: output with shape {list(a.shape)} doesn't match the "
                               f"broadcast shape {list(res.shape)}; in-place ops cannot "
                               f"grow a tensor, use the out-of-place op")
    if res.dtype != a.dtype and not B.np.can_cast(res.dtype, a.dtype, "same_kind"):
        raise RuntimeError(f"{name}: result type {res.dtype} can't be cast to the desired "
                           f"output type {a.dtype}; convert first (e.g. x = x.float())")
    return res if res.dtype == a.dtype and res.shape == a.shape else None


def _write(name, x, res) -> None:
    _fit(name, x, res)
    a = x.array
    if not a.flags.writeable:
        raise RuntimeError(f"{name}: the tensor's storage is read-only (a broadcast view or a "
                           f"read-only array); clone it first (x = x.clone())")
    mark_output_modified(x)
    bump(x)
    xp = B.get_array_module(a)
    xp.copyto(a, res, casting="same_kind")


# ---------------------------------------------------------------- the methods
def add_(self, other, *, alpha=1):
    """In place ``self += alpha * other``. Returns self."""
    return apply_inplace(self, "add_", lambda a, b: M.add(a, b, alpha=alpha), other)


def sub_(self, other, *, alpha=1):
    """In place ``self -= alpha * other``. Returns self."""
    return apply_inplace(self, "sub_", lambda a, b: M.sub(a, b, alpha=alpha), other)


def mul_(self, other):
    """In place ``self *= other``. Returns self."""
    return apply_inplace(self, "mul_", M.mul, other)


def div_(self, other, *, rounding_mode=None):
    """In place ``self /= other`` (``rounding_mode`` 'trunc' or 'floor' as torch.div)."""
    if rounding_mode is None:
        return apply_inplace(self, "div_", M.div, other)
    return apply_inplace(self, "div_", lambda a, b: M.div(a, b, rounding_mode=rounding_mode),
                         other)


def pow_(self, exponent):
    """In place ``self **= exponent``."""
    return apply_inplace(self, "pow_", M.pow, exponent)


def clamp_(self, min=None, max=None):
    """In place :func:`~lamina.functional.clamp`."""
    return apply_inplace(self, "clamp_", lambda a: M.clamp(a, min, max))


def copy_(self, src, non_blocking=False):
    """Copy ``src`` (broadcast to self's shape, cast to self's dtype) into self. Returns self."""
    src_arr = src.array if isinstance(src, Tensor) else B.np.asarray(src)
    if src_arr.dtype != self.array.dtype:  # copy_ casts any dtype, as torch does
        src = M.astype(src if isinstance(src, Tensor) else Tensor(src_arr), self.array.dtype)
    return apply_inplace(self, "copy_", lambda a, s: broadcast_to(s, a.shape), src)


def fill_(self, value):
    """Fill self with ``value`` (a number or a one-element tensor). Returns self."""
    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise RuntimeError(f"fill_: expected a 0-d value tensor, got shape {value.shape}")
        return copy_(self, value.reshape(()))
    v = B.np.asarray(value)
    if self.array.dtype.kind in "iub" and v.dtype.kind == "f":
        v = v.astype(self.array.dtype)  # torch: fill_ truncates a float into an int tensor
    return copy_(self, Tensor(v.astype(self.array.dtype)))


def zero_(self):
    """Fill self with zeros. Returns self."""
    return fill_(self, 0)


def _random_(name, draw):
    def method(self, *args, generator=None):
        if self.array.dtype.kind != "f":
            raise RuntimeError(f"{name}: expected a floating tensor, got {self.array.dtype}")
        vals = draw(tuple(self.array.shape), *args).astype(self.array.dtype)
        return copy_(self, Tensor(B.to_device_array(vals, "cuda") if self.is_cuda else vals))
    method.__name__ = name
    return method


normal_ = _random_("normal_", lambda shape, mean=0.0, std=1.0: B.rng().normal(mean, std, shape))
normal_.__doc__ = "Fill self with samples of N(mean, std**2) from lamina's seeded generator."
uniform_ = _random_("uniform_", lambda shape, a=0.0, b=1.0: B.rng().uniform(a, b, shape))
uniform_.__doc__ = "Fill self with samples of U(from, to) from lamina's seeded generator."


def masked_fill_(self, mask, value):
    """In place :func:`~lamina.functional.masked_fill`."""
    return apply_inplace(self, "masked_fill_", _masked_fill, mask, value)


def addcmul_(self, t1, t2, *, value=1):
    """In place ``self += value * t1 * t2``."""
    return apply_inplace(self, "addcmul_", lambda a, b, c: M.add(a, M.mul(M.mul(b, c), value)),
                         t1, t2)


def addcdiv_(self, t1, t2, *, value=1):
    """In place ``self += value * t1 / t2``."""
    return apply_inplace(self, "addcdiv_", lambda a, b, c: M.add(a, M.mul(M.div(b, c), value)),
                         t1, t2)


def lerp_(self, end, weight):
    """In place ``self += weight * (end - self)``."""
    return apply_inplace(self, "lerp_", lambda a, e: M.add(a, M.mul(M.sub(e, a), weight)), end)


def _unary_(name, fn):
    def method(self):
        return apply_inplace(self, name, fn)
    method.__name__ = name
    method.__doc__ = f"In place ``{name[:-1]}``. Returns self."
    return method


_UNARY = {"neg_": M.neg, "abs_": M.abs, "sqrt_": M.sqrt, "exp_": M.exp, "log_": M.log,
          "reciprocal_": M.reciprocal, "tanh_": M.tanh, "sigmoid_": A.sigmoid, "relu_": A.relu,
          "sign_": M.sign, "square_": M.square, "floor_": C.floor, "ceil_": C.ceil,
          "round_": C.round, "trunc_": C.trunc}

def _shape_(name, fn):
    """In-place shape ops (``squeeze_``, ``unsqueeze_``, ``t_``, ``transpose_``): ``self``
    becomes the reshaped view of its own storage, as in PyTorch."""
    def method(self, *args, **kwargs):
        if _needs_graph(self, ()):
            if self._requires_grad and self._creator is None:
                raise RuntimeError(
                    f"{name}: a leaf Variable that requires grad is being used in an in-place "
                    "operation; use the out-of-place op or work inside `lamina.no_grad()`")
            old = _new(Tensor)
            old.array, old._version = self.array, self._version
            old._creator, old._out_idx = self._creator, self._out_idx
            old._requires_grad = self._requires_grad
            r = fn(old, *args, **kwargs)
            self._creator, self._out_idx = r._creator, r._out_idx
        else:
            with no_grad():
                r = fn(self, *args, **kwargs)
        bump(self)
        self.array = r.array
        return self
    method.__name__ = name
    method.__doc__ = f"In place ``{name[:-1]}`` (``self`` becomes the view). Returns self."
    return method


def apply_(self, callable):
    """``torch.Tensor.apply_``: replace each element by ``callable(element)`` (a Python loop:
    for small tensors and tests, as in PyTorch; no gradient). Returns self."""
    xp = B.get_array_module(self.array)
    res = B.np.vectorize(callable, otypes=[self.array.dtype])(B.to_host(self.array)) \
        if self.array.size else self.array
    return apply_inplace(self, "apply_", lambda x: Tensor(xp.asarray(res)))


_METHODS = dict(add_=add_, apply_=apply_, sub_=sub_, mul_=mul_, div_=div_, pow_=pow_, clamp_=clamp_,
                clip_=clamp_, copy_=copy_, fill_=fill_, zero_=zero_, normal_=normal_,
                uniform_=uniform_, masked_fill_=masked_fill_, addcmul_=addcmul_,
                addcdiv_=addcdiv_, lerp_=lerp_,
                clamp_min_=lambda self, min: clamp_(self, min=min),
                clamp_max_=lambda self, max: clamp_(self, max=max),
                __iadd__=lambda self, o: apply_inplace(self, "+=", M.add, o),
                __isub__=lambda self, o: apply_inplace(self, "-=", M.sub, o),
                __imul__=lambda self, o: apply_inplace(self, "*=", M.mul, o),
                __itruediv__=lambda self, o: apply_inplace(self, "/=", M.div, o),
                __ipow__=lambda self, o: apply_inplace(self, "**=", M.pow, o),
                __imatmul__=lambda self, o: apply_inplace(self, "@=", M.matmul, o))
_METHODS.update({k: _unary_(k, f) for k, f in _UNARY.items()})
_METHODS.update({k: _shape_(k, f) for k, f in {
    "squeeze_": _S.squeeze, "unsqueeze_": _S.unsqueeze, "t_": lambda x: _S.transpose(x),
    "transpose_": _S.transpose}.items()})
for _k, _f in _METHODS.items():
    setattr(Tensor, _k, _f)
