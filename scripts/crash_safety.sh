#!/usr/bin/env bash
# Crash safety of `tokenmdp run` (SPEC §3: "an interrupted run resumes without
# recomputing finished cells and never leaves a half-written CSV").
#
#   1. runs a small sweep uninterrupted (the reference) and times it: T;
#   2. starts the same run in a second folder and kills it with SIGKILL after
#      f·T seconds, for each fraction f in CRASH_FRACTIONS, resuming each time
#      (each resume starts where the killed process stopped);
#   3. resumes once more to completion;
#   4. checks that rows.csv, summary.csv, steps.csv and config.resolved.yaml
#      are byte-identical (cmp) to the reference, and that no temporary file
#      (.NAME.tmp-PID) is left anywhere in the run folder.
#
# Environment (all optional):
#   TOKENMDP_BIN      the tokenmdp binary (default: `swift build -c release`, then its path)
#   CRASH_CONFIG      the config (default: scripts/crash_safety.yaml)
#   CRASH_FRACTIONS   kill times as fractions of T (default: "0.02 0.05 0.1 0.15 0.1 0.2 0.15 0.1",
#                     summing to a little under 1 so the kills land all along the run)
#   CRASH_THREADS     --threads for every run (default: 2)
#   CRASH_SET         extra `--set key=value` arguments, space-separated
#   CRASH_KEEP        keep the work folder when set (its path is printed)
#
# Exit status: 0 when every check passes, 1 otherwise. CI runs it through
# Tests/CLITests/CrashSafetyTests.swift with the debug binary.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
config="${CRASH_CONFIG:-$root/scripts/crash_safety.yaml}"
fractions="${CRASH_FRACTIONS:-0.02 0.05 0.1 0.15 0.1 0.2 0.15 0.1}"
threads="${CRASH_THREADS:-2}"
bin="${TOKENMDP_BIN:-}"
if [[ -z "$bin" ]]; then
    (cd "$root" && swift build -c release --product tokenmdp >/dev/null)
    bin="$(cd "$root" && swift build -c release --show-bin-path)/tokenmdp"
fi
[[ -x "$bin" ]] || { echo "crash_safety: no tokenmdp binary at $bin" >&2; exit 1; }

work="$(mktemp -d "${TMPDIR:-/tmp}/tokenmdp-crash.XXXXXX")"
child=""
cleanup() {
    if [[ -n "$child" ]]; then kill -KILL "$child" 2>/dev/null || true; fi
    if [[ -n "${CRASH_KEEP:-}" ]]; then echo "crash_safety: kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

extra=()
for s in ${CRASH_SET:-}; do extra+=(--set "$s"); done
run() { "$bin" run "$config" --threads "$threads" ${extra[@]+"${extra[@]}"} "$@"; }
now() { local d; d="$(date +%s.%N)"; [[ "$d" == *N ]] && d="$(date +%s)"; echo "$d"; }  # BSD date has no %N

# 1. The uninterrupted reference.
t0="$(now)"
run --out "$work/ref" >/dev/null
t1="$(now)"
T="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')"
count_parts() { find "$1/.parts" -name 'job-*.csv' ! -name '*.steps.csv' 2>/dev/null | wc -l || true; }
jobs="$(count_parts "$work/ref")"
echo "crash_safety: reference run took ${T} s ($jobs jobs)"

# 2. Kill and resume.
for f in $fractions; do
    delay="$(awk -v f="$f" -v t="$T" 'BEGIN { printf "%.3f", f * t }')"
    # Start the binary itself in the background (not through `run`, a shell
    # function, whose background subshell would be killed instead of it).
    "$bin" run "$config" --threads "$threads" ${extra[@]+"${extra[@]}"} --out "$work/crash" >/dev/null 2>&1 &
    child=$!
    sleep "$delay"
    if kill -KILL "$child" 2>/dev/null; then how="killed"; else how="finished before the kill"; fi
    wait "$child" 2>/dev/null || true
    child=""
    done_jobs="$(count_parts "$work/crash")"
    temps="$( (find "$work/crash" -name '.*.tmp-*' 2>/dev/null || true) | wc -l)"
    echo "crash_safety: after ${delay} s: $how; $done_jobs/$jobs jobs done, $temps temporary file(s) left"
done

# 3. Resume to completion.
run --out "$work/crash" >/dev/null

# 4. Checks.
status=0
for f in rows.csv summary.csv steps.csv config.resolved.yaml; do
    if [[ -e "$work/ref/$f" || -e "$work/crash/$f" ]]; then
        if cmp -s "$work/ref/$f" "$work/crash/$f"; then
            echo "crash_safety: $f identical"
        else
            echo "crash_safety: FAIL: $f differs from the uninterrupted run" >&2
            status=1
        fi
    fi
done
left="$(find "$work/crash" -name '.*.tmp-*' || true)"
if [[ -n "$left" ]]; then
    echo "crash_safety: FAIL: temporary files left: $left" >&2
    status=1
else
    echo "crash_safety: no temporary files left"
fi
[[ $status -eq 0 ]] && echo "crash_safety: OK"
exit $status
