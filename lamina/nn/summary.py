"""``summary(model, input_shape)``: a Keras-style table of layers, output shapes and parameter
counts, obtained by running one forward pass with forward hooks."""

from __future__ import annotations

from .. import backend as B
from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor
from .module import Module

__all__ = ["summary"]


def _shape_str(out) -> str:
    if isinstance(out, Tensor) or hasattr(out, "shape"):
        return str(tuple(out.shape))
    if isinstance(out, (tuple, list)):
        return "[" + ", ".join(_shape_str(o) for o in out) + "]"
    if isinstance(out, dict):
        return "{" + ", ".join(f"{k}: {_shape_str(v)}" for k, v in out.items()) + "}"
    return type(out).__name__


def _own_params(m: Module) -> int:
    return sum(p.numel() for p in m._parameters.values() if p is not None)


def summary(model: Module, input_shape, dtype=None, print_fn=print) -> str:
    """Describe ``model``: one row per leaf module (and per module holding its own
    parameters), in call order, with its qualified name, type, output shape and parameter
    count; totals of trainable and non-trainable parameters at the bottom.

    Runs one forward pass on zeros of shape ``(1, *input_shape)`` under ``no_grad`` in eval
    mode (so BatchNorm running statistics are not touched and dropout is off), then restores
    the model's training mode.

    Args:
        model (Module): the model.
        input_shape (tuple | list of tuples): shape of one sample, without the batch
            dimension; a list of shapes for a model taking several inputs.
        dtype: input dtype. Default: the default float dtype (use an int dtype for models
            starting with an Embedding).
        print_fn (callable | None): called with the table. Default ``print``; None prints
            nothing.

    Returns:
        str: the table.

    Example:
        >>> lamina.summary(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1)), (4,))
    """
    dt = B.get_default_dtype() if dtype is None else B.np.dtype(dtype)
    shapes = input_shape if (isinstance(input_shape, list) and input_shape
                             and isinstance(input_shape[0], (tuple, list))) else [input_shape]
    p0 = next(iter(model.parameters()), None)
    xp = B.get_array_module(p0.array) if p0 is not None else B.np
    inputs = [Tensor(xp.zeros((1, *tuple(s)), dtype=dt)) for s in shapes]

    rows = []
    handles = []
    for name, m in model.named_modules():
        if m is model and any(True for _ in model.children()):
            continue
        if any(True for _ in m.children()) and _own_params(m) == 0:
            continue

        def hook(mod, args, out, name=name):
            rows.append((name or type(mod).__name__, type(mod).__name__, _shape_str(out),
                         _own_params(mod)))

        handles.append(m.register_forward_hook(hook))
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        with no_grad():
            out = model(*inputs)
    finally:
        for h in handles:
            h.remove()
        for m, mode in modes:
            object.__setattr__(m, "training", mode)

    total = trainable = 0
    for p in model.parameters():
        total += p.numel()
        trainable += p.numel() if p.requires_grad else 0
    head = ("Layer", "Type", "Output Shape", "Param #")
    body = [(n, t, s, f"{c:,}") for n, t, s, c in rows]
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(4)]
    widths[0] = max(widths[0], 20)

    def fmt(r):
        return (f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:<{widths[2]}}  "
                f"{r[3]:>{widths[3]}}")

    line = "=" * len(fmt(head))
    in_str = ", ".join(str((1, *tuple(s))) for s in shapes)
    lines = [f"{type(model).__name__} summary (input {in_str})", line, fmt(head), line]
    lines += [fmt(r) for r in body]
    size_mb = sum(p.numel() * p.dtype.itemsize for p in model.parameters()) / 2 ** 20
    lines += [line, f"Output shape: {_shape_str(out)}",
              f"Total params: {total:,}", f"Trainable params: {trainable:,}",
              f"Non-trainable params: {total - trainable:,}",
              f"Params size (MB): {size_mb:.2f}", line]
    text = "\n".join(lines)
    if print_fn is not None:
        print_fn(text)
    return text
