"""The ``lamina`` command: ``train``, ``evaluate``, ``predict``, ``summary``, ``datasets``.

Configuration errors print one line naming the key and the fix, and exit with status 2.
"""

from __future__ import annotations

import argparse
import os
import sys

from .config import ConfigError

__all__ = ["main", "ConfigError"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lamina", description="Train, evaluate and use lamina "
                                "models from a TOML config.")
    from .. import __version__
    p.add_argument("--version", action="version", version=f"lamina {__version__}")
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="train and evaluate (default: a small CNN on digits)")
    t.add_argument("config", nargs="?", help="TOML config (see examples/configs/)")
    t.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set optim.lr=0.01 (repeatable)")
    t.add_argument("--resume", metavar="RUN_DIR", help="continue a run from its checkpoint")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.add_argument("--nproc", type=int, default=1, metavar="N",
                   help="data-parallel training on N ranks (starts mpiexec -n N itself)")
    t.add_argument("--compile", action="store_true",
                   help="capture the forward and loss once and replay them (lamina.compile; "
                        "the same as --set train.compile=true)")
    t.add_argument("--print-config", action="store_true",
                   help="print the resolved config (TOML, after --set and defaults) and exit")
    e = sub.add_parser("evaluate", help="metrics of a finished run on its test data")
    e.add_argument("run_dir")
    e.add_argument("--data", help="labelled .csv (config's target column) or .npz (x, y)")
    e.add_argument("--calibrate", action="store_true",
                   help="fit temperature scaling on the run's validation split and write "
                        "before/after ECE and reliability diagrams (as `lamina calibrate`)")
    pr = sub.add_parser("predict", help="predictions of a finished run for new inputs")
    pr.add_argument("run_dir")
    pr.add_argument("input", help=".csv or .npy of samples")
    pr.add_argument("-o", "--output", help="write a CSV here instead of printing")
    s = sub.add_parser("summary", help="layer table, output shapes, parameters, FLOPs")
    s.add_argument("config", nargs="?")
    s.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    sub.add_parser("datasets", help="list the bundled datasets")
    sub.add_parser("models", help="list the models model.name accepts and their input shapes")
    for mod in _plugins():
        mod.register(sub)
    return p


# Subcommands of the application packages (explain, robustness, export, audit, tune, rl, ...)
# live in lamina/cli/cmd_<name>.py: each module defines ``register(subparsers)``, which adds its
# parser and sets ``func=`` (called with the parsed args). Imported lazily by their own code.
_PLUGINS = ("explain", "robust", "uncertainty", "fairness", "deploy", "distributed", "tune", "rl")


def _plugins():
    import importlib
    import importlib.util
    for name in _PLUGINS:
        if importlib.util.find_spec(f"{__name__}.cmd_{name}") is not None:
            yield importlib.import_module(f"{__name__}.cmd_{name}")


def main(argv=None) -> int:
    """Entry point of the console script (also ``python -m lamina``)."""
    args = _parser().parse_args(argv)
    try:
        if getattr(args, "func", None) is not None:
            rc = args.func(args)
            return int(rc or 0)
        if args.cmd == "train" and args.compile:
            args.set = [*args.set, "train.compile=true"]
        if args.cmd == "train" and args.print_config:
            from .config import apply_overrides, dumps_toml, load_config, validate
            cfg = validate(apply_overrides(load_config(args.config), args.set))
            print(dumps_toml(cfg), end="")
        elif args.cmd == "train":
            from .commands import train
            train(args.config, args.set, resume=args.resume, verbose=0 if args.quiet else 1,
                  nproc=args.nproc)
        elif args.cmd == "evaluate" and args.calibrate:
            if args.data:
                raise ConfigError("evaluate: --calibrate uses the run's own validation and "
                                  "test splits; drop --data")
            from argparse import Namespace

            from .cmd_uncertainty import run as calibrate_run
            return calibrate_run(Namespace(run_dir=args.run_dir, method="temperature", bins=15,
                                           out=None))
        elif args.cmd == "evaluate":
            from .runs import evaluate
            evaluate(args.run_dir, args.data)
        elif args.cmd == "predict":
            from .runs import predict
            predict(args.run_dir, args.input, args.output)
        elif args.cmd == "summary":
            from .runs import summary
            summary(args.config, args.set)
        elif args.cmd == "models":
            from .zoo import models_table
            models_table()
        elif args.cmd == "datasets":
            from .runs import datasets_table
            datasets_table()
    except ConfigError as e:
        print(f"lamina: error: {e}", file=sys.stderr)
        return 2
    except ImportError as e:
        print(f"lamina: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:
        print(f"lamina: {e or 'interrupted'}", file=sys.stderr)
        return 130
    except (ValueError, KeyError, TypeError, OSError) as e:
        # user-facing problems (bad data, corrupt weights, shape mismatch): one line, no traceback;
        # LAMINA_DEBUG=1 re-raises so a bug in lamina itself shows its traceback
        if os.environ.get("LAMINA_DEBUG"):
            raise
        msg = str(e.args[0]) if isinstance(e, KeyError) and e.args else str(e)
        print(f"lamina: error: {type(e).__name__}: {msg.splitlines()[0] if msg else ''}",
              file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
