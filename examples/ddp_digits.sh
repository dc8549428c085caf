#!/usr/bin/env bash
# Data-parallel training of the digits MLP on 2 MPI ranks (seed Q46), then the same run killed
# and resumed. Needs `pip install 'lamina[distributed]'` (mpi4py + the mpich wheel's mpiexec).
#
#   bash examples/ddp_digits.sh [NPROC]
#
# `lamina train --nproc N` starts `mpiexec -n N` itself; on a cluster start the ranks yourself:
#   srun -n 64 python -m lamina train examples/configs/digits_mlp.toml
#   mpiexec -f hostfile -n 64 python -m lamina train examples/configs/digits_mlp.toml
set -euo pipefail
cd "$(dirname "$0")/.."
NPROC=${1:-2}
LAMINA=${LAMINA:-lamina}
OUT=${OUT:-runs/ddp}
# data.batch_size is per rank: the global batch is NPROC x 32; lr_scaling = "linear" would
# multiply optim.lr by NPROC (Goyal et al.'s rule, with warmup_epochs for a schedule-free run)
$LAMINA train examples/configs/digits_mlp.toml --nproc "$NPROC" --quiet \
  --set train.epochs=10 --set train.out_dir="$OUT" --set distributed.bucket_mb=1
RUN=$(ls -td "$OUT"/digits-mlp-* | head -1)
echo "history of $RUN:"
cat "$RUN/history.csv"
