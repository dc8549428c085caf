"""``lamina export RUN_DIR --format onnx [--quantize int8 --calibration 512] [--prune 0.5]
-o model.onnx`` and ``lamina deploy-report RUN_DIR``.

``export`` rebuilds the run's model, optionally prunes it (global magnitude, no fine-tuning)
and quantizes it (post-training static int8, calibrated on the first ``--calibration``
training samples), and writes an ONNX file (a QDQ model when quantized) atomically. The run's
``model.json`` travels in the file's metadata (``lamina.arch``), so the input transforms can
be re-applied when the file is used for prediction.
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["register", "run_export", "run_report"]


def register(subparsers) -> None:
    """Add ``lamina export`` and ``lamina deploy-report``."""
    p = subparsers.add_parser("export", help="export a trained run to ONNX "
                              "(optionally pruned / int8-quantized)")
    p.add_argument("run_dir", help="a finished run directory (lamina train)")
    p.add_argument("--format", default="onnx", choices=("onnx",), help="output format")
    p.add_argument("--quantize", choices=("int8",), default=None,
                   help="post-training static int8 quantization (QDQ ONNX)")
    p.add_argument("--calibration", type=int, default=512,
                   help="training samples used to calibrate activation ranges (default 512)")
    p.add_argument("--prune", type=float, default=None, metavar="SPARSITY",
                   help="global magnitude pruning to this sparsity before export, e.g. 0.5")
    p.add_argument("-o", "--output", default=None,
                   help="output path (default RUN_DIR/model.onnx)")
    p.set_defaults(func=run_export)
    r = subparsers.add_parser("deploy-report", help="parameters, sizes, FLOPs and ONNX "
                              "Runtime vs lamina latency of a run's model")
    r.add_argument("run_dir", help="a finished run directory, or an .onnx file")
    r.add_argument("--repeats", type=int, default=30, help="timed calls per measurement")
    r.add_argument("--json", default=None, help="also write the report as JSON here")
    r.set_defaults(func=run_report)


def _example(arch, n=2):
    from .. import backend as B
    from ..autograd import zeros
    return zeros(n, *arch["input_shape"], dtype=B.get_default_dtype())


def run_export(args) -> int:
    from ..deploy import export_onnx, fold_batchnorm, magnitude_prune, quantize_static
    from .config import ConfigError
    from .data import prepare_data
    from .runs import load_run
    if args.calibration < 1:
        raise ConfigError(f"--calibration: expected a positive number of samples, got "
                          f"{args.calibration}")
    if args.prune is not None and not 0.0 <= args.prune < 1.0:
        raise ConfigError(f"--prune: expected a sparsity in [0, 1), got {args.prune}")
    model, cfg, arch = load_run(args.run_dir)
    out = Path(args.output) if args.output else Path(args.run_dir) / "model.onnx"
    if not out.parent.is_dir():
        raise ConfigError(f"-o {out}: directory {out.parent} does not exist")
    notes = []
    if args.prune:
        magnitude_prune(model, args.prune).remove()
        notes.append(f"pruned to {args.prune:.0%} sparsity")
    if args.quantize == "int8":
        rd = prepare_data(cfg)
        model = quantize_static(fold_batchnorm(model), rd.x_train, limit=args.calibration)
        notes.append(f"int8 (calibrated on {min(args.calibration, len(rd.x_train))} samples)")
    proto = export_onnx(model, _example(arch))
    meta = proto.metadata_props.add()
    meta.key, meta.value = "lamina.arch", json.dumps(arch)
    from ..io.atomic import atomic_write
    atomic_write(out, proto.SerializeToString())
    size = out.stat().st_size
    print(f"wrote {out} ({size / 1024:.1f} KiB{', ' + ', '.join(notes) if notes else ''})")
    return 0


def run_report(args) -> int:
    from ..deploy import deployment_report, format_report
    from ..io.atomic import atomic_write
    src = Path(args.run_dir)
    if src.suffix == ".onnx":
        from ..deploy.onnx_import import read_onnx
        proto = read_onnx(src)
        arch = json.loads({p.key: p.value for p in proto.metadata_props}.get(
            "lamina.arch", "null") or "null")
        if arch is None:
            from .config import ConfigError
            raise ConfigError(f"{src}: no lamina.arch metadata (export it with lamina export)")
        target = src
    else:
        from .runs import load_run
        target, _, arch = load_run(src)
    rep = deployment_report(target, _example(arch, 1), repeats=args.repeats)
    print(format_report(rep))
    if args.json:
        atomic_write(args.json, json.dumps(rep, indent=2))
    return 0
