"""Run benchmarks: ``python -m benchmarks [name ...]``.

With no name, the engine's table (core, cnn, lstm, seq: what ``./dev bench`` prints, ~10 minutes);
the application packages' side-by-side benchmarks (explain, robust, uncertainty, privacy,
deploy, distributed, rl) run by name, or all of them with ``all``.
"""

import importlib
import pkgutil
import sys


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    import benchmarks
    names = sorted(m.name[len("bench_"):] for m in pkgutil.iter_modules(benchmarks.__path__)
                   if m.name.startswith("bench_"))
    default = [n for n in ("core", "cnn", "lstm", "seq") if n in names]
    chosen = names if argv == ["all"] else (argv or default)
    for n in chosen:
        if n not in names:
            raise SystemExit(f"unknown benchmark {n!r}; choose from {names}")
        print(f"\n=== {n} ===", flush=True)
        importlib.import_module(f"benchmarks.bench_{n}").main()


if __name__ == "__main__":
    main()
