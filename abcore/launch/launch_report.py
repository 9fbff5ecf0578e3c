"""A Markdown report of a model launch: each tool's verdict, its numbers and what to do.

Pure text from the engine's results (no Streamlit), so a notebook can write the same report
the page offers for download.

>>> from abcore.launch.interleaving import analyze_counts
>>> text = launch_report_markdown(interleaving=analyze_counts(560, 440, 200))
>>> text.splitlines()[0], "Users prefer A" in text
('# Model launch report', True)
"""

from __future__ import annotations

from collections.abc import Sequence

from abcore.launch.canary import CanaryResult, RampStep, ShadowResult
from abcore.launch.drift import DriftReport
from abcore.launch.interleaving import InterleavingResult, Sizing
from abcore.markdown import inert

__all__ = ["launch_report_markdown"]


def _interleaving(r: InterleavingResult, sizing: Sizing | None, a: str, b: str) -> list[str]:
    a, b = inert(a), inert(b)
    verdict = {"A": f"Users prefer {a}", "B": f"Users prefer {b}"}.get(r.preferred)
    lines = [
        "## 1. Interleaving test",
        "",
        f"**{verdict or 'No clear preference'}.**",
        "",
        f"- Users preferring {a} / {b} / tied: {r.wins_a:,} / {r.wins_b:,} / {r.ties:,}",
        f"- Preference share Δ = {r.delta:+.4f} (95% interval {r.ci_low:+.4f} to "
        f"{r.ci_high:+.4f}); sign test p = {r.p_value:.3g}",
    ]
    if sizing is not None:
        lines.append(
            f"- To detect Δ = {sizing.delta:.3f}: {sizing.interleaving_users:,} users with a "
            f"click, against {sizing.ab_users:,} users for an A/B test of a "
            f"{sizing.ab_lift:.1%} lift on a {sizing.ab_baseline:.1%} click rate "
            f"({sizing.ratio:,.0f}x fewer)"
        )
    return [*lines, ""]


def _canary(r: CanaryResult) -> list[str]:
    lines = [
        "## 2. Canary",
        "",
        f"**{r.verdict.capitalize()}** (score {r.score:.0f} / 100; promote at "
        f"{r.pass_score:g}, roll back below {r.marginal_score:g}).",
        "",
        *[f"- {inert(reason)}" for reason in r.reasons],
        "",
        "| metric | result | baseline median | canary median | shift | p-value |",
        "|---|---|---|---|---|---|",
    ]
    for m in r.metrics:
        lines.append(
            f"| {inert(m.name)} | {m.classification} | {m.baseline_median:.4g} | "
            f"{m.canary_median:.4g} | {m.rel_shift:+.1%} | {m.p_value:.3g} |"
        )
    return [*lines, ""]


def _shadow(s: ShadowResult) -> list[str]:
    lines = [
        "## Shadow run",
        "",
        f"- Agreement: {s.agreement:.1%} of {s.n_requests:,} requests (95% interval "
        f"{s.agreement_ci_low:.1%} to {s.agreement_ci_high:.1%})",
    ]
    if s.score is not None:
        lines.append(
            f"- Score difference (new - current): {s.score.diff:+.4f} "
            f"({s.score.ci_low:+.4f} to {s.score.ci_high:+.4f})"
        )
    if s.latency is not None:
        lines.append(
            f"- Latency difference: {s.latency.diff:+.2f} "
            f"({s.latency.ci_low:+.2f} to {s.latency.ci_high:+.2f})"
        )
    return [*lines, ""]


def _ramp(steps: Sequence[RampStep]) -> list[str]:
    lines = ["## Ramp plan", "", "| traffic | requests on new version | hours |", "|---|---|---|"]
    lines += [f"| {s.share:.0%} | {s.n_new:,} | {s.hours:,.1f} |" for s in steps]
    return [*lines, ""]


def _drift(d: DriftReport) -> list[str]:
    lines = [
        "## 3. Drift monitoring",
        "",
        f"**{d.verdict.capitalize()}** ({d.drift_share:.0%} of features moved).",
        "",
        *[f"- {inert(s)}" for s in d.sentences],
        "",
        "| column | moved | test | value | reference | current |",
        "|---|---|---|---|---|---|",
    ]
    rows = [*d.features, *([d.label] if d.label else [])]
    lines += [
        f"| {inert(f.feature)} | {'yes' if f.drifted else 'no'} | {f.method} | {f.statistic:.3g} | "
        f"{inert(f.reference_summary)} | {inert(f.current_summary)} |"
        for f in rows
    ]
    return [*lines, ""]


def launch_report_markdown(
    *,
    interleaving: InterleavingResult | None = None,
    sizing: Sizing | None = None,
    label_a: str = "A",
    label_b: str = "B",
    canary: CanaryResult | None = None,
    shadow: ShadowResult | None = None,
    ramp: Sequence[RampStep] | None = None,
    drift: DriftReport | None = None,
) -> str:
    """The report of whichever tools have a result, in launch order."""
    lines = ["# Model launch report", ""]
    if interleaving is not None:
        lines += _interleaving(interleaving, sizing, label_a, label_b)
    if canary is not None:
        lines += _canary(canary)
    if shadow is not None:
        lines += _shadow(shadow)
    if ramp:
        lines += _ramp(ramp)
    if drift is not None:
        lines += _drift(drift)
    return "\n".join(lines).rstrip() + "\n"
