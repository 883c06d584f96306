"""The report's charts as inline SVG (matplotlib, Agg, text kept as text).

Every chart takes a frame of :mod:`.tables` / :mod:`.records` (the CSVs' own frames) and
returns an ``<svg>`` element as a string. Text stays text (``svg.fonttype = "none"``): the
file is small and the reader's CJK fonts draw it; the report's CSS gives the font stack.
matplotlib is imported only when a chart is drawn.
"""

from __future__ import annotations

import contextlib
import io
import re
import warnings
from collections.abc import Iterator

import numpy as np
import pandas as pd

#: fonts tried in order for measuring and, in the SVG, for drawing text: those on planners'
#: PCs first, then Linux's Noto CJK; DejaVu last so Latin text always has a font
FONTS = [
    "Microsoft YaHei",
    "PingFang SC",
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "WenQuanYi Micro Hei",
    "SimHei",
    "DejaVu Sans",
]

MET, MISSED, NEUTRAL, ACCENT = "#2e7d32", "#c62828", "#9e9e9e", "#1565c0"


@contextlib.contextmanager
def _style(salt: str) -> Iterator[object]:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    rc = {
        "svg.fonttype": "none",
        "svg.hashsalt": salt,  # stable, distinct ids per chart in one page
        "font.family": "sans-serif",
        "font.sans-serif": FONTS,
        "font.size": 9,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.unicode_minus": False,
    }
    with plt.rc_context(rc), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*[Gg]lyph.*missing.*")
        warnings.filterwarnings("ignore", message=".*findfont.*")
        yield plt


def _svg(fig, plt, title: str) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buf.getvalue()
    text = text[text.index("<svg") :]  # no XML declaration or DOCTYPE inside HTML
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    # a title for screen readers, and responsive width
    text = re.sub(
        r'<svg([^>]*?) width="([\d.]+)pt" height="([\d.]+)pt"',
        r'<svg\1 width="\2pt" height="\3pt" role="img" class="chart"',
        text,
        count=1,
    )
    head = text.index(">") + 1
    return text[:head] + f"<title>{_escape(title)}</title>" + text[head:]


def _escape(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def targets_chart(frame: pd.DataFrame, title: str) -> str:
    """Each target's gap as a share of its requirement, without and with the fund: a bar right
    of zero is met (for an upper limit the gap's sign is flipped so right is still good).
    ``frame``: target_id, label, good_before, good_after (shares), met_after."""
    with _style("targets") as plt:
        n = len(frame)
        fig, ax = plt.subplots(figsize=(7.2, 0.28 * n + 0.9))
        y = np.arange(n)[::-1]
        before = frame.good_before.to_numpy(float) * 100
        after = frame.good_after.to_numpy(float) * 100
        colours = [MET if m else MISSED for m in frame.met_after]
        ax.barh(y + 0.2, before, height=0.38, color=NEUTRAL, label="无资金 without the fund")
        ax.barh(y - 0.2, after, height=0.38, color=colours, label="有资金 with the fund")
        ax.axvline(0, color="black", lw=0.8)
        ax.set_yticks(y, frame.label.tolist())
        lim = np.nanmax(np.abs(np.r_[before, after, 1.0]))
        lim = min(lim, 100.0) * 1.1
        ax.set_xlim(-lim, lim)
        ax.set_xlabel("相对要求的差距 % gap to the requirement (right = met)")
        ax.legend(loc="lower right", fontsize=8, frameon=False)
        ax.tick_params(axis="y", labelsize=8)
        return _svg(fig, plt, title)


def heatmap(per: pd.DataFrame, unit: str, title: str) -> str:
    """Cluster × year grant ``per`` (rows: cluster labels, columns: years), values written in."""
    with _style("heatmap") as plt:
        values = per.to_numpy(float)
        nr, nc = values.shape
        fig, ax = plt.subplots(figsize=(1.1 * nc + 2.6, 0.42 * nr + 0.9))
        top = values.max() if values.size and values.max() > 0 else 1.0
        mesh = ax.pcolormesh(values, cmap="Blues", vmin=0, vmax=top, edgecolors="white")
        for (i, j), v in np.ndenumerate(values):
            colour = "white" if v > 0.6 * top else "black"
            ax.text(j + 0.5, i + 0.5, f"{v:.3g}", ha="center", va="center", fontsize=8, c=colour)
        ax.set_xticks(np.arange(nc) + 0.5, [str(c) for c in per.columns])
        ax.set_yticks(np.arange(nr) + 0.5, [str(r) for r in per.index])
        ax.invert_yaxis()
        ax.tick_params(length=0)
        for side in ("left", "bottom"):
            ax.spines[side].set_visible(False)
        fig.colorbar(mesh, ax=ax, label=unit, shrink=0.8)
        return _svg(fig, plt, title)


def strategies_chart(frame: pd.DataFrame, objective_label: str, title: str) -> str:
    """The optimiser's objective per allocation (``frame``: allocation, objective,
    targets_met, feasible), with the targets met written on each bar."""
    with _style("strategies") as plt:
        fig, ax = plt.subplots(figsize=(6.4, 2.8))
        x = np.arange(len(frame))
        colours = [ACCENT if n == "optimised" else NEUTRAL for n in frame.allocation]
        bars = ax.bar(x, frame.objective.to_numpy(float), color=colours, width=0.6)
        for bar, met, ok in zip(bars, frame.targets_met, frame.feasible, strict=True):
            label = f"{int(met)} 项达成 met" + ("" if ok else " ✗")
            ax.annotate(
                label,
                (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                ha="center",
                va="bottom",
                fontsize=8,
                xytext=(0, 2),
                textcoords="offset points",
            )
        ax.set_xticks(x, frame.allocation.tolist())
        ax.set_ylabel(objective_label)
        ax.margins(y=0.15)
        return _svg(fig, plt, title)


def frontier_chart(
    frame: pd.DataFrame, plan_budget: float, unit: str, objective_label: str, title: str
) -> str:
    """The budget sweep (``frame``: budget, objective, targets_met): the objective and the
    targets met against the annual budget, the plan's budget marked."""
    with _style("frontier") as plt:
        fig, ax = plt.subplots(figsize=(6.4, 2.8))
        ok = frame.objective.notna()
        b = frame.budget.to_numpy(float)
        ax.plot(b[ok], frame.objective[ok].to_numpy(float), "o-", color=ACCENT)
        ax.set_xlabel(f"年度预算 annual budget ({unit})")
        ax.set_ylabel(objective_label, color=ACCENT)
        ax.axvline(plan_budget, color=NEUTRAL, ls="--", lw=1)
        ax.annotate(
            "规划预算 plan",
            (plan_budget, 1),
            xycoords=("data", "axes fraction"),
            ha="left",
            va="top",
            fontsize=8,
            xytext=(3, 0),
            textcoords="offset points",
        )
        right = ax.twinx()
        right.spines["right"].set_visible(True)
        met = frame.targets_met.astype("Float64").to_numpy(float, na_value=np.nan)
        right.step(b[ok], met[ok], where="post", color=MET)
        right.set_ylabel("达成目标数 targets met", color=MET)
        return _svg(fig, plt, title)


def category_chart(per: pd.DataFrame, unit: str, title: str) -> str:
    """The fund by use (rows) and year (columns), stacked per year."""
    with _style("categories") as plt:
        fig, ax = plt.subplots(figsize=(6.4, 2.4))
        bottom = np.zeros(per.shape[1])
        x = np.arange(per.shape[1])
        cmap = plt.get_cmap("tab10")
        for i, (label, row) in enumerate(per.iterrows()):
            v = row.to_numpy(float)
            ax.bar(x, v, bottom=bottom, label=str(label), color=cmap(i % 10), width=0.6)
            bottom += v
        ax.set_xticks(x, [str(c) for c in per.columns])
        ax.set_ylabel(unit)
        ax.legend(fontsize=7, frameon=False, bbox_to_anchor=(1.0, 1.0), loc="upper left")
        return _svg(fig, plt, title)


def pmet_chart(frame: pd.DataFrame, title: str) -> str:
    """P(met) per target without and with the fund (``frame``: label, p_no_fund, p_met)."""
    with _style("pmet") as plt:
        n = len(frame)
        fig, ax = plt.subplots(figsize=(7.2, 0.28 * n + 0.9))
        y = np.arange(n)[::-1]
        ax.barh(y + 0.2, frame.p_no_fund.to_numpy(float) * 100, height=0.38, color=NEUTRAL,
                label="无资金 without the fund")  # fmt: skip
        ax.barh(y - 0.2, frame.p_met.to_numpy(float) * 100, height=0.38, color=ACCENT,
                label="有资金 with the fund")  # fmt: skip
        ax.axvspan(20, 80, color="#fff3e0", zorder=0)
        ax.set_xlim(0, 100)
        ax.set_yticks(y, frame.label.tolist())
        ax.tick_params(axis="y", labelsize=8)
        ax.set_xlabel("达成概率 P(met) %")
        ax.legend(loc="lower right", fontsize=8, frameon=False)
        return _svg(fig, plt, title)


def fan_chart(
    years: np.ndarray, quantiles: dict[float, np.ndarray], required: float | None, title: str
) -> str:
    """One target's projected path as a fan of quantiles (e.g. 5–95 %, 25–75 %, median)."""
    with _style(f"fan-{title}") as plt:
        fig, ax = plt.subplots(figsize=(3.4, 2.2))
        qs = sorted(quantiles)
        for lo, hi, alpha in zip(qs, qs[::-1], (0.2, 0.35, 0.5), strict=False):
            if lo >= hi:
                break
            ax.fill_between(years, quantiles[lo], quantiles[hi], color=ACCENT, alpha=alpha, lw=0)
        mid = qs[len(qs) // 2]
        ax.plot(years, quantiles[mid], color=ACCENT, lw=1.2)
        if required is not None:
            ax.axhline(required, color=MISSED, ls="--", lw=1)
        ax.set_title(title, fontsize=8)
        ax.set_xticks(years, [str(int(y)) for y in years])
        return _svg(fig, plt, title)


def certainty_chart(frame: pd.DataFrame, plan_budget: float, unit: str, title: str) -> str:
    """P(met) of each budget's optimised allocation against the annual budget (``frame``:
    budget, target, p_met — sweep_probabilities.csv), the targets whose P(met) the budget moves
    most (at most 8), with the 50/80/95 % levels and the plan's budget marked."""
    with _style("certainty") as plt:
        fig, ax = plt.subplots(figsize=(6.4, 3.0))
        spread = frame.groupby("target", sort=False).p_met.agg(lambda p: p.max() - p.min())
        for target in spread.sort_values(ascending=False).index[:8]:
            rows = frame[frame.target == target].sort_values("budget")
            ax.plot(rows.budget, rows.p_met, "o-", ms=3, lw=1.2, label=str(target))
        for level in (0.5, 0.8, 0.95):
            ax.axhline(level, color=NEUTRAL, lw=0.6, ls=":")
        ax.axvline(plan_budget, color=NEUTRAL, ls="--", lw=1)
        ax.set_ylim(0, 1)
        ax.set_xlabel(f"年度预算 annual budget ({unit})")
        ax.set_ylabel("达成概率 P(met)")
        ax.legend(fontsize=6, loc="lower right", ncol=2, frameon=False)
        return _svg(fig, plt, title)
