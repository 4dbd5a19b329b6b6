#!/usr/bin/env bash
# Regenerates (default) or checks (--check) every committed result under
# results/ from the committed configs with the committed code:
#
#   scripts/results.sh            # rebuild release, re-run every experiment, redraw every figure
#   scripts/results.sh --check    # re-run into a temp folder and `cmp` every CSV with results/
#
# The experiments are the configs of README "Findings" (SPEC §4). Figures are
# drawn from the CSVs alone by Experiments/plot.py (needs matplotlib:
# `pip install -r Experiments/requirements.txt`).
set -euo pipefail
cd "$(dirname "$0")/.."

EXPERIMENTS=(beam-width lambda data-size prior-noise sft-q-equivalence main-table generalization step-profile)
mode=${1:-make}
case "$mode" in make|--check) ;; *) echo "usage: scripts/results.sh [--check]" >&2; exit 2 ;; esac

swift build -c release --product tokenmdp >&2
bin=.build/release/tokenmdp

if [[ $mode == --check ]]; then
  out=$(mktemp -d); trap 'rm -rf "$out"' EXIT
else
  out=results
fi

for e in "${EXPERIMENTS[@]}"; do
  dir="$out/$e"
  [[ $mode == make ]] && rm -rf "$dir"
  mkdir -p "$dir"
  case "$e" in
    sft-q-equivalence)
      "$bin" identities --seeds 0,1,2,3 --out "$dir" >/dev/null ;;
    *)
      "$bin" run "configs/$e.yaml" --out "$dir" >/dev/null
      rm -rf "$dir/.parts"
      if [[ $e == prior-noise ]]; then "$bin" evt "configs/$e.yaml" --out "$dir/evt.csv" >/dev/null; fi ;;
  esac
  echo "ran $e" >&2
done

if [[ $mode == --check ]]; then
  status=0
  for e in "${EXPERIMENTS[@]}"; do
    for f in "$out/$e"/*.csv "$out/$e"/*.yaml; do
      [[ -e $f ]] || continue
      ref="results/$e/$(basename "$f")"
      if cmp -s "$f" "$ref"; then echo "same  $ref"; else echo "DIFF  $ref"; status=1; fi
    done
  done
  exit $status
fi

python3 Experiments/plot.py --results results
