"""``deployment_report``: parameters, size on disk, FLOPs and latency (ONNX Runtime beside
lamina) of a model — what deciding on a device needs — and ONNX Runtime inference helpers."""

from __future__ import annotations

import copy
import time

from .. import backend as B
from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor
from ..errors import check
from ..nn.conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d
from ..nn.layers import Linear
from ..nn.module import Module
from .onnx_export import export_onnx, require_onnx
from .prune import compressed_size_bytes
from .quantize import model_size_bytes

np = B.np

__all__ = ["deployment_report", "format_report", "count_flops", "ort_session", "ort_predict",
           "latency", "onnx_metadata"]


def ort_session(path_or_proto, threads: int = 1):
    """An ONNX Runtime CPU session (``threads`` intra-op threads; warnings silenced)."""
    require_onnx(ort=True)
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = int(threads)
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    src = path_or_proto.SerializeToString() if hasattr(path_or_proto, "SerializeToString") \
        else str(path_or_proto)
    return ort.InferenceSession(src, so, providers=["CPUExecutionProvider"])


def ort_predict(path_or_session, x, batch_size: int = 256):
    """Run an ONNX model on ``x`` (array or Tensor) in batches; the first output, as one host
    array (what ``lamina predict model.onnx`` prints).

    Args:
        path_or_session: ``.onnx`` path, ``ModelProto`` or an ``InferenceSession``.
        x: inputs ``(N, ...)``. batch_size (int): Default 256.

    Returns:
        array ``(N, ...)``.
    """
    sess = path_or_session if hasattr(path_or_session, "run") else ort_session(path_or_session)
    inp = sess.get_inputs()[0]
    want = {"tensor(float)": np.float32, "tensor(int64)": np.int64}.get(inp.type, np.float32)
    a = np.asarray(x.array if isinstance(x, Tensor) else x).astype(want, copy=False)
    outs = [sess.run(None, {inp.name: a[i:i + batch_size]})[0]
            for i in range(0, len(a), batch_size)]
    return np.concatenate(outs) if outs else np.zeros((0,), np.float32)


def count_flops(model, example_input) -> int:
    """Floating-point operations (2 per multiply-add) of Linear and convolution layers for one
    forward pass of ``example_input`` (hooks; other layers are not counted)."""
    total = [0]

    def hook(m, args, out):
        y = out[0] if isinstance(out, tuple) else out
        if isinstance(m, Linear):
            total[0] += 2 * int(np.prod(y.shape)) * m.in_features
        elif isinstance(m, (Conv1d, Conv2d)):
            k = int(np.prod(m.weight.shape[1:]))
            total[0] += 2 * int(np.prod(y.shape)) * k
        elif isinstance(m, (ConvTranspose1d, ConvTranspose2d)):
            x = args[0]
            total[0] += 2 * int(np.prod(x.shape)) * int(np.prod(m.weight.shape[1:]))
    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (Linear, Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d))]
    try:
        with no_grad():
            model.eval()(example_input)
    finally:
        for h in handles:
            h.remove()
    return int(total[0])


def latency(fn, repeats: int = 30, warmup: int = 3) -> dict:
    """p50 / p95 wall time in milliseconds of ``fn()`` over ``repeats`` calls."""
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t0) * 1e3)
    return {"p50_ms": float(np.percentile(ts, 50)), "p95_ms": float(np.percentile(ts, 95))}


def _batch(example, n):
    a = example.array
    reps = -(-n // len(a))
    return Tensor(np.concatenate([a] * reps)[:n])


def deployment_report(model_or_path, example_input, batch_sizes=(1, 32), repeats: int = 30,
                      threads: int = 1) -> dict:
    """Size, cost and speed of a model as it would be deployed.

    Args:
        model_or_path (Module, str or PathLike): a lamina model, or an ``.onnx`` file (then
            lamina's latency is that of the model :func:`load_onnx` rebuilds).
        example_input (Tensor): one or more samples ``(N, ...)``; batches are built from it.
        batch_sizes (tuple): latency batch sizes. Default (1, 32).
        repeats (int): timed calls per measurement. Default 30.
        threads (int): ONNX Runtime intra-op threads. Default 1.

    Returns:
        dict: ``params``, ``flops`` (per sample), ``size_bytes`` (``model``: parameters and
        buffers as stored; ``int8``: with int8 Linear/Conv weights; ``compressed``: nonzeros
        plus a bit mask; ``onnx``: the file),
        ``latency_ms`` ``{batch: {"onnxruntime": {p50_ms, p95_ms}, "lamina": {...}}}``.

    Example:
        >>> r = deployment_report(LeNet5(), lamina.randn(1, 1, 28, 28))
        >>> print(format_report(r))
    """
    check(isinstance(example_input, Tensor), "deployment_report", "example_input: a Tensor",
          type(example_input).__name__)
    if isinstance(model_or_path, Module):
        model = model_or_path
        proto = export_onnx(model, example_input[:1])
    else:
        from .onnx_import import load_onnx, read_onnx
        proto = read_onnx(model_or_path)
        model = load_onnx(proto)
    model = copy.deepcopy(model).eval()
    sess = ort_session(proto, threads)
    name = sess.get_inputs()[0].name
    report = {
        "model": type(model).__name__,
        "params": int(sum(p.array.size for p in model.parameters())),
        "flops": count_flops(model, example_input[:1]),
        "size_bytes": {"model": model_size_bytes(model),
                       "int8": _int8_size(model),
                       "compressed": compressed_size_bytes(model),
                       "onnx": len(proto.SerializeToString())},
        "latency_ms": {},
        "threads": int(threads),
    }
    for bs in batch_sizes:
        x = _batch(example_input, int(bs))
        feed = {name: x.array}
        with no_grad():
            lam = latency(lambda: model(x), repeats)
        report["latency_ms"][int(bs)] = {
            "onnxruntime": latency(lambda: sess.run(None, feed), repeats), "lamina": lam}
    return report


def _int8_size(model):
    """Bytes once every Linear/Conv weight is int8 with a float32 scale per output channel
    (what ``quantize_static`` stores; biases become int32, everything else stays)."""
    total = model_size_bytes(model)
    for m in model.modules():
        if isinstance(m, (Linear, Conv1d, Conv2d)) and m.weight.array.dtype.itemsize == 4:
            w = m.weight.array
            total += w.size + 4 * w.shape[0] - w.nbytes
    return int(total)


def format_report(r: dict) -> str:
    """The report as a few aligned lines of text."""
    kb = {k: f"{v / 1024:.1f} KiB" for k, v in r["size_bytes"].items()}
    lines = [f"model            {r['model']}",
             f"parameters       {r['params']:,}",
             f"FLOPs / sample   {r['flops']:,}",
             "size             " + ", ".join(f"{k} {v}" for k, v in kb.items()),
             f"latency (ms, {r['threads']} thread)   p50 / p95"]
    for bs, d in r["latency_ms"].items():
        o, m = d["onnxruntime"], d["lamina"]
        lines.append(f"  batch {bs:<4} onnxruntime {o['p50_ms']:8.3f} / {o['p95_ms']:8.3f}"
                     f"   lamina {m['p50_ms']:8.3f} / {m['p95_ms']:8.3f}")
    return "\n".join(lines)


def onnx_metadata(path) -> dict:
    """The ``metadata_props`` of an ONNX file (``lamina export`` stores the run's
    ``model.json`` under ``lamina.arch``) as a dict of strings."""
    from .onnx_import import read_onnx
    return {p.key: p.value for p in read_onnx(path).metadata_props}
