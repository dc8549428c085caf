"""``check_op``: one call tests an op the way every lamina op is tested.

1. forward (float64) against a NumPy reference;
2. ``gradcheck`` of every floating input (float64 central differences);
3. float32 in gives float32 out and float32 gradients (no silent upcast);
4. PyTorch parity of the forward and of every input gradient, when torch is installed.
"""

from __future__ import annotations

import importlib.util

import numpy as np

from ..autograd.tensor import Tensor
from .gradcheck import gradcheck

__all__ = ["check_op", "torch_available"]


def torch_available() -> bool:
    """True when PyTorch can be imported (parity checks run only then)."""
    return importlib.util.find_spec("torch") is not None


def _outs(o):
    return list(o) if isinstance(o, (tuple, list)) else [o]


def check_op(fn, inputs, *, ref=None, torch_fn=None, grad: bool = True, fwd_atol: float = 1e-7,
             fwd_rtol: float = 1e-6, grad_atol: float = 1e-5, grad_rtol: float = 1e-3,
             torch_atol: float = 1e-6, float32: bool = True, eps: float = 1e-6,
             max_full: int = 256) -> None:
    """Test op ``fn`` on ``inputs`` (a list of NumPy arrays; floating ones are differentiable).

    Args:
        fn: ``fn(*tensors) -> Tensor`` (or tuple), the lamina op under test.
        inputs: list of NumPy arrays; floating ones are cast to float64 for checks 1, 2, 4.
        ref: ``ref(*arrays) -> array`` NumPy reference of the forward, or None.
        torch_fn: ``torch_fn(*torch_tensors) -> torch.Tensor``, or None.
        grad (bool): run gradcheck and gradient parity. Default True.

    Raises:
        AssertionError: naming which check failed and by how much.
    """
    inputs = [np.asarray(a) for a in inputs]
    x64 = [a.astype(np.float64) if a.dtype.kind == "f" else a for a in inputs]
    out = _outs(fn(*[Tensor(a.copy()) for a in x64]))
    if ref is not None:
        want = _outs(ref(*[a.copy() for a in x64]))
        for o, r in zip(out, want):
            np.testing.assert_allclose(np.asarray(o.array), r, atol=fwd_atol, rtol=fwd_rtol,
                                       err_msg="forward differs from the NumPy reference")
    if grad:
        gradcheck(fn, *[a.copy() for a in x64], atol=grad_atol, rtol=grad_rtol, eps=eps,
                  max_full=max_full)
    if float32:
        x32 = [Tensor(a.astype(np.float32), requires_grad=grad) if a.dtype.kind == "f"
               else Tensor(a) for a in inputs]
        o32 = _outs(fn(*x32))
        for o in o32:
            if o.dtype.kind == "f":
                assert o.dtype == np.float32, f"float32 inputs gave a {o.dtype} output"
        if grad:
            tot = None
            for o in o32:
                if o.requires_grad:
                    s = o.sum()
                    tot = s if tot is None else tot + s
            if tot is not None:
                tot.backward()
                for i, t in enumerate(x32):
                    if t.grad is not None:
                        assert t.grad.dtype == np.float32, \
                            f"input {i}: float32 input got a {t.grad.dtype} gradient"
    if torch_fn is not None and torch_available():
        import torch
        rs = np.random.default_rng(1)
        tl = [Tensor(a.copy(), requires_grad=grad and a.dtype.kind == "f") for a in x64]
        tt = [torch.tensor(a.copy(), requires_grad=grad and a.dtype.kind == "f") for a in x64]
        lo = _outs(fn(*tl))
        to = _outs(torch_fn(*tt))
        assert len(lo) == len(to), f"lamina gave {len(lo)} outputs, torch {len(to)}"
        for o, t in zip(lo, to):
            np.testing.assert_allclose(np.asarray(o.array), t.detach().numpy(), atol=torch_atol,
                                       rtol=1e-5, err_msg="forward differs from PyTorch")
        if grad:
            ws = [rs.standard_normal(o.shape) for o in lo]
            tot_l = None
            tot_t = 0
            for o, t, w in zip(lo, to, ws):
                if o.requires_grad:
                    s = (o * Tensor(w)).sum()
                    tot_l = s if tot_l is None else tot_l + s
                    tot_t = tot_t + (t * torch.tensor(w)).sum()
            if tot_l is not None:
                tot_l.backward()
                tot_t.backward()
                for i, (a, b) in enumerate(zip(tl, tt)):
                    if b.grad is None and a.grad is None:
                        continue
                    ga = np.zeros(a.shape) if a.grad is None else np.asarray(a.grad)
                    gb = np.zeros(a.shape) if b.grad is None else b.grad.numpy()
                    np.testing.assert_allclose(ga, gb, atol=torch_atol * 10, rtol=1e-5,
                                               err_msg=f"gradient of input {i} differs from "
                                                       "PyTorch")
