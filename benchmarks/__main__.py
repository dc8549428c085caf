"""Run every benchmark: ``python -m benchmarks [name ...]`` (names: core, cnn, lstm)."""

import importlib
import pkgutil
import sys


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    import benchmarks
    names = sorted(m.name[len("bench_"):] for m in pkgutil.iter_modules(benchmarks.__path__)
                   if m.name.startswith("bench_"))
    chosen = argv or names
    for n in chosen:
        if n not in names:
            raise SystemExit(f"unknown benchmark {n!r}; choose from {names}")
        print(f"\n=== {n} ===", flush=True)
        importlib.import_module(f"benchmarks.bench_{n}").main()


if __name__ == "__main__":
    main()
