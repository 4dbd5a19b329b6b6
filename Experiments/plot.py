#!/usr/bin/env python3
"""Regenerate every TokenMDP figure from the CSVs in results/ (never runs the simulator).

    python3 Experiments/plot.py [--results results] [--only NAME ...] [--skip-missing]

Writes ``results/<experiment>/<experiment>.png`` for the seven experiments of
SPEC §4 (plus ``results/main-table/main-table.md``) and prints every file it
wrote. A missing required input is a one-line error naming the file (exit 1)
unless ``--skip-missing``, which skips that figure with a warning instead.
Optional inputs — ``prior-noise/evt.csv`` and the ``sft-q-equivalence`` CSVs —
only produce a warning when absent.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections import defaultdict
from dataclasses import dataclass
from typing import Callable

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common as C  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def path(results: str, experiment: str, name: str) -> str:
    return os.path.join(results, experiment, name)


def load_summary(results: str, experiment: str) -> list[C.Row]:
    return C.read_csv(path(results, experiment, "summary.csv"), C.SUMMARY_COLUMNS)


def sweep_column(rows: list[C.Row], preferred: str, fallback: str | None = None) -> str:
    """The sweep column (e.g. ``learners.soc.lambda``), else ``fallback`` if given."""
    if rows and preferred in rows[0]:
        return preferred
    if fallback is None or not rows or fallback not in rows[0]:
        raise C.BadInput(f"summary.csv has no sweep column {preferred!r}")
    return fallback


def width_styles(widths: list[float]) -> dict[float, tuple[str, str]]:
    """Line style and marker per beam width: the widest solid, narrower ones dashed/dotted."""
    styles = [("-", "o"), ("--", "s"), (":", "^"), ("-.", "D")]
    ordered = sorted(widths, reverse=True)
    return {w: styles[i % len(styles)] for i, w in enumerate(ordered)}


# ---------------------------------------------------------------------------
# 1. beam-width
# ---------------------------------------------------------------------------


def fig_beam_width(results: str) -> list[str]:
    """Accuracy and over-optimism vs beam width, SFT vs SOC; one row per split."""
    exp = "beam-width"
    s = C.select(load_summary(results, exp), decoder="beam", length_normalize=0)
    splits = [sp for sp in ("train", "test") if C.select(s, split=sp)]
    learners = C.unique(s, "learner")
    widths = C.unique(s, "width", numeric=True)
    fig, axes = C.figure(len(splits), 2, 10.0, 3.7 * len(splits))
    for row, split in enumerate(splits):
        ax_acc, ax_opt = axes[row]
        acc_curves, ns = [], []
        for learner in learners:
            colour = C.learner_colour(learner)
            label = C.learner_label(learner, C.learner_lambda(s, learner))
            acc = C.curve(s, "width", "correct", split=split, learner=learner)
            C.draw_curve(ax_acc, acc, colour=colour, label=label)
            acc_curves.append(acc)
            ns.extend(acc.n)
            for metric, ls, marker in (("overopt", "-", "o"), ("overopt_adv", "--", "s")):
                c = C.curve(s, "width", metric, split=split, learner=learner)
                C.draw_curve(ax_opt, c, colour=colour, linestyle=ls, marker=marker,
                             label=f"{label}: {C.METRIC_NAMES[metric]}")
        for ax in (ax_acc, ax_opt):
            C.log2_axis(ax, widths)
            ax.set_xlabel(C.WIDTH_LABEL)
        C.accuracy_axis(ax_acc)
        ax_opt.set_ylabel(C.OVEROPT_LABEL)
        ax_opt.axhline(0, color="0.4", lw=0.8)
        identical = len(acc_curves) > 1 and all(c.same_as(acc_curves[0]) for c in acc_curves[1:])
        if identical:
            note = "SFT = SOC on this split (no demonstrations\non its prompts): red covers blue"
            C.identical_note(ax_acc, note, corner="upper left")
            C.identical_note(ax_opt, note, corner="lower right")
        ax_acc.set_title(f"{split} split: accuracy of the beam's output ({C.n_text(ns)} per point)")
        ax_opt.set_title(f"{split} split: over-optimism of the beam's output ({C.n_text(ns)})")
        ax_acc.legend(loc="lower left" if not identical else "center right")
        if identical:  # between the two flat lines, away from the note
            ax_opt.legend(loc="center left", bbox_to_anchor=(0.0, 0.62))
        else:
            ax_opt.legend(loc="best")
    fig.suptitle("beam-width: wider beams on SFT-as-Q logits (shaded: 95% CI)")
    return [C.save(fig, path(results, exp, f"{exp}.png"))]


# ---------------------------------------------------------------------------
# 2. lambda
# ---------------------------------------------------------------------------


def fig_lambda(results: str) -> list[str]:
    """Accuracy, overopt and overopt_adv vs SOC strength λ, one line per beam width."""
    exp = "lambda"
    s = C.select(load_summary(results, exp), split="train", length_normalize=0)
    x = sweep_column(s, "learners.soc.lambda", "lambda")
    widths = C.unique(s, "width", numeric=True)
    colours = C.sequential_colours(len(widths), "plasma")
    markers = ["o", "s", "^", "D", "v"]
    lambdas = C.unique(s, x, numeric=True)
    panels = (("correct", C.ACCURACY_LABEL, "accuracy"),
              ("overopt", C.OVEROPT_LABEL, "overopt (estimated − true return)"),
              ("overopt_adv", "inflated advantage overopt_adv (reward units)",
               "overopt_adv (inflated advantage)"))
    fig, axes = C.figure(1, len(panels), 13.5, 4.3)
    ns, acc_low = [], 1.0
    for ax, (metric, ylabel, title) in zip(axes[0], panels):
        for i, (width, colour) in enumerate(zip(widths, colours)):
            c = C.curve(s, x, metric, width=width)
            ns.extend(c.n)
            if metric == "correct":
                acc_low = min(acc_low, float(np.nanmin(c.lo)))
            C.draw_curve(ax, c, colour=colour, marker=markers[i % len(markers)],
                         label=f"beam width k = {C.fmt_number(width)}")
        ax.axvline(0.2, color="0.5", ls=":", lw=1.0, label="published default λ = 0.2")
        ax.set_xlabel(C.LAMBDA_LABEL)
        ax.set_xticks(lambdas)
        ax.set_xticklabels([C.fmt_number(v) for v in lambdas], rotation=45)
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.legend(loc="best")
    axes[0][0].set_ylim(min(0.5, math.floor(acc_low * 10) / 10), 1.0)  # zoom, never clip
    fig.suptitle(f"lambda: SOC strength λ at beam widths k, train split ({C.n_text(ns)} responses "
                 "per point; cells paired: same MDP, data and prior per seed; shaded: 95% CI)")
    return [C.save(fig, path(results, exp, f"{exp}.png"))]


# ---------------------------------------------------------------------------
# 3. data-size
# ---------------------------------------------------------------------------


def fig_data_size(results: str) -> list[str]:
    """Accuracy, over-optimism and the expert gap vs demonstrations per prompt."""
    exp = "data-size"
    s = C.select(load_summary(results, exp), split="train", decoder="beam", length_normalize=0)
    x = sweep_column(s, "expert.demos_per_prompt")
    learners = C.unique(s, "learner")
    widths = C.unique(s, "width", numeric=True)
    styles = width_styles(widths)
    demos = C.unique(s, x, numeric=True)
    fig, axes = C.figure(2, 2, 10.0, 7.4)
    (ax_acc, ax_opt), (ax_adv, ax_exp) = axes
    ns = []
    panels = ((ax_acc, "correct"), (ax_opt, "overopt"), (ax_adv, "overopt_adv"))
    for learner in learners:
        colour = C.learner_colour(learner)
        label = C.learner_label(learner, C.learner_lambda(s, learner))
        for width in widths:
            ls, marker = styles[width]
            for ax, metric in panels:
                c = C.curve(s, x, metric, learner=learner, width=width)
                ns.extend(c.n)
                C.draw_curve(ax, c, colour=colour, linestyle=ls, marker=marker,
                             label=f"{label}, k = {C.fmt_number(width)}")
        # expert_gap does not depend on the decoder: fresh expert samples scored by the model.
        gaps = [C.curve(s, x, "expert_gap", learner=learner, width=w) for w in widths]
        if not all(g.same_as(gaps[0]) for g in gaps[1:]):
            C.warn(f"{exp}: expert_gap differs between widths for {learner}; plotting k = "
                   f"{C.fmt_number(widths[0])}")
        g = gaps[0]
        neg = C.Curve(g.x, -g.mean, np.maximum(-g.hi, 1e-12), np.maximum(-g.lo, 1e-12), g.n)
        C.draw_curve(ax_exp, neg, colour=colour, label=f"{label}: −expert_gap")
        if learner == "sft":
            # ∝ 1/N reference anchored at SFT's largest N (KL(π*‖π̂) ~ 1/N, SPEC I6).
            n_max, gap_max = g.x[-1], -g.mean[-1]
            ref = gap_max * n_max / np.asarray(demos)
            ax_exp.plot(demos, ref, color="0.35", ls=":", lw=1.2,
                        label="∝ 1/N reference (through SFT at largest N)")
    for ax in (ax_acc, ax_opt, ax_adv, ax_exp):
        C.log10_axis(ax, demos)
        ax.set_xlabel(C.DEMOS_LABEL)
    C.accuracy_axis(ax_acc)
    ax_opt.set_ylabel(C.OVEROPT_LABEL)
    ax_adv.set_ylabel("inflated advantage overopt_adv (reward units)")
    ax_adv.axhline(0, color="0.4", lw=0.8)
    ax_exp.set_yscale("log")
    ax_exp.set_ylabel("−expert_gap = β·KL(π* ‖ π̂) (reward units, log scale)")
    nt = C.n_text(ns)
    ax_acc.set_title(f"accuracy of the beam's output ({nt} per point)")
    ax_opt.set_title(f"overopt on the beam's output ({nt})")
    ax_adv.set_title(f"overopt_adv on the beam's output ({nt})")
    ax_exp.set_title(f"gap on fresh expert responses (→ 0 as SFT → π*; {nt} prompts)")
    ax_acc.legend(loc="lower right")
    for ax in (ax_opt, ax_adv, ax_exp):
        ax.legend(loc="upper right")
    fig.suptitle("data-size: demonstrations per train prompt, SFT vs SOC at beam widths k "
                 "(train split; shaded: 95% CI)")
    return [C.save(fig, path(results, exp, f"{exp}.png"))]


# ---------------------------------------------------------------------------
# 4. prior-noise (with the extreme-value prediction)
# ---------------------------------------------------------------------------

EVT_REQUIRED = ("sigma", "width", "predicted_gap")


@dataclass
class EvtCurve:
    width: np.ndarray
    predicted_gap: np.ndarray          # Gaussian: βτσ·E[max of kV N(0,1)] − normaliser shift
    predicted_softmax: np.ndarray      # with the softmax coupling (≤ β log V); NaN if absent
    ceiling: float                     # β log V; NaN if absent
    critical_width: float              # NaN when none


def load_evt(results: str) -> dict[float, EvtCurve]:
    """The EVT prediction per σ from ``prior-noise/evt.csv``; {} (with a warning) if unusable."""
    file = path(results, "prior-noise", "evt.csv")
    try:
        rows = C.read_csv(file, EVT_REQUIRED)
    except C.MissingInput:
        C.warn(f"{file} not found: prior-noise figure drawn without the extreme-value overlay")
        return {}
    except C.BadInput as error:
        C.warn(f"{error}: prior-noise figure drawn without the extreme-value overlay")
        return {}
    out: dict[float, EvtCurve] = {}
    for sigma in C.unique(rows, "sigma", numeric=True):
        pick = sorted(C.select(rows, sigma=sigma), key=lambda r: float(r["width"]))
        crit = math.nan
        if "critical_width" in pick[0]:
            values = {r["critical_width"] for r in pick} - {""}
            finite = sorted(v for v in (float(c) for c in values) if math.isfinite(v))
            if len(finite) > 1:
                C.warn(f"{file}: several critical widths for σ = {C.fmt_number(sigma)}; "
                       f"marking the first ({C.fmt_number(finite[0])})")
            crit = finite[0] if finite else math.nan
        soft = (C.column(pick, "predicted_gap_softmax") if "predicted_gap_softmax" in pick[0]
                else np.full(len(pick), math.nan))
        ceiling = float(pick[0]["gap_ceiling"]) if "gap_ceiling" in pick[0] else math.nan
        out[sigma] = EvtCurve(C.column(pick, "width"), C.column(pick, "predicted_gap"), soft, ceiling, crit)
    return out


def fig_prior_noise(results: str) -> list[str]:
    """Per prior noise σ vs beam width: the gap at the first off-data step with the
    extreme-value predictions of ``tokenmdp evt``; whole-response over-optimism; accuracy."""
    exp = "prior-noise"
    s = C.select(load_summary(results, exp), decoder="beam", length_normalize=0)
    x_sigma = sweep_column(s, "prior.sigma")
    sigmas = C.unique(s, x_sigma, numeric=True)
    widths = C.unique(s, "width", numeric=True)
    colours = dict(zip(sigmas, C.sequential_colours(len(sigmas), "viridis")))
    evt = load_evt(results)
    splits = [sp for sp in ("test", "train") if C.select(s, split=sp)]
    fig, axes = C.figure(3, len(splits), 5.4 * len(splits), 11.0)
    for col, split in enumerate(splits):
        ax_gap, ax_opt, ax_acc = axes[0][col], axes[1][col], axes[2][col]
        ns, gap_ns = [], []
        for sigma in sigmas:
            colour = colours[sigma]
            where = {x_sigma: sigma}
            gap = C.curve(s, "width", "first_ood_gap", where, split=split)
            opt = C.curve(s, "width", "overopt", where, split=split)
            acc = C.curve(s, "width", "correct", where, split=split)
            ns.extend(opt.n)
            gap_ns.extend(gap.n)
            label = f"σ = {C.fmt_number(sigma)}"
            C.draw_curve(ax_gap, gap, colour=colour, label=f"{label}: measured")
            C.draw_curve(ax_opt, opt, colour=colour, label=label)
            C.draw_curve(ax_acc, acc, colour=colour, label=label)
            if sigma in evt:
                e = evt[sigma]
                ax_gap.plot(e.width, e.predicted_gap, color=colour, ls=":", lw=1.2,
                            label=f"{label}: Gaussian EVT βτσ·m(kV) − shift")
                if np.isfinite(e.predicted_softmax).all():
                    ax_gap.plot(e.width, e.predicted_softmax, color=colour, ls="--", lw=1.4,
                                label=f"{label}: EVT with softmax coupling")
                crit = e.critical_width
                if math.isfinite(crit) and widths[0] / 1.5 <= crit <= widths[-1] * 1.5:
                    ax_acc.axvline(crit, color=colour, ls=":", lw=1.2)
        if evt:
            ceiling = next(iter(evt.values())).ceiling
            if math.isfinite(ceiling):
                ax_gap.axhline(ceiling, color="0.3", ls="-.", lw=0.9, label="β log V (softmax ceiling)")
        for ax in (ax_gap, ax_opt, ax_acc):
            C.log2_axis(ax, widths)
            ax.set_xlabel(C.WIDTH_LABEL)
        ax_gap.set_ylabel("gap at first off-data step (reward units)")
        ax_opt.set_ylabel(C.OVEROPT_LABEL)
        C.accuracy_axis(ax_acc)
        what = ("test prompts: no demonstrations, the learner is the prior"
                if split == "test" else "train prompts: SFT on 4 demonstrations")
        ax_gap.set_title(f"{what}\nβ[log π_ℓ − log π*] at the first off-data step ({C.n_text(gap_ns)})")
        if evt:  # a few-response σ on train has intervals wider than the predictions: clip
            top = max(float(np.nanmax(e.predicted_gap)) for e in evt.values())
            ax_gap.set_ylim(-0.1, 1.05 * top)
        ax_opt.set_title(f"{split} split: over-optimism of the whole response ({C.n_text(ns)})")
        ax_acc.set_title(f"{split} split: accuracy; dotted: predicted critical width k*")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=min(4, len(labels)), fontsize=7.5)
    fig.suptitle("prior-noise: beam search vs prior noise σ (SFT); extreme-value predictions "
                 "from `tokenmdp evt`; shaded: 95% CI")
    return [C.save(fig, path(results, exp, f"{exp}.png"))]


# ---------------------------------------------------------------------------
# 5. sft-q-equivalence (identities of SPEC §1.3; KL vs N)
# ---------------------------------------------------------------------------

IDENTITY_COLUMNS = ("identity", "max_abs_diff", "tolerance", "pass")
KL_COLUMNS = ("seed", "n_demos", "kl")
FIT_COLUMNS = ("slope", "intercept")
ZERO_FLOOR = 1e-17  # where an exact 0 is drawn on the log axis


def _truthy(cell: str) -> bool:
    return cell.strip().lower() in ("1", "true", "yes", "pass", "ok")


def _draw_identities(ax, rows: list[C.Row]) -> None:
    names = [r["identity"] for r in rows]
    diffs = C.column(rows, "max_abs_diff")
    tols = C.column(rows, "tolerance")
    passed = [_truthy(r["pass"]) for r in rows]
    heights = np.where(diffs > 0, diffs, np.nan)  # an exact 0 gets no bar, only its label
    xs = np.arange(len(rows))
    colours = ["#2a9d4b" if ok else "#c8322d" for ok in passed]
    ax.bar(xs, heights, color=colours, width=0.6, zorder=2)
    ax.hlines(tols, xs - 0.4, xs + 0.4, colors="black", lw=1.6, zorder=3)
    for x, d, tol, ok in zip(xs, diffs, tols, passed):
        text = ("0 (exact)" if d == 0 else f"{d:.1e}") + ("" if ok else " FAIL")
        y = max(d, ZERO_FLOOR) * 1.8
        if tol / 8 <= y <= tol * 3:  # keep the label off the tolerance mark
            y = tol * 3
        ax.text(x, y, text, ha="center", va="bottom", fontsize=7)
    ax.set_yscale("log")
    ax.set_xticks(xs)
    labels = names
    if "cases" in rows[0]:
        labels = [f"{n} ({r['cases']})" for n, r in zip(names, rows)]
    ax.set_xticklabels(labels, fontsize=7.5, rotation=35, ha="right", rotation_mode="anchor")
    ax.set_xlabel("identity (number of cases checked)")
    ax.set_ylabel("max |left − right| over the cases (absolute, log scale)")
    top = max(np.nanmax(diffs), np.nanmax(tols))
    ax.set_ylim(ZERO_FLOOR / 3, top * 50)
    from matplotlib.patches import Patch
    from matplotlib.lines import Line2D
    ax.legend(handles=[Patch(color="#2a9d4b", label="pass"), Patch(color="#c8322d", label="fail"),
                       Line2D([], [], color="black", lw=1.6, label="tolerance")],
              loc="upper right")
    n_pass = sum(passed)
    ax.set_title(f"identities of SPEC §1.3 as measured numbers ({n_pass}/{len(rows)} pass)")


def _fit_line(fit: C.Row, kl_rows: list[C.Row]) -> tuple[np.ndarray, np.ndarray]:
    """(N grid, fitted KL) for one kl_fit.csv row, over its [n_min, n_max].

    The fit is read as ``ln KL = intercept + slope · ln N`` (natural logs; the
    slope does not depend on the base, the intercept does).
    """
    ns = C.column(kl_rows, "n_demos")
    lo = float(fit["n_min"]) if fit.get("n_min") else float(np.nanmin(ns))
    hi = float(fit["n_max"]) if fit.get("n_max") else float(np.nanmax(ns))
    grid = np.geomspace(lo, hi, 50)
    return grid, np.exp(float(fit["intercept"])) * grid ** float(fit["slope"])


def _draw_kl(ax, kl_rows: list[C.Row], fits: list[C.Row]) -> None:
    ns_all = C.column(kl_rows, "n_demos")
    kl_all = C.column(kl_rows, "kl")
    positive = kl_all > 0
    if (~positive).any():
        C.warn(f"kl_vs_n.csv: {int((~positive).sum())} non-positive KL value(s) left off the log axes")
    ax.scatter(ns_all[positive], kl_all[positive], s=9, color="0.55", alpha=0.6,
               label=f"one seed ({len(C.unique(kl_rows, 'seed'))} seeds)", zorder=2)
    demos = sorted(set(ns_all[positive].tolist()))
    est = [C.mean_ci(kl_all[(ns_all == n) & positive]) for n in demos]
    means = np.array([e.mean for e in est])
    lo = np.array([e.lo if math.isfinite(e.lo) and e.lo > 0 else e.mean for e in est])
    hi = np.array([e.hi if math.isfinite(e.hi) else e.mean for e in est])
    C.draw_curve(ax, C.Curve(np.array(demos), means, lo, hi, np.zeros(len(demos))),
                 colour=C.learner_colour("sft"), label="mean over seeds (95% CI)", zorder=3)
    for fit in fits:
        grid, line = _fit_line(fit, kl_rows)
        se = f" ± {float(fit['slope_se']):.3f} (se)" if fit.get("slope_se") else ""
        name = fit.get("fit", "") or "fit"
        slope = f"{float(fit['slope']):.3f}".replace("-", "−")
        ax.plot(grid, line, color="black", ls="--", lw=1.3, zorder=4,
                label=f"{name}: slope {slope}{se}, "
                      f"N ∈ [{C.fmt_number(grid[0])}, {C.fmt_number(grid[-1])}]")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("demonstrations N (log scale)")
    ax.set_ylabel("KL(π* ‖ π̂) (nats, log scale)")
    ax.set_title("SFT → π*: KL vs N (SPEC I6, slope −1 expected)")
    ax.legend(loc="lower left")


def fig_sft_q_equivalence(results: str) -> list[str]:
    """Identities as measured numbers and KL(π*‖π̂) vs N; every input optional."""
    exp = "sft-q-equivalence"
    ident_file = path(results, exp, "identities.csv")
    kl_file = path(results, exp, "kl_vs_n.csv")
    fit_file = path(results, exp, "kl_fit.csv")
    identities = kl_rows = None
    fits: list[C.Row] = []
    for file, cols, kind in ((ident_file, IDENTITY_COLUMNS, "identities"),
                             (kl_file, KL_COLUMNS, "kl")):
        try:
            rows = C.read_csv(file, cols)
        except (C.MissingInput, C.BadInput) as error:
            reason = f"{file} not found" if isinstance(error, C.MissingInput) else str(error)
            C.warn(f"{reason}: its sft-q-equivalence panel is skipped")
            continue
        if kind == "identities":
            identities = rows
        else:
            kl_rows = rows
    if kl_rows is not None:
        try:
            fits = C.read_csv(fit_file, FIT_COLUMNS)
        except (C.MissingInput, C.BadInput) as error:
            reason = f"{fit_file} not found" if isinstance(error, C.MissingInput) else str(error)
            C.warn(f"{reason}: KL vs N drawn without the fitted slope")
    panels = [p for p in (identities, kl_rows) if p]
    if not panels:
        C.warn(f"{exp}: no inputs, figure skipped")
        return []
    fig, axes = C.figure(1, len(panels), 5.6 * len(panels), 4.4)
    col = 0
    if identities:
        _draw_identities(axes[0][col], identities)
        col += 1
    if kl_rows:
        _draw_kl(axes[0][col], kl_rows, fits)
    fig.suptitle("sft-q-equivalence: SFT learns an implicit soft-Q function (SPEC §1.3)")
    return [C.save(fig, path(results, exp, f"{exp}.png"))]


# ---------------------------------------------------------------------------
# 6. main-table (figure + Markdown)
# ---------------------------------------------------------------------------


def _main_table_entries(s: list[C.Row]):
    """(σ values, dataset values, decoder settings) in table order."""
    sigmas = C.unique(s, "prior.sigma", numeric=True)
    datasets = sorted(C.unique(s, "expert"), key=C.dataset_sort_key)
    decoders = sorted({(r["decoder"], float(r["width"])) for r in s},
                      key=lambda d: (d[0] != "greedy", d[1]))
    return sigmas, datasets, decoders


def _entry(s, sigma, dataset, decoder, split, learner) -> C.Row:
    return C.point(s, "correct", {"prior.sigma": sigma, "expert": dataset},
                   decoder=decoder[0], width=decoder[1], split=split, learner=learner)


def write_main_table_md(s: list[C.Row], file: str) -> str:
    """The paper's main table as Markdown: accuracy mean ± 95% half-width."""
    sigmas, datasets, decoders = _main_table_entries(s)
    splits = [sp for sp in ("train", "test") if C.select(s, split=sp)]
    learners = C.unique(s, "learner")
    names = {lr: C.learner_label(lr) for lr in learners}
    header = ["σ (model size)", "dataset", "decoder"] + [
        f"{sp} {names[lr]}" for sp in splits for lr in learners]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * 3 + "---:|" * (len(header) - 3)]
    ns = defaultdict(set)
    identical_test = True
    for sigma in sigmas:
        for dataset in datasets:
            for decoder in decoders:
                cells = [C.fmt_number(sigma), C.dataset_label(dataset),
                         C.decoder_label(*decoder)]
                for sp in splits:
                    values = []
                    for lr in learners:
                        r = _entry(s, sigma, dataset, decoder, sp, lr)
                        ns[sp].add(int(float(r["n"])))
                        half = 0.5 * (float(r["ci95_high"]) - float(r["ci95_low"]))
                        cells.append(f"{float(r['mean']):.3f} ± {half:.3f}")
                        values.append(r["mean"])
                    if sp == "test" and len(set(values)) > 1:
                        identical_test = False
                lines.append("| " + " | ".join(cells) + " |")
    lam = {lr: C.learner_lambda(s, lr) for lr in learners}
    n_desc = ", ".join(f"{sp}: n = {'/'.join(map(str, sorted(ns[sp])))}" for sp in splits)
    notes = [
        "<!-- Generated by Experiments/plot.py from results/main-table/summary.csv; do not edit. -->",
        "",
        "Accuracy (fraction of chains completed), mean ± half-width of the 95% Student-t "
        f"interval; {n_desc} responses per entry. "
        + ", ".join(f"{names[lr]}: λ = {lam[lr]}" for lr in learners if lam[lr]) + ".",
        "",
    ]
    tail = []
    if "test" in splits and identical_test:
        tail = ["", "On the test split SFT and SOC coincide: the tabular learner only changes "
                "the logits of demonstrated states, and test prompts have no demonstrations."]
    return C.write_text(file, "\n".join(notes + lines + tail) + "\n")


def fig_main_table(results: str) -> list[str]:
    """Grouped bars: σ × dataset × {greedy, beam} × {SFT, SOC}, accuracy, train and test."""
    exp = "main-table"
    s = C.select(load_summary(results, exp), length_normalize=0)
    for col in ("prior.sigma", "expert"):
        if col not in s[0]:
            raise C.BadInput(f"{path(results, exp, 'summary.csv')} lacks sweep column {col}")
    sigmas, datasets, decoders = _main_table_entries(s)
    splits = [sp for sp in ("train", "test") if C.select(s, split=sp)]
    learners = C.unique(s, "learner")
    combos = [(d, lr) for d in decoders for lr in learners]
    hatches = ["", "////", "xx", ".."]
    bar_w = 0.8 / len(combos)
    fig, axes = C.figure(len(datasets), len(splits), 5.4 * len(splits), 3.5 * len(datasets))
    for row, dataset in enumerate(datasets):
        for col, split in enumerate(splits):
            ax = axes[row][col]
            ns, heights = [], defaultdict(list)
            for j, (decoder, learner) in enumerate(combos):
                entries = [_entry(s, sg, dataset, decoder, split, learner) for sg in sigmas]
                mean = C.column(entries, "mean")
                lo, hi = C.column(entries, "ci95_low"), C.column(entries, "ci95_high")
                ns.extend(C.column(entries, "n"))
                heights[learner].extend(mean.tolist())
                xs = np.arange(len(sigmas)) - 0.4 + bar_w * (j + 0.5)
                ax.bar(xs, mean, width=bar_w * 0.92, color=C.learner_colour(learner),
                       alpha=0.9 if decoders.index(decoder) == 0 else 0.55,
                       hatch=hatches[decoders.index(decoder) % len(hatches)],
                       edgecolor="white", linewidth=0.4,
                       label=f"{C.learner_label(learner, C.learner_lambda(s, learner))}, "
                             f"{C.decoder_label(*decoder)}")
                ax.errorbar(xs, mean, yerr=[mean - lo, hi - mean], fmt="none",
                            ecolor="black", elinewidth=0.8, capsize=2)
            ax.set_xticks(np.arange(len(sigmas)))
            ax.set_xticklabels([f"σ = {C.fmt_number(sg)}" for sg in sigmas])
            ax.set_xlabel("prior noise σ (\"model size\": smaller σ = stronger base model)")
            C.accuracy_axis(ax)
            ax.set_ylim(0, 1.09)
            ax.set_title(f"{C.dataset_label(dataset)} — {split} split ({C.n_text(ns)} per bar)")
            ax.grid(axis="x", visible=False)
            if len(learners) > 1 and all(heights[lr] == heights[learners[0]] for lr in learners):
                C.identical_note(ax, "SFT = SOC here (no demonstrations on these prompts)",
                                 corner="upper right")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=len(labels))
    fig.suptitle("main-table: accuracy by model size × dataset × decoder × learner "
                 "(error bars: 95% CI)")
    out = [C.save(fig, path(results, exp, f"{exp}.png"))]
    out.append(write_main_table_md(s, path(results, exp, f"{exp}.md")))
    return out


# ---------------------------------------------------------------------------
# 6b. generalization (linear learner, unseen prompts)
# ---------------------------------------------------------------------------


def _learner_kind_steps(learner: str) -> tuple[str, int]:
    """``sft-300`` → (``sft``, 300): the learner kind and its Adam step count."""
    kind, _, steps = learner.partition("-")
    if not steps.isdigit():
        raise C.BadInput(f"generalization: learner {learner!r} is not named <kind>-<steps>")
    return kind, int(steps)


def fig_generalization(results: str) -> list[str]:
    """Accuracy of the linear learner on train and unseen test prompts by σ, SFT vs SOC,
    after 300 and 3000 training steps; plus a Markdown table."""
    exp = "generalization"
    s = C.select(load_summary(results, exp), length_normalize=0)
    if "prior.sigma" not in s[0]:
        raise C.BadInput(f"{path(results, exp, 'summary.csv')} lacks sweep column prior.sigma")
    sigmas = C.unique(s, "prior.sigma", numeric=True)
    learners = sorted(C.unique(s, "learner"), key=lambda lr: (_learner_kind_steps(lr)[1], lr))
    splits = [sp for sp in ("train", "test") if C.select(s, split=sp)]
    decoders = sorted({(r["decoder"], float(r["width"])) for r in s}, key=lambda d: (d[0] != "greedy", d[1]))
    decoder = decoders[-1]  # the beam (greedy is in the table)
    fig, axes = C.figure(1, len(splits), 5.6 * len(splits), 3.8)
    bar_w = 0.8 / len(learners)
    for col, split in enumerate(splits):
        ax = axes[0][col]
        ns = []
        for j, learner in enumerate(learners):
            kind, steps = _learner_kind_steps(learner)
            entries = [C.point(s, "correct", {"prior.sigma": sg}, decoder=decoder[0], width=decoder[1],
                               split=split, learner=learner) for sg in sigmas]
            mean = C.column(entries, "mean")
            lo, hi = C.column(entries, "ci95_low"), C.column(entries, "ci95_high")
            ns.extend(C.column(entries, "n"))
            xs = np.arange(len(sigmas)) - 0.4 + bar_w * (j + 0.5)
            ax.bar(xs, mean, width=bar_w * 0.92, color=C.learner_colour(kind),
                   alpha=0.9 if steps == min(_learner_kind_steps(lr)[1] for lr in learners) else 0.5,
                   hatch="" if j < 2 else "////", edgecolor="white", linewidth=0.4,
                   label=f"{C.learner_label(kind, C.learner_lambda(s, learner))}, {steps} steps")
            ax.errorbar(xs, mean, yerr=[mean - lo, hi - mean], fmt="none", ecolor="black",
                        elinewidth=0.8, capsize=2)
        ax.set_xticks(np.arange(len(sigmas)))
        ax.set_xticklabels([f"σ = {C.fmt_number(sg)}" for sg in sigmas])
        ax.set_xlabel("prior noise σ (smaller σ = stronger base model)")
        C.accuracy_axis(ax)
        ax.set_ylim(0, 1.09)
        ax.grid(axis="x", visible=False)
        what = "unseen test prompts" if split == "test" else "train prompts"
        ax.set_title(f"{what}, {C.decoder_label(*decoder)} ({C.n_text(ns)} per bar)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=len(labels))
    fig.suptitle("generalization: linear SFT-as-Q learner on arithmetic-chain (error bars: 95% CI)")
    out = [C.save(fig, path(results, exp, f"{exp}.png"))]

    header = ["σ", "decoder"] + [f"{sp} {C.learner_label(_learner_kind_steps(lr)[0])} {_learner_kind_steps(lr)[1]}"
                                 for sp in splits for lr in learners]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * 2 + "---:|" * (len(header) - 2)]
    for sg in sigmas:
        for d in decoders:
            cells = [C.fmt_number(sg), C.decoder_label(*d)]
            for sp in splits:
                for lr in learners:
                    r = C.point(s, "correct", {"prior.sigma": sg}, decoder=d[0], width=d[1], split=sp, learner=lr)
                    half = 0.5 * (float(r["ci95_high"]) - float(r["ci95_low"]))
                    cells.append(f"{float(r['mean']):.3f} ± {half:.3f}")
            lines.append("| " + " | ".join(cells) + " |")
    note = ["<!-- Generated by Experiments/plot.py from results/generalization/summary.csv; do not edit. -->", "",
            "Accuracy, mean ± half-width of the 95% Student-t interval; the column names give the "
            "learner and its number of Adam steps.", ""]
    out.append(C.write_text(path(results, exp, f"{exp}.md"), "\n".join(note + lines) + "\n"))
    return out


# ---------------------------------------------------------------------------
# 7. step-profile
# ---------------------------------------------------------------------------

STEP_COLUMNS = ("cell", "seed", "prompt", "split", "learner", "lambda", "decoder", "width",
                "sample", "t", "step_gap_t", "t_from_ood")


def _profile(rows: list[C.Row], key: str) -> tuple[C.Curve, int]:
    """Mean step gap with 95% interval per value of ``key``; and the number of responses."""
    groups: dict[int, list[float]] = defaultdict(list)
    responses = set()
    for r in rows:
        groups[int(r[key])].append(float(r["step_gap_t"]))
        responses.add((r["cell"], r["seed"], r["prompt"], r["sample"]))
    xs = sorted(k for k, v in groups.items() if len(v) >= 2)
    est = [C.mean_ci(groups[k]) for k in xs]
    curve = C.Curve(np.array(xs, dtype=float), np.array([e.mean for e in est]),
                    np.array([e.lo for e in est]), np.array([e.hi for e in est]),
                    np.array([e.n for e in est], dtype=float))
    return curve, len(responses)


def fig_step_profile(results: str) -> list[str]:
    """Mean per-step gap aligned at the first step that leaves the demonstrations."""
    exp = "step-profile"
    steps = C.select(C.read_csv(path(results, exp, "steps.csv"), STEP_COLUMNS),
                     split="train", decoder="beam")
    learners = C.unique(steps, "learner")
    widths = C.unique(steps, "width", numeric=True)
    styles = width_styles(widths)
    fig, axes = C.figure(1, 2, 11.0, 4.4, gridspec_kw={"width_ratios": [2, 1.15]})
    ax_ood, ax_in = axes[0]
    totals = []
    for learner in learners:
        colour = C.learner_colour(learner)
        label = C.learner_label(learner, C.learner_lambda(steps, learner))
        for width in widths:
            ls, marker = styles[width]
            mine = C.select(steps, learner=learner, width=width)
            left = C.select(mine, t_from_ood=C.NOT_EMPTY)
            stayed = C.select(mine, t_from_ood=C.IS_EMPTY)
            c_left, n_left = _profile(left, "t_from_ood")
            c_in, n_in = _profile(stayed, "t")
            totals.append((n_left, n_in))
            name = f"{label}, k = {C.fmt_number(width)}"
            C.draw_curve(ax_ood, c_left, colour=colour, linestyle=ls, marker=marker,
                         label=f"{name} ({n_left} responses)")
            C.draw_curve(ax_in, c_in, colour=colour, linestyle=ls, marker=marker,
                         label=f"{name} ({n_in})")
    ax_ood.axvline(0, color="0.3", ls=":", lw=1.1)
    ax_ood.text(0.08, 0.97, "first step off the demonstrations →", transform=ax_ood.get_xaxis_transform(),
                fontsize=7, color="0.3", va="top")
    for ax in (ax_ood, ax_in):
        ax.axhline(0, color="0.4", lw=0.8)
        ax.set_ylabel("per-step gap β[log π̂ − log π*] (reward units)")
        ax.xaxis.get_major_locator().set_params(integer=True)
    ax_ood.set_xlabel("t − first_ood_step (decoding steps relative to leaving the data)")
    ax_in.set_xlabel("decoding step t")
    per = {n_left + n_in for n_left, n_in in totals}
    n_resp = "/".join(str(v) for v in sorted(per))
    ax_ood.set_title(f"responses that left the demonstrations (train split; {n_resp} responses "
                     "per learner × width in all)")
    ax_in.set_title("responses that never left the data, by step t")
    ax_ood.legend(loc="upper left", bbox_to_anchor=(0.0, 0.9))
    ax_in.legend(loc="best")
    fig.suptitle("step-profile: where along the beam's output the over-optimism accrues "
                 "(mean per-step gap, shaded: 95% CI over steps)")
    return [C.save(fig, path(results, exp, f"{exp}.png"))]


# ---------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FigureSpec:
    name: str
    required: tuple[str, ...]  # files under results/<name>/ that must exist
    draw: Callable[[str], list[str]]


FIGURES = (
    FigureSpec("beam-width", ("summary.csv",), fig_beam_width),
    FigureSpec("lambda", ("summary.csv",), fig_lambda),
    FigureSpec("data-size", ("summary.csv",), fig_data_size),
    FigureSpec("prior-noise", ("summary.csv",), fig_prior_noise),
    FigureSpec("sft-q-equivalence", (), fig_sft_q_equivalence),
    FigureSpec("main-table", ("summary.csv",), fig_main_table),
    FigureSpec("generalization", ("summary.csv",), fig_generalization),
    FigureSpec("step-profile", ("steps.csv",), fig_step_profile),
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", default=os.path.relpath(os.path.join(REPO, "results")),
                        help="folder holding <experiment>/summary.csv etc. (default: the repo's results/)")
    parser.add_argument("--only", action="append", choices=[f.name for f in FIGURES],
                        metavar="NAME", help="draw only this figure (repeatable)")
    parser.add_argument("--skip-missing", action="store_true",
                        help="skip figures whose required inputs are missing instead of failing")
    args = parser.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # keep "wrote" lines and warnings in order

    chosen = [f for f in FIGURES if not args.only or f.name in args.only]
    missing = {f.name: [path(args.results, f.name, r) for r in f.required
                        if not os.path.isfile(path(args.results, f.name, r))] for f in chosen}
    if any(missing.values()) and not args.skip_missing:
        for name, files in missing.items():
            for file in files:
                print(f"error: missing input file {file} (needed by the {name} figure; "
                      f"run `tokenmdp run configs/{name}.yaml` or pass --skip-missing)",
                      file=sys.stderr)
        return 1

    C.setup_style()
    written: list[str] = []
    for spec in chosen:
        if missing[spec.name]:
            C.warn(f"skipping {spec.name}: missing {', '.join(missing[spec.name])}")
            continue
        try:
            files = spec.draw(args.results)
        except C.MissingInput as error:
            if not args.skip_missing:
                print(f"error: missing input file {error}", file=sys.stderr)
                return 1
            C.warn(f"skipping {spec.name}: missing {error}")
            continue
        except C.BadInput as error:
            print(f"error: {spec.name}: {error}", file=sys.stderr)
            return 1
        for file in files:
            print(f"wrote {os.path.relpath(file)}")
        written.extend(files)
    print(f"{len(written)} file(s) written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
