"""``python -m lamina.tune.worker SPEC.json INDEX``: one process of a multi-worker study."""

import sys

from .study import run_worker

if __name__ == "__main__":
    run_worker(sys.argv[1], int(sys.argv[2]))
