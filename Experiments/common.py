"""Shared helpers for the TokenMDP figures and findings.

Everything the figure scripts have in common lives here, so that each figure
in ``plot.py`` is only "select these rows, draw these lines":

* loading CSVs with the standard-library ``csv`` module (no pandas) and
  selecting rows by column values, numeric columns compared as numbers
  (``"0.0"`` in a sweep column matches ``0`` in the ``lambda`` column);
* reading one curve (x, mean, 95% interval, n) out of a ``summary.csv``;
* Student-t 95% intervals (the same convention as the simulator's
  ``summary.csv``), also for paired differences;
* one plotting style: a fixed colour per learner (SFT blue, SOC red), shaded
  95% bands, axis labels with units, and deterministic PNG output.

The module never runs the simulator: every number comes from the CSVs.
"""

from __future__ import annotations

import csv
import math
import os
import sys
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np
import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)
from matplotlib.ticker import FixedLocator, NullLocator  # noqa: E402

# ---------------------------------------------------------------------------
# Errors and messages
# ---------------------------------------------------------------------------


class MissingInput(Exception):
    """A required input file does not exist (``str(e)`` is the path)."""


class BadInput(Exception):
    """An input file exists but cannot be used (missing columns, no rows, …)."""


def warn(message: str) -> None:
    """One-line warning on stderr (the figure is still drawn, or skipped)."""
    print(f"warning: {message}", file=sys.stderr)


# ---------------------------------------------------------------------------
# CSV loading and row selection
# ---------------------------------------------------------------------------

Row = dict  # one CSV row: column name -> string value


def read_csv(path: str, required: Iterable[str] = ()) -> list[Row]:
    """All rows of a CSV file as dicts of strings.

    Raises ``MissingInput`` when the file does not exist and ``BadInput``
    when a ``required`` column is absent.
    """
    if not os.path.isfile(path):
        raise MissingInput(path)
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
        columns = reader.fieldnames or []
    missing = [c for c in required if c not in columns]
    if missing:
        raise BadInput(f"{path} lacks column(s) {', '.join(missing)}")
    return rows


def columns_of(path: str) -> list[str]:
    """The header of a CSV file (``MissingInput`` when absent)."""
    if not os.path.isfile(path):
        raise MissingInput(path)
    with open(path, newline="", encoding="utf-8") as handle:
        return next(csv.reader(handle), [])


def to_float(value: str) -> float:
    """A CSV cell as a float; empty cells are NaN."""
    return float(value) if value not in ("", None) else math.nan


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _cell_matches(cell: str, want) -> bool:
    """Whether one CSV cell matches a selector value.

    ``want`` may be a number (compared numerically), a string (exact), a
    callable (predicate on the raw string) or a list/tuple/set of those
    (any of them).
    """
    if callable(want):
        return bool(want(cell))
    if isinstance(want, (list, tuple, set, frozenset)):
        return any(_cell_matches(cell, w) for w in want)
    if _is_number(want):
        try:
            return math.isclose(float(cell), float(want), rel_tol=1e-12, abs_tol=1e-12)
        except ValueError:
            return False
    return cell == str(want)


def select(rows: Sequence[Row], where: Mapping | None = None, **kwargs) -> list[Row]:
    """Rows whose columns match every selector.

    Column names with dots (sweep columns such as ``prior.sigma``) go in the
    ``where`` mapping; plain ones may also be keyword arguments::

        select(summary, {"prior.sigma": 4.0}, split="train", metric="overopt")
    """
    criteria = dict(where or {})
    criteria.update(kwargs)
    for key in criteria:
        if rows and key not in rows[0]:
            raise BadInput(f"no column {key!r} (have: {', '.join(rows[0])})")
    return [r for r in rows if all(_cell_matches(r[k], v) for k, v in criteria.items())]


def unique(rows: Sequence[Row], column: str, numeric: bool = False) -> list:
    """Distinct values of a column, sorted (numerically when ``numeric``)."""
    values = {r[column] for r in rows}
    if numeric:
        return sorted({float(v) for v in values if v != ""})
    return sorted(values)


def column(rows: Sequence[Row], name: str) -> np.ndarray:
    """A numeric column as a float array (empty cells are NaN)."""
    return np.array([to_float(r[name]) for r in rows], dtype=float)


def parse_flow_mapping(text: str) -> dict[str, str]:
    """A one-line YAML flow mapping ``{a: 1, b: x}`` as a dict of strings.

    Sweep columns whose values are mappings (e.g. ``expert``) are written in
    this form by the simulator; nested mappings are not expected there.
    """
    body = text.strip()
    if body.startswith("{") and body.endswith("}"):
        body = body[1:-1]
    out: dict[str, str] = {}
    for item in body.split(","):
        if ":" in item:
            key, value = item.split(":", 1)
            out[key.strip()] = value.strip().strip("\"'")
    return out


# ---------------------------------------------------------------------------
# Statistics: Student-t intervals (same convention as summary.csv)
# ---------------------------------------------------------------------------


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the regularised incomplete beta (Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 400):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return h


def _betainc(a: float, b: float, x: float) -> float:
    """Regularised incomplete beta I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                 + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _betacf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _betacf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """CDF of Student's t with ``df`` degrees of freedom."""
    tail = 0.5 * _betainc(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t >= 0 else tail


def t_quantile(p: float, df: float) -> float:
    """Quantile of Student's t (bisection on the CDF; exact to ~1e-12)."""
    if not 0.0 < p < 1.0:
        raise ValueError("p must lie in (0, 1)")
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < p:
        hi *= 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


@dataclass(frozen=True)
class Estimate:
    """A mean with its standard error and 95% Student-t interval."""

    mean: float
    se: float
    lo: float
    hi: float
    n: int

    @property
    def half_width(self) -> float:
        return 0.5 * (self.hi - self.lo)

    def fmt(self, digits: int = 3, signed: bool = False) -> str:
        """``0.791 [0.756, 0.826]`` (``+`` signs when ``signed``)."""
        f = f"{{:+.{digits}f}}" if signed else f"{{:.{digits}f}}"
        return f"{f.format(self.mean)} [{f.format(self.lo)}, {f.format(self.hi)}]"


def mean_ci(values: Iterable[float], level: float = 0.95) -> Estimate:
    """Mean and Student-t interval of a sample (NaNs dropped).

    The same formula as the simulator's summary.csv (se = sd/√n, df = n − 1),
    so an interval computed here from rows.csv equals the one in summary.csv.
    """
    x = np.asarray([v for v in values if not math.isnan(v)], dtype=float)
    n = len(x)
    if n == 0:
        return Estimate(math.nan, math.nan, math.nan, math.nan, 0)
    mean = float(x.mean())
    if n == 1:
        return Estimate(mean, math.nan, math.nan, math.nan, 1)
    se = float(x.std(ddof=1) / math.sqrt(n))
    half = t_quantile(0.5 + level / 2.0, n - 1) * se
    return Estimate(mean, se, mean - half, mean + half, n)


# ---------------------------------------------------------------------------
# Curves out of summary.csv
# ---------------------------------------------------------------------------

SUMMARY_COLUMNS = ("experiment", "cell", "split", "learner", "lambda", "decoder",
                   "width", "length_normalize", "metric", "n", "missing",
                   "mean", "se", "ci95_low", "ci95_high")


@dataclass
class Curve:
    """One line of a figure: x, mean, 95% interval and n per point."""

    x: np.ndarray
    mean: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    n: np.ndarray

    def __len__(self) -> int:
        return len(self.x)

    def same_as(self, other: "Curve") -> bool:
        """Identical points (e.g. SFT and SOC on prompts without data)."""
        return (len(self) == len(other) and np.array_equal(self.x, other.x)
                and np.allclose(self.mean, other.mean, rtol=0, atol=1e-12)
                and np.allclose(self.lo, other.lo, rtol=0, atol=1e-12))


def curve(summary: Sequence[Row], x: str, metric: str, where: Mapping | None = None,
          **kwargs) -> Curve:
    """The curve ``metric`` vs column ``x`` from summary rows.

    Every selector not on ``x`` must pin one row per x value; a second row
    for the same x is an error (it means a selector is missing), and so is
    an empty selection.
    """
    rows = select(summary, where, metric=metric, **kwargs)
    if not rows:
        crit = dict(where or {}, **kwargs)
        raise BadInput(f"no summary rows for metric={metric} with {crit}")
    seen: dict[float, Row] = {}
    for r in rows:
        key = float(r[x])
        if key in seen:
            crit = dict(where or {}, **kwargs)
            raise BadInput(f"ambiguous selection: several rows for {x}={r[x]}, "
                           f"metric={metric}, {crit}")
        seen[key] = r
    xs = sorted(seen)
    pick = [seen[k] for k in xs]
    return Curve(np.array(xs), column(pick, "mean"), column(pick, "ci95_low"),
                 column(pick, "ci95_high"), column(pick, "n"))


def point(summary: Sequence[Row], metric: str, where: Mapping | None = None,
          **kwargs) -> Row:
    """The single summary row for ``metric`` and the selectors."""
    rows = select(summary, where, metric=metric, **kwargs)
    if len(rows) != 1:
        crit = dict(where or {}, **kwargs)
        raise BadInput(f"expected one summary row for metric={metric}, {crit}; got {len(rows)}")
    return rows[0]


def n_text(ns: Iterable[float]) -> str:
    """``n = 512`` or ``n = 160–320`` for the points of a figure."""
    vals = sorted({int(v) for v in ns if not math.isnan(v)})
    if not vals:
        return "n = ?"
    return f"n = {vals[0]}" if len(vals) == 1 else f"n = {vals[0]}–{vals[-1]}"


# ---------------------------------------------------------------------------
# Style
# ---------------------------------------------------------------------------

LEARNER_COLOURS = {"sft": "#1f5fa8", "soc": "#c8322d"}
_FALLBACK_COLOURS = ["#2a9d4b", "#7b3fa0", "#d98a00", "#444444"]

ACCURACY_LABEL = "accuracy (fraction of chains completed)"
OVEROPT_LABEL = "over-optimism (reward units)"
WIDTH_LABEL = "beam width k (log scale)"
LAMBDA_LABEL = "SOC strength λ (λ = 0 is SFT)"
DEMOS_LABEL = "demonstrations per train prompt N (log scale)"

METRIC_NAMES = {
    "overopt": "overopt (est. − true return)",
    "overopt_adv": "overopt_adv (inflated advantage)",
    "overopt_raw": "overopt_raw (un-anchored)",
    "expert_gap": "expert_gap",
}

BAND_ALPHA = 0.18


def setup_style() -> None:
    """Matplotlib settings shared by every figure (call once)."""
    matplotlib.rcParams.update({
        "figure.dpi": 100,
        "savefig.dpi": 150,
        "font.size": 9,
        "axes.titlesize": 9.5,
        "axes.labelsize": 9,
        "legend.fontsize": 7.5,
        "legend.framealpha": 0.85,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "grid.linewidth": 0.6,
        "lines.linewidth": 1.6,
        "lines.markersize": 4.5,
        "svg.hashsalt": "tokenmdp",  # deterministic ids if anyone saves SVG
        "path.simplify": False,
    })


def learner_colour(learner: str) -> str:
    """The fixed colour of a learner (SFT blue, SOC red)."""
    if learner in LEARNER_COLOURS:
        return LEARNER_COLOURS[learner]
    index = sum(map(ord, learner)) % len(_FALLBACK_COLOURS)  # stable, unlike hash()
    return _FALLBACK_COLOURS[index]


def fmt_number(value: float) -> str:
    """A short number: 0.2, 4, 0.05 (no trailing zeros)."""
    return f"{float(value):g}"


def learner_label(learner: str, lam: str | float | None = None) -> str:
    """``SFT (λ = 0)`` / ``SOC (λ = 0.2)``."""
    name = {"sft": "SFT", "soc": "SOC"}.get(learner, learner)
    return name if lam in (None, "") else f"{name} (λ = {fmt_number(lam)})"


def learner_lambda(summary: Sequence[Row], learner: str) -> str:
    """The λ of a learner as it appears in the rows (one value expected)."""
    values = unique(select(summary, learner=learner), "lambda", numeric=True)
    return fmt_number(values[0]) if len(values) == 1 else ""


def sequential_colours(n: int, cmap: str = "viridis") -> list:
    """``n`` distinguishable colours from a sequential map (dark → light)."""
    if n <= 1:
        return [plt.get_cmap(cmap)(0.15)]
    return [plt.get_cmap(cmap)(0.05 + 0.8 * i / (n - 1)) for i in range(n)]


def draw_curve(ax, c: Curve, *, colour, label: str | None, linestyle: str = "-",
               marker: str = "o", band: bool = True, zorder: float = 2.0) -> None:
    """A mean line with markers and its shaded 95% band."""
    ax.plot(c.x, c.mean, linestyle=linestyle, marker=marker, color=colour,
            label=label, zorder=zorder, markerfacecolor="white" if linestyle != "-" else colour)
    if band:
        alpha = BAND_ALPHA if linestyle == "-" else BAND_ALPHA * 0.6
        ax.fill_between(c.x, c.lo, c.hi, color=colour, alpha=alpha, linewidth=0,
                        zorder=zorder - 1)


def log2_axis(ax, values: Sequence[float]) -> None:
    """Log-2 x axis with a tick at every value, labelled as integers."""
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_locator(FixedLocator(list(values)))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels([fmt_number(v) for v in values])


def log10_axis(ax, values: Sequence[float]) -> None:
    """Log-10 x axis with a tick at every value."""
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(FixedLocator(list(values)))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels([fmt_number(v) for v in values])


def accuracy_axis(ax) -> None:
    """y axis for accuracies: label with units, range 0–1 with a little room."""
    ax.set_ylabel(ACCURACY_LABEL)
    ax.set_ylim(-0.02, 1.04)


def identical_note(ax, text: str = "SFT = SOC here (identical values)",
                   corner: str = "lower left") -> None:
    """A small note in a corner of a panel whose curves (or bars) coincide."""
    vertical, horizontal = corner.split()
    x = 0.02 if horizontal == "left" else 0.98
    y = 0.02 if vertical == "lower" else 0.97
    ax.text(x, y, text, transform=ax.transAxes, fontsize=7, color="0.3",
            ha=horizontal, va="bottom" if vertical == "lower" else "top")


# ---------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------


def figure(nrows: int, ncols: int, width: float, height: float, **kwargs):
    """A figure with a constrained layout (sizes in inches)."""
    return plt.subplots(nrows, ncols, figsize=(width, height), layout="constrained",
                        squeeze=False, **kwargs)


def save(fig, path: str) -> str:
    """Write a PNG at 150 dpi without run-dependent metadata; returns the path."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fig.savefig(path, dpi=150, format="png", metadata={"Software": None})
    plt.close(fig)
    return path


def write_text(path: str, text: str) -> str:
    """Write a text file atomically (``.tmp`` + rename); returns the path."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)
    os.replace(tmp, path)
    return path


# ---------------------------------------------------------------------------
# Labels of experiment-specific sweep values
# ---------------------------------------------------------------------------


def dataset_label(expert_value: str) -> str:
    """Human label of a main-table ``expert`` sweep value.

    ``{demos_per_prompt: 16, beta: 0.15, …}`` → ``many average (16 demos, β_e = 0.15)``;
    ``{demos_per_prompt: 2, filter: correct, …}`` → ``few hard (2 correct demos)``.
    """
    spec = parse_flow_mapping(expert_value)
    demos = spec.get("demos_per_prompt", "?")
    if spec.get("filter") == "correct":
        return f"few hard ({demos} correct demos)"
    beta = spec.get("beta")
    extra = f", β_e = {beta}" if beta else ""
    return f"many average ({demos} demos{extra})"


def dataset_sort_key(expert_value: str) -> tuple:
    """Order datasets: unfiltered ("many average") first, then by demos (desc)."""
    spec = parse_flow_mapping(expert_value)
    try:
        demos = float(spec.get("demos_per_prompt", "nan"))
    except ValueError:
        demos = math.nan
    return (spec.get("filter") == "correct", -demos, expert_value)


def decoder_label(decoder: str, width: str | float) -> str:
    """``greedy``, ``beam 5``, …"""
    if decoder == "beam":
        return f"beam {fmt_number(width)}"
    return decoder


# A predicate for ``select``: cells that are empty / non-empty.
IS_EMPTY: Callable[[str], bool] = lambda cell: cell == ""  # noqa: E731
NOT_EMPTY: Callable[[str], bool] = lambda cell: cell != ""  # noqa: E731


# ---------------------------------------------------------------------------
# Paired differences from rows.csv
# ---------------------------------------------------------------------------

# Columns that identify one decoded response apart from the learner: the two
# learners of a cell see the same MDP, data and prior for a seed, so their
# rows with equal keys are paired.
PAIR_KEY = ("cell", "seed", "prompt", "split", "decoder", "width", "length_normalize", "sample")


@dataclass(frozen=True)
class Paired:
    """A paired mean difference (b − a) with two 95% intervals.

    ``rows``: rows treated as independent (the summary.csv convention);
    ``seeds``: the per-seed mean differences treated as independent (a
    cluster-robust check: prompts of one seed share an MDP and a prior).
    """

    rows: Estimate
    seeds: Estimate

    def fmt(self, digits: int = 3) -> str:
        return (f"{self.rows.fmt(digits, signed=True)} "
                f"(by seed [{self.seeds.lo:+.{digits}f}, {self.seeds.hi:+.{digits}f}])")

    @property
    def significant(self) -> int:
        """+1 / −1 when the row-level interval excludes 0 above / below, else 0."""
        if self.rows.lo > 0:
            return 1
        if self.rows.hi < 0:
            return -1
        return 0


def paired_difference(a: Sequence[Row], b: Sequence[Row], metric: str,
                      key: Sequence[str] = PAIR_KEY) -> Paired:
    """Mean of ``b[metric] − a[metric]`` over rows paired by ``key``.

    Every row of ``a`` must have exactly one partner in ``b`` and vice versa
    (``BadInput`` otherwise: the selections are not comparable).
    """
    def index(rows: Sequence[Row], side: str) -> dict:
        out = {}
        for r in rows:
            k = tuple(r[c] for c in key)
            if k in out:
                raise BadInput(f"two rows on side {side} share the pairing key {dict(zip(key, k))}")
            out[k] = r
        return out

    ia, ib = index(a, "a"), index(b, "b")
    if ia.keys() != ib.keys():
        raise BadInput(f"unpaired rows: {len(ia.keys() - ib.keys())} only in a, "
                       f"{len(ib.keys() - ia.keys())} only in b (pairing on {', '.join(key)})")
    diffs, by_seed = [], {}
    for k in sorted(ia):
        d = to_float(ib[k][metric]) - to_float(ia[k][metric])
        diffs.append(d)
        by_seed.setdefault(ia[k]["seed"], []).append(d)
    seed_means = [float(np.mean(v)) for _, v in sorted(by_seed.items())]
    return Paired(mean_ci(diffs), mean_ci(seed_means))
