"""``load_onnx``: an ONNX file as a lamina ``Module`` (evaluate or fine-tune it in lamina).

The graph's float initializers become ``Parameter`` s (so ``model.parameters()`` trains them),
integer ones buffers; ``forward`` runs the nodes in order with lamina ops, so gradients flow
through the whole imported graph. The op set is what :func:`lamina.deploy.export_onnx` writes
plus the plumbing other exporters (``torch.onnx.export``) emit around each layer: Shape,
Gather, Unsqueeze, Squeeze, Concat, ConstantOfShape, Transpose, Slice, Reshape, Flatten,
Constant, Identity, Cast, Range, Expand, Where, ...
"""

from __future__ import annotations

import os

from .. import backend as B
from ..autograd.tensor import Tensor
from ..errors import check, op_error
from ..nn.module import Module, Parameter
from . import _import_nn  # noqa: F401  (fill the op table)
from . import _import_ops
from ._import_ops import IMPL

np = B.np

__all__ = ["load_onnx", "OnnxModule", "read_onnx"]


def read_onnx(path_or_model):
    """Read and check an ONNX model (a path, bytes or a ``ModelProto``).

    Raises:
        ValueError: the file is not a valid ONNX model (corrupt or truncated), naming it.
    """
    from .onnx_export import require_onnx
    onnx = require_onnx()
    if isinstance(path_or_model, onnx.ModelProto):
        proto, where = path_or_model, "the model"
    else:
        where = "bytes" if isinstance(path_or_model, bytes) else os.fspath(path_or_model)
        data = path_or_model if isinstance(path_or_model, bytes) else open(where, "rb").read()
        try:
            proto = onnx.load_from_string(data)
        except Exception as e:  # protobuf's DecodeError and friends
            raise op_error("load_onnx", "a valid ONNX file", f"{where}: cannot be parsed "
                           f"({type(e).__name__}: corrupt or truncated)") from None
    try:
        onnx.checker.check_model(proto)
    except Exception as e:
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise op_error("load_onnx", "a valid ONNX model", f"{where}: {msg}") from None
    return proto


def _attrs(node, onnx):
    out = {}
    for at in node.attribute:
        v = onnx.helper.get_attribute_value(at)
        if isinstance(v, onnx.TensorProto):
            v = onnx.numpy_helper.to_array(v)
        elif isinstance(v, list) and v and isinstance(v[0], bytes):
            v = [x.decode() for x in v]
        elif isinstance(v, bytes):
            v = v.decode()
        out[at.name] = v
    return out


class OnnxModule(Module):
    """A lamina ``Module`` that runs an ONNX graph with lamina ops.

    Args:
        proto (onnx.ModelProto): a checked model (see :func:`load_onnx`).

    Attributes:
        input_names, output_names (list of str): the graph's inputs and outputs.
        param_names (dict): ONNX initializer name -> attribute name of its Parameter.
    """

    def __init__(self, proto):
        super().__init__()
        import onnx
        g = proto.graph
        init_names = {t.name for t in g.initializer}
        self.input_names = [i.name for i in g.input if i.name not in init_names]
        self.output_names = [o.name for o in g.output]
        self.param_names = {}
        for k, t in enumerate(g.initializer):
            arr = onnx.numpy_helper.to_array(t).copy()
            attr = f"p{k}"
            self.param_names[t.name] = attr
            if arr.dtype.kind == "f":
                setattr(self, attr, Parameter(arr))
            else:
                self.register_buffer(attr, arr)
        self.nodes = []
        missing = set()
        for node in g.node:
            if node.domain not in ("", "ai.onnx"):
                missing.add(f"{node.domain}.{node.op_type}")
            elif node.op_type not in IMPL:
                missing.add(node.op_type)
            self.nodes.append((node.op_type, list(node.input), list(node.output),
                               _attrs(node, onnx)))
        if missing:
            raise op_error("load_onnx", "ops lamina implements",
                           f"unsupported op(s) {', '.join(sorted(missing))}")

    def forward(self, *inputs):
        """Run the graph.

        Args:
            *inputs (Tensor or array): one per graph input, in order.

        Returns:
            Tensor, or a tuple of Tensors when the graph has several outputs.
        """
        check(len(inputs) == len(self.input_names), "OnnxModule",
              f"{len(self.input_names)} inputs ({', '.join(self.input_names)})",
              f"{len(inputs)}")
        env = {"": None}
        for name, attr in self.param_names.items():
            env[name] = getattr(self, attr) if attr in self._parameters else \
                self._buffers[attr]
        for name, x in zip(self.input_names, inputs):
            env[name] = x if isinstance(x, Tensor) else Tensor(np.asarray(x))
        for op, ins, outs, attrs in self.nodes:
            _import_ops.n_outputs_hint[0] = len(outs)
            try:
                res = IMPL[op](op, [env[i] if i else None for i in ins], attrs)
            except KeyError as e:
                raise op_error("OnnxModule", "every node input computed before use",
                               f"{op} reads {e}") from None
            res = res if isinstance(res, list) else [res]
            for name, r in zip(outs, res):
                if name:
                    env[name] = r
        out = tuple(_import_nn.as_tensor(env[n]) for n in self.output_names)
        return out[0] if len(out) == 1 else out


def load_onnx(path):
    """Load an ONNX model as a lamina :class:`OnnxModule`.

    Args:
        path (str, PathLike, bytes or onnx.ModelProto): the model.

    Returns:
        OnnxModule: call it like the original model; its float initializers are Parameters.

    Raises:
        ValueError: corrupt/truncated file, or ops lamina does not implement (named).

    Example:
        >>> m = load_onnx("lenet.onnx")
        >>> m(lamina.randn(4, 1, 28, 28)).shape
        (4, 10)
    """
    return OnnxModule(read_onnx(path))
