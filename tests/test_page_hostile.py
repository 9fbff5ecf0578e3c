"""User text is text, on the pages AppTest can run: a plan whose name, hypothesis, arm and
metric are hostile Markdown is shown on Metrics, Plan, Results and Validity & decision, and
hostile ranker names from a shared link on Model launch; no string the page hands to a
Markdown element carries that Markdown live.

AppTest gives the Markdown source, not the drawing, so the check is on the source: every
construct the names hold (an image, a link, LaTeX, bold, an icon, a colour, a heading) must
appear only escaped. The browser test (tests/browser/test_hostile_names.py) checks the
drawing itself, with uploads.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from abcore.markdown import code, inert
from abcore.plan import ExperimentPlan, MetricSpec

PAGES = Path(__file__).resolve().parents[1] / "app_pages"
HOST = "pixel.invalid"


def hostile(tag: str) -> str:
    return (
        f"![{tag}](http://{HOST}/{tag}.png) [click](http://{HOST}/{tag}) "
        f"$\\frac{{1}}{{0}}$ **bold** :material/home: :red[red] www.{HOST} x@{HOST}\n# {tag}"
    )


# What each construct of hostile() looks like while it is live Markdown.
LIVE = {
    "image": re.compile(r"(?<!\\)!\[|(?<!\\)\]\("),
    "link": re.compile(r"(?<!\\)\[click"),
    "autolink": re.compile(rf"https?://{re.escape(HOST)}|www\.{re.escape(HOST)}|(?<!\\)@{HOST}"),
    "LaTeX": re.compile(r"(?<!\\)\$\\frac"),
    "bold": re.compile(r"(?<!\\)\*\*bold"),
    "icon": re.compile(r":material/home:"),
    "colour": re.compile(r":red\["),
    "heading": re.compile(r"(^|\n)\s*#+ (plan|hypothesis|arm|metric|ranker)"),
}


def hostile_plan() -> ExperimentPlan:
    return ExperimentPlan(
        name=hostile("plan"),
        hypothesis=hostile("hypothesis"),
        control="control",
        expected_shares={"control": 0.5, hostile("arm"): 0.5},
        metrics=(MetricSpec(hostile("metric"), baseline=0.1, mde=0.05),),
    )


def markdown_sources(at: AppTest) -> list[str]:
    """Every string of the run that Streamlit draws as Markdown: text elements, alerts,
    headings, widget labels and help, metric labels, tab and expander labels, radio options."""
    out: list[str] = []
    kinds = ["markdown", "caption", "title", "header", "subheader", "error", "warning"]
    kinds += ["info", "success", "toast"]
    for kind in kinds:
        out += [e.value for e in at.get(kind)]
    widgets = ["text_input", "number_input", "selectbox", "multiselect", "radio", "checkbox"]
    widgets += ["slider", "text_area", "toggle", "button", "metric"]
    for kind in widgets:
        for e in at.get(kind):
            out += [str(getattr(e, "label", "") or ""), str(getattr(e, "help", "") or "")]
    for e in at.get("radio"):
        out += [str(o) for o in e.options]
    for kind in ("tab", "expander"):
        out += [str(getattr(e, "label", "") or "") for e in at.get(kind)]
    return [s for s in out if s]


def assert_inert(at: AppTest, tags: list[str]) -> None:
    assert not at.exception, at.exception
    sources = markdown_sources(at)
    for what, pattern in LIVE.items():
        live = [s for s in sources if pattern.search(s)]
        assert not live, f"a name is live Markdown ({what}): {live[:2]}"
    shown = " ".join(sources)
    for tag in tags:  # the names are on the page, escaped: the test is not vacuous
        assert inert(hostile(tag)) in shown, tag


def run(page: str, plan: ExperimentPlan | None = None, **params: str) -> AppTest:
    at = AppTest.from_file(str(PAGES / page), default_timeout=90)
    if plan is not None:
        at.session_state["plan"] = plan
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    return at


@pytest.mark.parametrize(
    ("page", "tags"),
    [
        ("plan.py", ["metric"]),
        ("metrics.py", ["metric"]),
        ("results.py", ["arm"]),
        ("decision.py", ["plan"]),
    ],
)
def test_a_hostile_plan_is_shown_as_text(page, tags):
    at = run(page, hostile_plan())
    assert_inert(at, tags)


def test_hostile_ranker_names_from_a_link_are_shown_as_text():
    at = run(
        "model_launch.py",
        interleaving="1368-850-526-256",
        a=hostile("ranker"),
        b=hostile("other"),
    )
    assert_inert(at, ["ranker"])


def test_the_reports_escape_names_for_a_markdown_viewer():
    """The plan brief: a name gives no link, image, LaTeX, autolink or heading in the file."""
    from abcore.planning import size_plan
    from abcore.report import plan_brief_markdown

    plan = hostile_plan()
    text = plan_brief_markdown(plan, size_plan(plan))
    for what, pattern in LIVE.items():
        assert not pattern.search(text), f"the brief makes {what} from a name"
    assert inert(hostile("plan")) in text


def test_code_spans_hold_any_backticks():
    """A name in a code span cannot close it early, whatever backtick runs it holds."""
    for name in ["a`b", "``x", "x`", "`", "a ``` b ``"]:
        span = code(name)
        fence = re.match(r"`+", span).group()
        assert span.endswith(fence)
        inner = span[len(fence) : -len(fence)]
        assert fence not in re.findall(r"`+", inner)
        assert inner.strip(" ") == name
