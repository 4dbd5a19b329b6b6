#!/usr/bin/env bash
# Runs the TokenMDP benchmark suite (SPEC §5) and prints a ratio table.
#
#   Benchmarks/run_benchmarks.sh            # full SPEC sizes (~3–5 min on 2 cores)
#   QUICK=1 Benchmarks/run_benchmarks.sh    # small sizes, a smoke run (~30 s)
#
# Builds release, then: soft VI (tokenmdp, 1 thread and all cores) vs the
# vectorised NumPy/SciPy implementation on the same shape, a NumPy
# correctness check of `tokenmdp solve`, beam search ms/prompt, the linear
# learner's training step vs a plain DGEMM, and the default experiment end to
# end. Every timing is a median over repeats; the machine's other load is
# noise, so run it twice and compare. Raw outputs go to $OUT (default
# Benchmarks/out/, not committed).
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${OUT:-Benchmarks/out}
mkdir -p "$OUT"
CORES=$(getconf _NPROCESSORS_ONLN)
if [ "${QUICK:-0}" = 1 ]; then
  S=1000; V=256; H=16; REP=3; NP_REP=2; PROMPTS=5; PAIRS=20000
else
  S=10000; V=256; H=64; REP=5; NP_REP=3; PROMPTS=20; PAIRS=100000
fi

echo "building release…" >&2
swift build -c release >/dev/null
BIN=.build/release/tokenmdp

val() { grep "^$1:" "$2" | head -1 | awk '{print $2}'; }

echo "soft VI (tokenmdp, 1 thread)…" >&2
$BIN bench solve --latent $S --vocab $V --horizon $H --threads 1 --repeat $REP > "$OUT/solve1.txt"
echo "soft VI (tokenmdp, $CORES threads)…" >&2
$BIN bench solve --latent $S --vocab $V --horizon $H --threads "$CORES" --repeat $REP > "$OUT/solveN.txt"
echo "soft VI (NumPy/SciPy)…" >&2
python3 Benchmarks/numpy_soft_vi.py --latent $S --vocab $V --horizon $H --repeat $NP_REP > "$OUT/numpy.txt"
echo "correctness check vs NumPy…" >&2
python3 Benchmarks/numpy_soft_vi.py --check --tokenmdp $BIN --beta 0.5 > "$OUT/check.txt"
python3 Benchmarks/numpy_soft_vi.py --check --tokenmdp $BIN --beta 0 >> "$OUT/check.txt"
echo "beam search…" >&2
$BIN bench beam --width 64 --vocab 256 --horizon 64 --prompts $PROMPTS --threads 1 > "$OUT/beam1.txt"
$BIN bench beam --width 64 --vocab 256 --horizon 64 --prompts $PROMPTS --threads "$CORES" > "$OUT/beamN.txt"
echo "linear training step…" >&2
$BIN bench train --pairs $PAIRS --dim 1024 --vocab 64 > "$OUT/train.txt"
echo "default experiment end to end…" >&2
rm -rf "$OUT/default-run"
T0=$(date +%s.%N)
$BIN run configs/default.yaml --out "$OUT/default-run" > /dev/null
T1=$(date +%s.%N)
E2E=$(python3 -c "print('%.2f' % ($T1 - $T0))")

ns1=$(val ns_per_edge_median "$OUT/solve1.txt"); nsN=$(val ns_per_edge_median "$OUT/solveN.txt")
nsNP=$(val ns_per_edge_median "$OUT/numpy.txt")
ratio() { python3 -c "print('%.1f' % ($1 / $2))"; }

MODEL=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
cat <<EOF

TokenMDP benchmarks — $(date -u +%Y-%m-%d) — ${MODEL:-unknown CPU}, $CORES cores — $(git rev-parse --short HEAD)
shape: soft VI S=$S V=$V H=$H; beam k=64 V=256 H=64 ($PROMPTS prompts); train $PAIRS pairs, d=1024, V=64

| kernel                                   | median              | vs NumPy/SciPy |
|------------------------------------------|---------------------|----------------|
| soft VI, NumPy/SciPy (logsumexp)         | $nsNP ns/edge | 1.0×           |
| soft VI, tokenmdp, 1 thread              | $ns1 ns/edge | $(ratio "$nsNP" "$ns1")×          |
| soft VI, tokenmdp, $CORES threads              | $nsN ns/edge | $(ratio "$nsNP" "$nsN")×          |
| beam search k=64, 1 thread               | $(val ms_per_prompt_median "$OUT/beam1.txt") ms/prompt |                |
| beam search k=64, $CORES prompts at a time     | $(val ms_per_prompt_median "$OUT/beamN.txt") ms/prompt |                |
| linear training step (loss + gradient)   | $(val seconds_per_step_median "$OUT/train.txt") s/step |                |
|   achieved GFLOP/s (1 BLAS thread)       | $(val gflops_step "$OUT/train.txt") (GEMM share $(val gemm_fraction_of_step "$OUT/train.txt")) |                |
|   plain DGEMM peak, 1 / $CORES threads         | $(val dgemm_peak_gflops_1_thread "$OUT/train.txt") / $(val dgemm_peak_gflops_all_cores "$OUT/train.txt") GFLOP/s |                |
| default experiment, end to end           | $E2E s              |                |

correctness: $(tr '\n' ' ' < "$OUT/check.txt")
raw outputs: $OUT/
EOF
