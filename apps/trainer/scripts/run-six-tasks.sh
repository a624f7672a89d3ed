#!/usr/bin/env bash
# Runs the whole pipeline once on each of the paper's six tasks with small settings, one run
# folder per task under runs/six-tasks/. Needs the task files in DATA_DIR (default ../shared/data
# relative to the repository root) and a built workspace (pnpm build).
set -euo pipefail
cd "$(dirname "$0")/../../.."
DATA_DIR=${DATA_DIR:-../shared/data}
for task in mrpc cola rte scienceqa commonsenseqa openbookqa; do
  node apps/trainer/dist/cli.js run --quiet \
    --data-task "$task" --data-dir "$DATA_DIR" --run-out "runs/six-tasks/$task" \
    --data-train-limit 128 --data-eval-limit 100 \
    --search-steps 10 --train-steps 20 "$@"
  echo "$task: $(node -e 'const r=require(process.argv[1]);console.log(`accuracy ${(r.accuracy*100).toFixed(1)}% over ${r.total}` + (r.f1!==undefined?`, F1 ${(r.f1*100).toFixed(1)}`:``) + (r.mcc!==undefined?`, MCC ${r.mcc.toFixed(3)}`:``))' "$PWD/runs/six-tasks/$task/eval-results.json")"
done
