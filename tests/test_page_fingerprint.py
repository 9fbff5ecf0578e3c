"""One plan, one fingerprint: every page, the brief, the reports and the link show the same.

Before, the fingerprint hashed the sizes the Plan page fills in (a fresh session showed one
fingerprint, the Plan page another), and the Decision page's reports hashed the plan fitted
to the data's arms (cookie_cats' gate_30/gate_40) while the page showed the user's.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pandas as pd
import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

import abcore
from abcore.plan import ExperimentPlan, MetricSpec
from tests.real_data import real
from ui.state import demo_plan

APP = str(Path(__file__).resolve().parents[1] / "app.py")
FINGERPRINT = re.compile(r"[Ff]ingerprint:? `([0-9a-f]{12})`")


@pytest.fixture
def downloads(monkeypatch) -> dict[str, bytes]:
    """Every file a download button serves, by its media id (AppTest keeps no bytes)."""
    served: dict[str, bytes] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def load_and_get_id(self, path_or_data, mimetype, kind, filename=None):
        file_id = original(self, path_or_data, mimetype, kind, filename)
        if isinstance(path_or_data, bytes | str) and filename:
            data = path_or_data if isinstance(path_or_data, bytes) else path_or_data.encode()
            served[file_id] = data
        return file_id

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", load_and_get_id)
    return served


def _download(at: AppTest, served: dict[str, bytes], label: str) -> str:
    button = next(b for b in at.get("download_button") if b.proto.label == label)
    file_id = button.proto.url.rsplit("/", 1)[-1].split(".")[0]
    return served[file_id].decode()


def _shown(texts) -> set[str]:
    return {m for t in texts for m in FINGERPRINT.findall(str(t))}


def _sidebar(at: AppTest) -> str:
    (found,) = _shown(c.value for c in at.sidebar.caption)
    return found


def _main_texts(at: AppTest) -> list[str]:
    return [e.value for kind in ("caption", "markdown") for e in at.main.get(kind)]


def test_the_sizes_the_plan_page_fills_in_do_not_move_the_fingerprint():
    plan = demo_plan()
    sized = dataclasses.replace(plan, planned_n_per_arm=19_747, planned_days=14)
    assert sized.fingerprint() == plan.fingerprint()
    assert dataclasses.replace(plan, tuning_n=50_000).fingerprint() != plan.fingerprint()
    assert ExperimentPlan.from_json(sized.to_json()).fingerprint() == plan.fingerprint()


def test_every_page_the_reports_and_the_link_show_the_users_fingerprint(downloads):
    cats = pd.read_csv(real("cookie_cats.csv"))
    retention = MetricSpec("retention_7", "success", "binary", "increase", baseline=0.19, mde=0.05)
    plan = dataclasses.replace(demo_plan(), metrics=(retention,))  # arms: control/treatment
    analysis = abcore.analyze(cats, variant="version", metrics=["retention_7"])
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["plan"] = plan
    at.run()  # a fresh session opens on its default page
    first = _sidebar(at)
    assert first == plan.fingerprint()

    at.switch_page("app_pages/plan.py").run()
    assert not at.exception, at.exception
    assert _sidebar(at) == first, "opening the Plan page changed the fingerprint"
    assert _shown(_main_texts(at)) == {first}
    assert _shown([_download(at, downloads, "Download brief")]) == {first}
    brief = json.loads(_download(at, downloads, "Download JSON"))
    assert brief["fingerprint"] == first

    at.session_state["analysis"] = analysis  # cookie_cats on the Results page
    at.session_state["aggregates"] = analysis.aggregates
    at.session_state["analysis_source"] = "cookie_cats.csv"
    at.switch_page("app_pages/decision.py").run()
    assert not at.exception, at.exception
    assert any("gate_30" in w.value for w in at.warning)  # the plan was fitted to the arms
    assert _sidebar(at) == first
    assert _shown(_main_texts(at)) == {first}
    markdown = _download(at, downloads, "Download report (Markdown)")
    assert _shown([markdown]) == {first}
    report = json.loads(_download(at, downloads, "Download report (JSON)"))
    assert report["plan_fingerprint"] == first
    link = next(c.value for c in at.code if "results=" in c.value)
    params = {k: v[-1] for k, v in parse_qs(urlparse(link).query).items()}
    assert ExperimentPlan.from_query_params(params).fingerprint() == first

    for page in ("app_pages/results.py", "app_pages/metrics.py"):
        at.switch_page(page).run()
        assert not at.exception, at.exception
        assert _sidebar(at) == first, page
