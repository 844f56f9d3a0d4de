#!/usr/bin/env bash
# regenerate.sh TOPO_STEM CFG_STEM [TOPO_STEM CFG_STEM ...]
# Topologies whose stem ends in _gemm are run in SCALE-Sim's `-i gemm` mode (rows: name, M, N, K).
# Re-create golden per-layer CSVs from the SCALE-Sim v3 peer, one run at a time:
#   tests/golden/data/topologies/TOPO_STEM.csv x tests/golden/data/configs/CFG_STEM.cfg
#   -> tests/golden/data/scalesim/TOPO_STEM__CFG_STEM.csv
# Needs the peer scripts (PEER dir, default /work/shared/peers/scalesim) and their venv (run its setup.sh first).
# Raw reports go to $RAW (default /tmp/golden_runs) and are not kept in the repository.
# Not used at test time: the tests read only the CSVs under tests/golden/data/.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
PEER=${PEER:-/work/shared/peers/scalesim}
RAW=${RAW:-/tmp/golden_runs}
DATA=$HERE/data
while [ $# -ge 2 ]; do
  t=$1; c=$2; shift 2
  out=$RAW/${t}__${c}
  kind=conv; case $t in *_gemm) kind=gemm;; esac
  rm -rf "$out"
  echo "$t x $c: $(bash "$PEER/run.sh" "$DATA/topologies/$t.csv" "$DATA/configs/$c.cfg" "$out" "$kind" | tail -1)"
  python3 "$PEER/summarize.py" "$out" "$DATA/scalesim/${t}__${c}.csv" "$DATA/topologies/$t.csv"
done
