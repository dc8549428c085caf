"""Beyond one process: MPI data parallelism, pipeline parallelism, a parameter server.

Runs on mpi4py (``pip install 'lamina[distributed]'`` brings mpi4py and the ``mpich`` wheel, so
``mpiexec`` is pip-installed; the same code runs under a cluster's MPI and ``srun``). Outside a
launcher every call has a single-process fallback. See ``docs/distributed.md``.
"""

from .comm import (Work, abort, all_gather, all_reduce, barrier, broadcast, get_timeout,
                   iall_reduce, init, is_initialized, rank, recv, send, set_timeout,
                   under_launcher, world_size)
from .ddp import DDP, DistributedDataParallel
from .param_server import ParameterServer
from .pipeline import Pipeline, split_sequential
from .sampler import DistributedSampler
from .sync_bn import SyncBatchNorm, convert_sync_batchnorm
from .trainer import (DistributedTrainer, is_rank_zero, rank_zero_only, rank_zero_print,
                      scale_lr, warmup_scheduler)

__all__ = ["init", "is_initialized", "world_size", "rank", "barrier", "all_reduce",
           "iall_reduce", "broadcast", "all_gather", "send", "recv", "under_launcher",
           "set_timeout", "get_timeout", "abort", "Work", "DistributedDataParallel", "DDP",
           "DistributedSampler", "SyncBatchNorm", "convert_sync_batchnorm", "DistributedTrainer",
           "is_rank_zero", "rank_zero_only", "rank_zero_print", "scale_lr", "warmup_scheduler",
           "Pipeline", "split_sequential", "ParameterServer"]
