"""The Markdown launch report carries each tool's verdict and numbers."""

from __future__ import annotations

from abcore.launch import canary, drift, interleaving
from abcore.launch.launch_report import launch_report_markdown
from sample_data.generate_launch import make_canary, make_drift, make_shadow


def test_report_holds_every_verdict():
    frame = make_canary()
    base, can = frame[frame.group == "baseline"], frame[frame.group == "canary"]
    metrics = [canary.CanaryMetric(m, canary.guess_fail_on(m)) for m in ("latency_ms", "orders")]
    judged = canary.judge_canary(
        {m.name: base[m.name] for m in metrics}, {m.name: can[m.name] for m in metrics}, metrics
    )
    shadow = canary.compare_shadow(make_shadow(), current="current_score", new="new_score")
    ref, cur = make_drift()
    report = drift.drift_report(ref, cur, label="churned", prediction="churn_score")
    result = interleaving.analyze_counts(600, 400, 100)
    text = launch_report_markdown(
        interleaving=result,
        sizing=interleaving.size_test(0.05, result.tie_share, 0.5),
        canary=judged,
        shadow=shadow,
        ramp=canary.ramp_plan(1_000_000, 0.01),
        drift=report,
    )
    assert "**Users prefer A.**" in text
    assert f"**{judged.verdict.capitalize()}** (score {judged.score:.0f} / 100" in text
    assert "| latency_ms | high |" in text
    assert f"Agreement: {shadow.agreement:.1%}" in text
    assert "| 1% |" in text
    assert "**Concept shift**" in text
    assert text.endswith("\n")


def test_report_with_nothing_is_a_title():
    assert launch_report_markdown() == "# Model launch report\n"
