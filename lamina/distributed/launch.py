"""Start ``N`` copies of a command under ``mpiexec`` (what ``lamina train --nproc N`` does).

The ``mpiexec`` beside the running interpreter is preferred (the pip ``mpich`` wheel installs it
into the virtual environment), then the one on ``PATH``. On a cluster, skip the launcher and
start the ranks yourself (``srun python -m lamina train ...`` or ``mpiexec -f hostfile -n 64
...``): lamina detects the PMI environment and joins the job.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["find_mpiexec", "mpiexec_command", "launch"]


def find_mpiexec() -> str:
    """Path of ``mpiexec`` (next to ``sys.executable``, else on ``PATH``).

    Raises:
        ImportError: none found (``pip install 'lamina[distributed]'`` brings one).
    """
    here = Path(sys.executable).parent / "mpiexec"
    if here.exists():
        return str(here)
    found = shutil.which("mpiexec") or shutil.which("mpirun")
    if found is None:
        raise ImportError("lamina.distributed: no mpiexec found next to the interpreter or on "
                          "PATH; pip install 'lamina[distributed]' (mpi4py + the mpich wheel)")
    return found


def mpiexec_command(nproc: int, args, python: str | None = None) -> list:
    """The argv ``mpiexec -n nproc python ARGS...``.

    Args:
        nproc (int): number of ranks (>= 1).
        args (sequence of str): arguments after the interpreter (e.g. ``["-m", "lamina",
            "train", "cfg.toml"]``).
        python (str, optional): the interpreter. Default ``sys.executable``.

    Returns:
        list[str].
    """
    if int(nproc) < 1:
        raise ValueError(f"launch: expected nproc >= 1, got {nproc}")
    return [find_mpiexec(), "-n", str(int(nproc)), python or sys.executable, *map(str, args)]


def launch(nproc: int, args, timeout: float | None = None, env=None) -> int:
    """Run ``args`` on ``nproc`` ranks and wait; returns the job's exit code (non-zero when any
    rank failed: mpiexec ends the others).

    Args:
        nproc (int): ranks. args (sequence of str): as :func:`mpiexec_command`.
        timeout (float, optional): seconds before the whole job is killed. Default None.
        env (dict, optional): extra environment variables.

    Returns:
        int: exit status (124 after ``timeout``).
    """
    full = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
            **(env or {})}
    try:
        return subprocess.run(mpiexec_command(nproc, args), env=full, timeout=timeout).returncode
    except subprocess.TimeoutExpired:
        return 124
