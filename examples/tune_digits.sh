#!/usr/bin/env bash
# Hyper-parameter search for the digits MLP with Optuna (seed Q22/Q32): TPE + median pruning,
# 30 trials, two worker processes sharing one SQLite study. Needs `pip install 'lamina[tune]'`.
#
#   bash examples/tune_digits.sh [TRIALS]
#
# Kill it at any time and run it again: the study continues from study.db. On several machines,
# point --storage at one PostgreSQL/MySQL URL (or journal:///shared/nfs/study.log).
set -euo pipefail
cd "$(dirname "$0")/.."
TRIALS=${1:-30}
LAMINA=${LAMINA:-lamina}
OUT=${OUT:-tune/digits}
mkdir -p "$OUT"
cat > "$OUT/space.toml" <<'TOML'
[optim.lr]
type = "float"
low = 1e-4
high = 3e-2
log = true

[model.hidden]
type = "categorical"
choices = [[32], [128], [256, 128]]

[model.dropout]
type = "float"
low = 0.0
high = 0.3
TOML
$LAMINA tune examples/configs/digits_mlp.toml --space "$OUT/space.toml" --trials "$TRIALS" \
  --sampler tpe --pruner median --set train.epochs=8 --workers 2 \
  --storage "sqlite:///$OUT/study.db" --study digits-mlp --out "$OUT"
ls "$OUT"
