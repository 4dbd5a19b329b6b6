#!/usr/bin/env python3
"""Print the key numbers of the seven experiments, with 95% intervals, from the CSVs alone.

    python3 Experiments/findings.py [--results results] [--only NAME ...] [--skip-missing]

Plain, deterministic text for the README's "Findings". Means come with the
Student-t 95% interval of summary.csv; SOC − SFT (and other) differences are
*paired*: rows with the same cell, seed, prompt, split, decoder and width are
the same prompt of the same MDP, data and prior, decoded by both learners.
Each paired difference prints its row-level interval and, in brackets, the
interval over per-seed means (prompts of one seed share an MDP and prior, so
the by-seed interval is the conservative one).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections import defaultdict
from typing import Callable

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common as C  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROWS_REQUIRED = ("cell", "seed", "prompt", "split", "learner", "lambda", "decoder", "width",
                 "length_normalize", "sample", "correct", "overopt", "overopt_adv")


def path(results: str, experiment: str, name: str) -> str:
    return os.path.join(results, experiment, name)


def load_rows(results: str, experiment: str) -> list[C.Row]:
    return C.read_csv(path(results, experiment, "rows.csv"), ROWS_REQUIRED)


def est(rows: list[C.Row], metric: str) -> C.Estimate:
    return C.mean_ci(C.column(rows, metric))


def heading(text: str) -> None:
    print()
    print(f"== {text} " + "=" * max(0, 74 - len(text)))


def k(width: float) -> str:
    return f"k={C.fmt_number(width)}"


def verdict(p: C.Paired, better: str = "higher") -> str:
    """Verdict on a SOC − SFT difference: 'SOC better' / 'SOC worse' when both the row-level
    and the by-seed interval exclude 0, '… (rows only)' when only the row-level one does,
    'n.s.' otherwise."""
    sign = p.significant if better == "higher" else -p.significant
    if sign == 0:
        return "n.s."
    word = "SOC better" if sign > 0 else "SOC worse"
    by_seed = p.seeds.lo > 0 or p.seeds.hi < 0
    return word if by_seed else f"{word} (rows only)"


# ---------------------------------------------------------------------------
# Per experiment
# ---------------------------------------------------------------------------


def soc_vs_sft_by_width(rows: list[C.Row], split: str, where: dict | None = None) -> None:
    """Accuracy of SFT and SOC per width and the paired SOC − SFT difference."""
    mine = C.select(rows, where, split=split)
    for width in C.unique(mine, "width", numeric=True):
        sft = C.select(mine, learner="sft", width=width)
        soc = C.select(mine, learner="soc", width=width)
        d = C.paired_difference(sft, soc, "correct")
        print(f"  {k(width):>5}  SFT {est(sft, 'correct').fmt()}  SOC {est(soc, 'correct').fmt()}"
              f"  SOC−SFT {d.fmt()}  {verdict(d)}")


def growth(rows: list[C.Row], metric: str, w_lo: float, w_hi: float) -> C.Paired:
    """Paired change of ``metric`` from width w_lo to w_hi (same prompts)."""
    key = tuple(c for c in C.PAIR_KEY if c != "width")
    return C.paired_difference(C.select(rows, width=w_lo), C.select(rows, width=w_hi), metric, key)


def findings_beam_width(results: str) -> None:
    rows = C.select(load_rows(results, "beam-width"), decoder="beam", length_normalize=0)
    widths = C.unique(rows, "width", numeric=True)
    lo, hi = widths[0], widths[-1]
    for split in C.unique(rows, "split")[::-1]:  # train, then test
        print(f"{split} split, accuracy (fraction of chains completed):")
        soc_vs_sft_by_width(rows, split)
        for learner in C.unique(rows, "learner"):
            mine = C.select(rows, split=split, learner=learner)
            parts = [f"{m} {growth(mine, m, lo, hi).rows.fmt(signed=True)}"
                     for m in ("correct", "overopt", "overopt_adv")]
            print(f"  {learner.upper()} change {k(lo)} → {k(hi)}: " + "; ".join(parts))
        mine = C.select(rows, split=split, width=hi)
        for m in ("overopt", "overopt_adv"):
            d = C.paired_difference(C.select(mine, learner="sft"), C.select(mine, learner="soc"), m)
            print(f"  {m} at {k(hi)}: SOC−SFT {d.fmt()}  {verdict(d, 'lower')}")


def findings_lambda(results: str) -> None:
    rows = C.select(load_rows(results, "lambda"), split="train", length_normalize=0)
    x = "learners.soc.lambda" if "learners.soc.lambda" in rows[0] else "lambda"
    lambdas = C.unique(rows, x, numeric=True)
    key = tuple(c for c in C.PAIR_KEY if c != "cell")  # cells differ only in λ
    for width in C.unique(rows, "width", numeric=True):
        mine = C.select(rows, width=width)
        base = C.select(mine, {x: lambdas[0]})
        print(f"{k(width)} (Δ: paired against λ = {C.fmt_number(lambdas[0])}):")
        means, helps, hurts = {}, [], []
        for lam in lambdas:
            cur = C.select(mine, {x: lam})
            acc = est(cur, "correct")
            means[lam] = acc.mean
            line = (f"  λ={C.fmt_number(lam):<4} acc {acc.fmt()}  overopt {est(cur, 'overopt').fmt()}"
                    f"  overopt_adv {est(cur, 'overopt_adv').fmt()}")
            if lam != lambdas[0]:
                d = C.paired_difference(base, cur, "correct", key)
                line += f"  Δacc {d.rows.fmt(signed=True)}"
                (helps if d.significant > 0 else hurts if d.significant < 0 else []).append(lam)
            print(line)
        if len(set(means.values())) == 1:
            print("  accuracy is the same at every λ")
            continue
        best = max(lambdas, key=lambda v: (means[v], -v))
        worst = min(lambdas, key=lambda v: (means[v], v))
        fmt = lambda vs: ", ".join(C.fmt_number(v) for v in vs) or "none"  # noqa: E731
        print(f"  best λ {C.fmt_number(best)} ({means[best]:.3f}), worst λ {C.fmt_number(worst)} "
              f"({means[worst]:.3f}); significantly better than λ=0 at λ ∈ {{{fmt(helps)}}}, "
              f"worse at λ ∈ {{{fmt(hurts)}}}")


def loglog_slope(x: np.ndarray, y: np.ndarray) -> float:
    """Least-squares slope of log y on log x."""
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def findings_data_size(results: str) -> None:
    rows = C.select(load_rows(results, "data-size"), split="train", decoder="beam",
                    length_normalize=0)
    x = "expert.demos_per_prompt"
    demos = C.unique(rows, x, numeric=True)
    for width in C.unique(rows, "width", numeric=True):
        print(f"{k(width)}, accuracy:")
        last_help = None
        for n in demos:
            mine = C.select(rows, {x: n}, width=width)
            sft, soc = C.select(mine, learner="sft"), C.select(mine, learner="soc")
            d = C.paired_difference(sft, soc, "correct")
            if d.significant > 0:
                last_help = n
            print(f"  N={C.fmt_number(n):<5} SFT {est(sft, 'correct').fmt()}  "
                  f"SOC {est(soc, 'correct').fmt()}  SOC−SFT {d.fmt()}  {verdict(d)}")
        if last_help is None:
            print("  SOC never significantly better")
        else:
            after = [n for n in demos if n > last_help]
            print(f"  SOC significantly better (rows) up to N = {C.fmt_number(last_help)}"
                  + (f"; no significant gain from N = {C.fmt_number(after[0])} on" if after else ""))
    w0 = C.unique(rows, "width", numeric=True)[0]
    print("gap on fresh expert responses (expert_gap, reward units; → 0 as SFT → π*):")
    for learner in C.unique(rows, "learner"):
        gaps = [est(C.select(rows, {x: n}, learner=learner, width=w0), "expert_gap") for n in demos]
        line = ", ".join(f"N={C.fmt_number(n)}: {g.mean:.3f}" for n, g in zip(demos, gaps))
        tail = np.array([-g.mean for g in gaps[-3:]])
        slope = loglog_slope(np.array(demos[-3:]), tail) if (tail > 0).all() else math.nan
        print(f"  {learner.upper()}: {line}")
        print(f"  {learner.upper()}: log–log slope of −expert_gap over the last three N: {slope:.2f}"
              f" (−1 = the 1/N rate); at N={C.fmt_number(demos[-1])}: {gaps[-1].fmt()}")
    for m in ("overopt", "overopt_adv"):
        for width in C.unique(rows, "width", numeric=True):
            vals = [est(C.select(rows, {x: n}, width=width, learner="sft"), m).mean for n in demos]
            print(f"  SFT {m} at {k(width)}: N={C.fmt_number(demos[0])} {vals[0]:.3f} → "
                  f"N={C.fmt_number(demos[-1])} {vals[-1]:.3f}")


def findings_prior_noise(results: str) -> None:
    rows = C.select(load_rows(results, "prior-noise"), decoder="beam", length_normalize=0)
    x = "prior.sigma"
    widths = C.unique(rows, "width", numeric=True)
    lo, hi = widths[0], widths[-1]
    evt = {}
    try:
        for r in C.read_csv(path(results, "prior-noise", "evt.csv"), ("sigma", "width", "predicted_gap")):
            evt[(float(r["sigma"]), float(r["width"]))] = r
    except C.MissingInput as error:
        print(f"  (no extreme-value comparison: {error} not found)")
    except C.BadInput as error:
        print(f"  (no extreme-value comparison: {error})")
    for split in C.unique(rows, "split")[::-1]:
        print(f"{split} split:")
        for sigma in C.unique(rows, x, numeric=True):
            mine = C.select(rows, {x: sigma}, split=split)
            accs = {w: est(C.select(mine, width=w), "correct") for w in widths}
            best = max(widths, key=lambda w: (round(accs[w].mean, 12), -w))
            g = growth(mine, "overopt", lo, hi)
            ga = growth(mine, "correct", lo, hi)
            o1 = est(C.select(mine, width=lo), "overopt")
            print(f"  σ={C.fmt_number(sigma):<3} acc {k(lo)} {accs[lo].fmt()}, {k(hi)} {accs[hi].fmt()}"
                  f" (Δ {ga.rows.fmt(signed=True)}); best width {C.fmt_number(best)}")
            print(f"        overopt {k(lo)} {o1.fmt()}, change to {k(hi)} {g.rows.fmt(signed=True)}")
            if evt:
                parts = []
                for w in widths:
                    r = evt.get((sigma, w))
                    left = [x for x in C.select(mine, width=w) if x.get("first_ood_gap", "") != ""]
                    if r and left:
                        soft = r.get("predicted_gap_softmax", "")
                        parts.append(f"{k(w)} {float(r['predicted_gap']):.3f}"
                                     + (f"/{float(soft):.3f}" if soft else "")
                                     + f"/{est(left, 'first_ood_gap').mean:.3f} (n={len(left)})")
                crit = {r.get("critical_width", "") for (s_, _), r in evt.items() if s_ == sigma} - {""}
                print("        gap at the first off-data step, EVT Gaussian/softmax-coupled prediction vs measured: "
                      + "; ".join(parts) + (f"; predicted critical width {', '.join(sorted(crit))}" if crit else ""))


def findings_generalization(results: str) -> None:
    """Linear SFT vs SOC (learners named <kind>-<steps>) on train and unseen test prompts."""
    rows = C.select(load_rows(results, "generalization"), length_normalize=0)
    steps = sorted({r["learner"].partition("-")[2] for r in rows}, key=int)
    for split in C.unique(rows, "split")[::-1]:
        print(f"{split} split, accuracy:")
        for sigma in C.unique(rows, "prior.sigma", numeric=True):
            for decoder, width in sorted({(r["decoder"], float(r["width"])) for r in rows}, key=lambda d: (d[0] != "greedy", d[1])):
                mine = C.select(rows, {"prior.sigma": sigma}, split=split, decoder=decoder, width=width)
                for st in steps:
                    sft = C.select(mine, learner=f"sft-{st}")
                    soc = C.select(mine, learner=f"soc-{st}")
                    key = tuple(c for c in C.PAIR_KEY)
                    d = C.paired_difference(sft, soc, "correct", key)
                    print(f"  σ={C.fmt_number(sigma):<3} {decoder} {C.fmt_number(width):<2} {st:>5} steps  SFT {est(sft, 'correct').fmt()}"
                          f"  SOC {est(soc, 'correct').fmt()}  SOC−SFT {d.fmt()}  {verdict(d)}")


def findings_main_table(results: str) -> None:
    rows = C.select(load_rows(results, "main-table"), length_normalize=0)
    datasets = sorted(C.unique(rows, "expert"), key=C.dataset_sort_key)
    decoders = sorted({(r["decoder"], float(r["width"])) for r in rows},
                      key=lambda d: (d[0] != "greedy", d[1]))
    key_no_dec = tuple(c for c in C.PAIR_KEY if c not in ("decoder", "width"))
    for split in C.unique(rows, "split")[::-1]:
        print(f"{split} split, accuracy:")
        for sigma in C.unique(rows, "prior.sigma", numeric=True):
            for dataset in datasets:
                mine = C.select(rows, {"prior.sigma": sigma, "expert": dataset}, split=split)
                label = f"σ={C.fmt_number(sigma)}, {C.dataset_label(dataset)}"
                for decoder in decoders:
                    cur = C.select(mine, decoder=decoder[0], width=decoder[1])
                    sft, soc = C.select(cur, learner="sft"), C.select(cur, learner="soc")
                    d = C.paired_difference(sft, soc, "correct")
                    print(f"  {label}, {C.decoder_label(*decoder):<7} SFT {est(sft, 'correct').fmt()}"
                          f"  SOC {est(soc, 'correct').fmt()}  SOC−SFT {d.fmt()}  {verdict(d)}")
                if len(decoders) == 2:
                    for learner in C.unique(mine, "learner"):
                        a = C.select(mine, learner=learner, decoder=decoders[0][0], width=decoders[0][1])
                        b = C.select(mine, learner=learner, decoder=decoders[1][0], width=decoders[1][1])
                        d = C.paired_difference(a, b, "correct", key_no_dec)
                        print(f"      {learner.upper()} {C.decoder_label(*decoders[1])} − "
                              f"{C.decoder_label(*decoders[0])}: {d.rows.fmt(signed=True)}")


def findings_step_profile(results: str) -> None:
    exp = "step-profile"
    steps = C.select(C.read_csv(path(results, exp, "steps.csv"),
                                ("learner", "width", "split", "decoder", "step_gap_t", "t_from_ood",
                                 "cell", "seed", "prompt", "sample")),
                     split="train", decoder="beam")
    for learner in C.unique(steps, "learner"):
        for width in C.unique(steps, "width", numeric=True):
            mine = C.select(steps, learner=learner, width=width)
            left = C.select(mine, t_from_ood=C.NOT_EMPTY)
            by_offset = defaultdict(list)
            for r in left:
                by_offset[int(r["t_from_ood"])].append(float(r["step_gap_t"]))
            responses = {(r["cell"], r["seed"], r["prompt"], r["sample"]) for r in mine}
            left_resp = {(r["cell"], r["seed"], r["prompt"], r["sample"]) for r in left}
            before = [v for o, vs in by_offset.items() if o < -1 for v in vs]
            parts = [f"t_ood≤−2 {C.mean_ci(before).fmt()}"] + [
                f"t_ood={o:+d} {C.mean_ci(by_offset[o]).fmt()}" for o in (-1, 0, 1) if by_offset[o]]
            stayed = C.select(mine, t_from_ood=C.IS_EMPTY)
            print(f"  {learner.upper()} {k(width)}: {len(left_resp)}/{len(responses)} responses left the "
                  f"data; mean step gap " + "; ".join(parts)
                  + f"; never-left steps {C.mean_ci(C.column(stayed, 'step_gap_t')).fmt()}")


def findings_sft_q(results: str) -> None:
    exp = "sft-q-equivalence"
    try:
        ident = C.read_csv(path(results, exp, "identities.csv"),
                           ("identity", "max_abs_diff", "tolerance", "pass"))
        for r in ident:
            print(f"  {r['identity']}: max |diff| {float(r['max_abs_diff']):.2e} "
                  f"(tolerance {float(r['tolerance']):.0e}, pass={r['pass']})"
                  + (f" over {r['cases']} cases" if r.get("cases") else "")
                  + (f" — {r['claim']}" if r.get("claim") else ""))
    except C.MissingInput as error:
        print(f"  (identities: {error} not found)")
    except C.BadInput as error:
        print(f"  (identities: {error})")
    try:
        for r in C.read_csv(path(results, exp, "kl_fit.csv"), ("slope",)):
            se = float(r["slope_se"]) if r.get("slope_se") else math.nan
            print(f"  KL(π*‖π̂) vs N, fit {r.get('fit', '')}: slope {float(r['slope']):+.3f}"
                  f" ± {1.96 * se:.3f} (95%, normal) over N ∈ [{r.get('n_min', '?')}, "
                  f"{r.get('n_max', '?')}]")
    except C.MissingInput as error:
        print(f"  (KL fit: {error} not found)")
    except C.BadInput as error:
        print(f"  (KL fit: {error})")


SECTIONS: tuple[tuple[str, str, Callable[[str], None]], ...] = (
    ("beam-width", "rows.csv", findings_beam_width),
    ("lambda", "rows.csv", findings_lambda),
    ("data-size", "rows.csv", findings_data_size),
    ("prior-noise", "rows.csv", findings_prior_noise),
    ("sft-q-equivalence", "", findings_sft_q),
    ("main-table", "rows.csv", findings_main_table),
    ("generalization", "rows.csv", findings_generalization),
    ("step-profile", "steps.csv", findings_step_profile),
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", default=os.path.relpath(os.path.join(REPO, "results")))
    parser.add_argument("--only", action="append", choices=[s[0] for s in SECTIONS], metavar="NAME")
    parser.add_argument("--skip-missing", action="store_true",
                        help="skip experiments whose CSV is missing instead of failing")
    args = parser.parse_args(argv)
    chosen = [s for s in SECTIONS if not args.only or s[0] in args.only]
    missing = [path(args.results, name, f) for name, f, _ in chosen
               if f and not os.path.isfile(path(args.results, name, f))]
    if missing and not args.skip_missing:
        for file in missing:
            print(f"error: missing input file {file} (or pass --skip-missing)", file=sys.stderr)
        return 1
    print("TokenMDP findings (means with 95% Student-t intervals; SOC−SFT paired, "
          "by-seed interval in brackets)")
    for name, file, fn in chosen:
        heading(name)
        if file and path(args.results, name, file) in missing:
            print(f"  (skipped: {path(args.results, name, file)} not found)")
            continue
        try:
            fn(args.results)
        except C.BadInput as error:
            print(f"error: {name}: {error}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
