"""``export_onnx``: a lamina model as a standard ONNX file that ONNX Runtime runs unchanged.

The model is traced (see ``lamina.deploy._graph``): lamina records every op of a forward pass,
and each recorded op has a converter in a registry (``lamina.deploy._ops`` and ``_ops_nn``)
that writes the equivalent ONNX nodes with ``onnx.helper``. Dropout is gone in eval mode,
BatchNorm uses its running statistics, recurrent layers become ONNX's own ``LSTM``/``GRU``/
``RNN`` nodes. The file is checked with ``onnx.checker.check_model(full_check=True)`` and
written atomically: a failed export leaves the path as it was and no temporary file behind.
"""

from __future__ import annotations

from .. import backend as B
from ..autograd.grad_mode import enable_grad
from ..autograd.tensor import Tensor
from ..errors import check, op_error
from ..io.atomic import atomic_write
from ..nn.attention import MultiheadAttention
from ..nn.embedding import Embedding
from ..nn.recurrent import RNNBase
from . import _ops, _ops_nn, _ops_reduce  # noqa: F401  (fill the converter registry)
from ._graph import CONVERTERS, GraphBuilder

np = B.np

__all__ = ["export_onnx", "supported_ops", "require_onnx"]


def require_onnx(ort: bool = False):
    """Import ``onnx`` (and ``onnxruntime`` when ``ort``), with an error naming the extra."""
    try:
        import onnx
        if ort:
            import onnxruntime  # noqa: F401
    except ImportError as e:  # pragma: no cover - the deploy extra is installed in CI
        raise ImportError(f"lamina.deploy needs {e.name}: pip install 'lamina[deploy]'") from e
    return onnx


def supported_ops() -> list:
    """Names of the lamina ops (``Function`` classes) that have an ONNX converter."""
    return sorted(CONVERTERS)


def _as_tuple(example_input):
    xs = tuple(example_input) if isinstance(example_input, (tuple, list)) else (example_input,)
    for i, x in enumerate(xs):
        check(isinstance(x, Tensor), "export_onnx", "example_input: a Tensor or a tuple of them",
              f"input {i} of type {type(x).__name__}")
    return xs


def _default_axes(model, xs):
    """Batch (axis 0) for every input; the sequence axis too in text and recurrent models."""
    seq_first = any(isinstance(m, RNNBase) and not m.batch_first for m in model.modules())
    seq_model = any(isinstance(m, (RNNBase, MultiheadAttention, Embedding))
                    for m in model.modules())
    axes = []
    for x in xs:
        a = {0: "batch"}
        if seq_model and x.ndim >= 2 and (x.ndim == 3 or x.array.dtype.kind in "iu"):
            a = {0: "seq", 1: "batch"} if seq_first and x.ndim == 3 else {0: "batch", 1: "seq"}
        axes.append(a)
    return axes


def _axes_for(names, xs, dynamic_axes, model):
    if dynamic_axes is None:
        return _default_axes(model, xs)
    out = []
    for name, x in zip(names, xs):
        a = dynamic_axes.get(name, {})
        a = {int(k): str(v) for k, v in a.items()} if isinstance(a, dict) else \
            {int(k): f"{name}_dim{k}" for k in a}
        for k in a:
            check(0 <= k < x.ndim, "export_onnx", f"dynamic axes of '{name}' in [0, {x.ndim})",
                  f"axis {k}")
        out.append(a)
    return out


def _second_input(x, axes, rs):
    """The probe input: every dynamic axis one longer, other values (same dtype)."""
    a = x.array
    shape = tuple(s + 1 if i in axes else s for i, s in enumerate(a.shape))
    if a.dtype.kind in "iu" and a.ndim == 1 and a.size and int(a.min()) >= 1:
        # one positive integer per sample (sequence lengths): other values in the same range
        lo, hi = int(a.min()), int(a.max())
        b = rs.integers(lo, hi + 1, size=shape).astype(a.dtype)
        b[-1] = lo
    elif a.dtype.kind in "iu":
        lo, hi = (min(int(a.min()), 0), int(a.max())) if a.size else (0, 1)
        b = rs.integers(lo, hi + 1, size=shape).astype(a.dtype)
        if b.size:
            b.reshape(-1)[-1] = lo   # the lowest id (often <pad>) shows up in the probe
    elif a.dtype.kind == "b":
        b = rs.random(shape) < 0.5
    else:
        scale = float(np.abs(a).max()) if a.size else 1.0
        b = (rs.standard_normal(shape) * max(scale, 1e-3)).astype(a.dtype)
    return b


def _traced_input(arr):
    t = Tensor(arr)
    if arr.dtype.kind == "f":
        t.requires_grad = True
    return t


def _flat_outputs(out, where="output"):
    if isinstance(out, Tensor):
        return [out]
    if isinstance(out, (tuple, list)):
        res = []
        for i, o in enumerate(out):
            res += _flat_outputs(o, f"{where}[{i}]")
        return res
    raise op_error("export_onnx", "a model returning Tensors (or tuples of them)",
                   f"{where} of type {type(out).__name__}")


def _tag_layers(model, g):
    """Forward hooks that remember which module recorded each op (for error messages)."""
    handles = []
    for path, m in model.named_modules():
        def hook(mod, args, out, path=path or type(model).__name__):
            stop = {id(a) for a in args if isinstance(a, Tensor)}
            try:
                outs = _flat_outputs(out)
            except ValueError:
                return
            for t in outs:
                if t._creator is not None:
                    g.by_array[id(t.array)] = t
                    g.keep.append(t)
            stack = [t._creator for t in outs]
            while stack:
                fn = stack.pop()
                if fn is None or id(fn) in g.layer_of:
                    continue
                g.layer_of[id(fn)] = path
                g.keep.append(fn)
                for x in getattr(fn, "inputs", ()):
                    if isinstance(x, Tensor) and id(x) not in stop:
                        stack.append(x._creator)
        handles.append(m.register_forward_hook(hook))
    return handles


def _trace(model, xs, axes, g):
    rs = np.random.default_rng(12345)
    ins1 = [_traced_input(x.array) for x in xs]
    ins2 = [_traced_input(_second_input(x, a, rs)) for x, a in zip(xs, axes)]
    flags = [(p, p.requires_grad) for p in model.parameters()]
    training = model.training
    handles = _tag_layers(model, g)
    try:
        model.eval()
        for p, _ in flags:
            p.requires_grad = True   # so that ops on integer inputs are recorded too
        with enable_grad():
            out1 = _flat_outputs(model(*ins1))
            out2 = _flat_outputs(model(*ins2))
    finally:
        for h in handles:
            h.remove()
        for p, f in flags:
            p.requires_grad = f
        model.train(training)
    return ins1, ins2, out1, out2


def build_model(model, example_input, opset=17, input_names=None, output_names=None,
                dynamic_axes=None):
    """The checked ``onnx.ModelProto`` of ``model`` (what :func:`export_onnx` writes)."""
    onnx = require_onnx()
    helper = onnx.helper
    xs = _as_tuple(example_input)
    input_names = list(input_names or ([f"input_{i}" for i in range(len(xs))]
                                       if len(xs) > 1 else ["input"]))
    check(len(input_names) == len(xs), "export_onnx", f"{len(xs)} input_names",
          f"{len(input_names)}")
    axes = _axes_for(input_names, xs, dynamic_axes, model)
    g = GraphBuilder(onnx)
    ins1, ins2, out1, out2 = _trace(model, xs, axes, g)
    graph_inputs = []
    for name, t, t2, a in zip(input_names, ins1, ins2, axes):
        g.bind(t, name)
        g.bind(t.array, name)
        g.input_arrays.append((name, t.array, t2.array))
        for i in a:
            g.axis_sizes.setdefault((t.shape[i], t2.shape[i]), (name, i))
        dims = [a.get(i, s) for i, s in enumerate(t.shape)]
        dt = helper.np_dtype_to_tensor_dtype(t.array.dtype)
        graph_inputs.append(helper.make_tensor_value_info(name, dt, dims))
    if len(out1) != len(out2):
        raise op_error("export_onnx", "the same number of outputs for inputs of two sizes",
                       f"{len(out1)} and {len(out2)}")
    output_names = list(output_names or ([f"output_{i}" for i in range(len(out1))]
                                         if len(out1) > 1 else ["output"]))
    check(len(output_names) == len(out1), "export_onnx", f"{len(out1)} output_names",
          f"{len(output_names)}")
    sizes = {}
    for t, t2, a in zip(ins1, ins2, axes):
        for i, n in a.items():
            sizes[(t.shape[i], t2.shape[i])] = n
    graph_outputs = []
    for k, (name, o, o2) in enumerate(zip(output_names, out1, out2)):
        src = g.resolve(o, o2)
        g.nodes.append(helper.make_node("Identity", [src], [name]))
        dims = [s if s == s2 else sizes.get((s, s2), f"{name}_dim{i}")
                for i, (s, s2) in enumerate(zip(o.shape, o2.shape))]
        dt = helper.np_dtype_to_tensor_dtype(o.array.dtype)
        graph_outputs.append(helper.make_tensor_value_info(name, dt, dims))
    used = {i for n in g.nodes for i in n.input}
    inits = [t for t in g.inits if t.name in used]  # e.g. weights re-laid out for ONNX's LSTM
    graph = helper.make_graph(g.nodes, type(model).__name__, graph_inputs, graph_outputs,
                              initializer=inits)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", int(opset))],
                              producer_name="lamina")
    proto.ir_version = min(proto.ir_version, 8)
    proto = onnx.shape_inference.infer_shapes(proto, check_type=True, strict_mode=True)
    onnx.checker.check_model(proto, full_check=True)
    return proto


def export_onnx(model, example_input, path=None, opset: int = 17, input_names=None,
                output_names=None, dynamic_axes=None):
    """Export ``model`` to ONNX (opset 17), as ``torch.onnx.export`` does.

    Args:
        model (Module): any lamina model whose forward uses lamina ops (every zoo model that
            takes tensors; eval mode is used and restored afterwards).
        example_input (Tensor or tuple of Tensor): one batch, used to trace the model. Give
            text and recurrent models their ``lengths`` here as a 1-D integer tensor: they
            become ONNX's ``sequence_lens`` and the padding masks are computed in the graph.
        path (str or PathLike, optional): where to write the ``.onnx`` file (atomically).
            Default None (only return the model).
        opset (int): ONNX opset. Default 17.
        input_names, output_names (list of str, optional): default ``input``/``output``
            (``input_0``, ... when several).
        dynamic_axes (dict, optional): ``{name: {axis: label}}`` or ``{name: [axis, ...]}``;
            default: axis 0 of every input is ``batch``, and axis 1 ``seq`` for token ids and
            recurrent/attention inputs. ``{}`` exports fully static shapes.

    Returns:
        onnx.ModelProto: the checked model.

    Raises:
        ValueError: a layer whose op has no converter (naming the layer and the op), a
            non-tensor output, or a forward that depends on the input outside lamina's ops.

    Shape:
        ONNX inputs have the example's shapes with the dynamic axes symbolic.

    Example:
        >>> m = lamina.models.LeNet5()
        >>> export_onnx(m, lamina.randn(2, 1, 28, 28), "lenet.onnx")
    """
    proto = build_model(model, example_input, opset, input_names, output_names, dynamic_axes)
    if path is not None:
        atomic_write(path, proto.SerializeToString())
    return proto
