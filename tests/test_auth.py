"""Accounts for hosted use (issue 19): who the user is (:func:`ui.auth.identity`), which
workspaces they read, and what the sidebar and the Start page show them.

The pure part (:func:`ui.auth.identity_for`, :func:`ui.auth.team_workspaces`) is tested with
plain dicts; the pages through AppTest, whose ``at.secrets`` holds an ``[auth]`` table and
whose ``at.user`` plays ``st.user``. The real login through a provider is
tests/browser/test_login.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.runtime.secrets import secrets_singleton
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.util import patch_config_options

from abcore.plan import ExperimentPlan
from abcore.registry import open_registry
from ui.auth import LOCAL, UNREADABLE, identity_for, login_providers, team_workspaces

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "not-a-real-secret-but-long-enough",
    "client_id": "abcore",
    "client_secret": "secret",
    "server_metadata_url": "http://localhost:9400/.well-known/openid-configuration",
}
ALICE = {"is_logged_in": True, "email": "alice@example.com", "name": "Alice Example"}


# ---- who the user is ---------------------------------------------------------------------


def test_without_login_configured_everyone_is_local():
    for user in ({}, {"email": "test@example.com"}, ALICE):
        who = identity_for(user, {"abcore": {"workspaces": {"growth": ["@example.com"]}}})
        assert (who.user, who.workspace, who.workspaces) == (LOCAL, LOCAL, (LOCAL,))
        assert who.single_user
        assert not who.anonymous


def test_with_login_configured_a_visitor_reads_no_workspace():
    for user in ({}, {"is_logged_in": False}, {"is_logged_in": False, "email": "a@b.c"}):
        who = identity_for(user, {"auth": AUTH})
        assert who.workspaces == ()
        assert who.anonymous
        assert not who.logged_in
        assert not who.single_user


def test_a_logged_in_user_reads_their_own_workspace_only():
    who = identity_for({**ALICE, "email": " Alice@Example.COM "}, {"auth": AUTH})
    assert who.user == "alice@example.com"
    assert who.workspace == "user:alice@example.com"
    assert who.workspaces == ("user:alice@example.com",)
    assert who.name == "Alice Example"
    assert who.logged_in
    # a provider without email: the subject names the workspace
    who = identity_for({"is_logged_in": True, "sub": "1234"}, {"auth": AUTH})
    assert who.workspaces == ("user:1234",)


@pytest.mark.parametrize("verified", [False, "false", "False"])
def test_an_unverified_email_opens_no_workspace(verified):
    # else anyone who typed alice's address at a lax provider would read her experiments
    who = identity_for({**ALICE, "email_verified": verified}, {"auth": AUTH})
    assert who.logged_in
    assert who.workspaces == ()
    assert "not verified" in who.problem
    assert identity_for({**ALICE, "email_verified": True}, {"auth": AUTH}).workspaces == (
        "user:alice@example.com",
    )


# ---- teams ---------------------------------------------------------------------------------


def test_teams_by_domain_and_by_address():
    table = {
        "growth": ["@example.com"],
        "pricing": ["bob@partner.org", "ALICE@example.com"],
        "other": "@other.org",
    }
    secrets = {"auth": AUTH, "abcore": {"workspaces": table}}
    alice = identity_for(ALICE, secrets)
    assert alice.workspaces == ("user:alice@example.com", "team:growth", "team:pricing")
    assert alice.workspace == "team:growth"  # new experiments go to her first team
    bob = identity_for({"is_logged_in": True, "email": "bob@partner.org"}, secrets)
    assert bob.workspaces == ("user:bob@partner.org", "team:pricing")
    eve = identity_for({"is_logged_in": True, "email": "eve@nowhere.net"}, secrets)
    assert eve.workspaces == ("user:eve@nowhere.net",)
    assert eve.workspace == "user:eve@nowhere.net"


@pytest.mark.parametrize(
    "email",
    ["ana@badexample.com", "ana@example.com.evil.org", "ana@sub.example.com", "example.com"],
)
def test_a_domain_admits_whole_addresses_only(email):
    assert team_workspaces(email, {"growth": ["@example.com"]}) == ()


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (["@example.com"], r"must be a table of team names"),
        ({"growth team": ["@example.com"]}, r"team name 'growth team' must be letters"),
        ({"user:bob": ["@example.com"]}, r"team name 'user:bob' must be letters"),
        ({"growth": [3]}, r"growth must list emails or @domains"),
        ({"growth": ["example.com"]}, r"growth must list emails or @domains"),
        ({"growth": ["@"]}, r"growth must list emails or @domains"),
    ],
)
def test_a_malformed_team_table_is_a_sentence(table, message):
    with pytest.raises(ValueError, match=message):
        team_workspaces("alice@example.com", table)
    # in the app: the user keeps their own workspace and is told why they see no team
    who = identity_for(ALICE, {"auth": AUTH, "abcore": {"workspaces": table}})
    assert who.workspaces == ("user:alice@example.com",)
    assert "your own experiments only" in who.problem


def test_login_providers():
    assert login_providers(AUTH) == (None,)
    named = {"redirect_uri": "u", "cookie_secret": "c", "google": {"client_id": "g"}}
    assert login_providers({**named, "okta": {"client_id": "o"}}) == ("google", "okta")
    assert login_providers({"redirect_uri": "u"}) == ()


# ---- the pages -----------------------------------------------------------------------------


EXPERIMENTS = "app_pages/experiments.py"


def app(
    *,
    secrets: dict | None = None,
    user: dict | None = None,
    query: str = "",
    page: str | None = None,
) -> AppTest:
    """The app as ``user`` under ``secrets``, on ``page`` (Start by default), at the address
    ``?experiment=<query>`` when given."""
    at = AppTest.from_file(APP, default_timeout=90)
    if secrets:
        at.secrets.update(secrets)
    if user is not None:
        at.user = user
    at.run()
    if page is not None:
        at.switch_page(page)
    if query:
        at.query_params["experiment"] = query
    if page is not None or query:
        at.run()
    assert not at.exception, at.exception
    return at


def sidebar_buttons(at: AppTest) -> list[str]:
    return [b.label for b in at.sidebar.button]


def main_text(at: AppTest) -> str:
    parts = [
        *at.main.markdown, *at.main.caption, *at.main.error, *at.main.info, *at.main.success,
        *at.main.code, *at.main.dataframe,
    ]  # fmt: skip
    return "\n".join(str(e.value) for e in parts).replace("\u200b", "")


def test_the_single_user_app_has_no_account_ui():
    at = app()
    assert "Log in" not in sidebar_buttons(at)
    assert "Log out" not in sidebar_buttons(at)
    assert "saved experiments" not in main_text(at).lower()


def test_a_visitor_is_offered_a_login_and_told_what_works_without_one():
    at = app(secrets={"auth": AUTH})
    assert "Log in" in sidebar_buttons(at)
    sidebar = "\n".join(str(c.value) for c in at.sidebar.caption)
    assert "You are not logged in" in sidebar
    assert "shared plan and results links work" in sidebar
    at.switch_page(EXPERIMENTS).run()
    assert not at.exception, at.exception
    assert "Log in to open saved experiments" in main_text(at)
    assert not at.main.dataframe


def test_a_login_that_cannot_start_is_a_sentence():
    # at.secrets does not reach Streamlit's own auth check, which then finds no [auth]: the
    # same error a host with an incomplete secrets file gets, shown as a sentence
    at = app(secrets={"auth": AUTH})
    at.sidebar.button(key="auth__login_default").click().run()
    assert not at.exception, at.exception
    errors = "\n".join(str(e.value) for e in at.sidebar.error)
    assert "Login is not set up correctly" in errors


def test_a_logged_in_user_sees_their_name_a_logout_and_their_experiments(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'registry.sqlite'}"
    monkeypatch.setenv("ABCORE_DB_URL", url)
    reg = open_registry(url)
    try:
        mine = reg.create(
            "user:alice@example.com", name="Alice's test", owner="alice", plan=ExperimentPlan()
        )
        theirs = reg.create(
            "user:bob@example.com", name="Bob's test", owner="bob", plan=ExperimentPlan()
        )
    finally:
        reg.close()
    at = app(secrets={"auth": AUTH}, user=ALICE)
    assert "Log out" in sidebar_buttons(at)
    assert "Log in" not in sidebar_buttons(at)
    assert "Alice Example" in "\n".join(str(m.value) for m in at.sidebar.markdown)

    # by list: the Experiments page is the one list, of her workspaces only
    at = app(secrets={"auth": AUTH}, user=ALICE, page=EXPERIMENTS)
    assert list(at.main.dataframe[0].value["Name"]) == ["Alice's test"]
    assert "Bob's test" not in main_text(at)
    # its address, to copy, names the Experiments page
    assert f"/experiments?experiment={mine.id}" in [c.value for c in at.main.code]

    # by address: another workspace's experiment reads as not in hers, and opens nothing
    at = app(secrets={"auth": AUTH}, user=ALICE, page=EXPERIMENTS, query=theirs.id)
    text = main_text(at)
    assert f"No experiment '{theirs.id}' is in your workspaces" in text
    assert "Bob's test" not in text
    assert "registry_record" not in at.session_state or (
        at.session_state["registry_record"]["id"] != theirs.id
    )
    # her own opens into the session (reopened: every page has it)
    at = app(secrets={"auth": AUTH}, user=ALICE, page=EXPERIMENTS, query=mine.id)
    assert 'Opened "Alice\'s test" from its link' in main_text(at)
    assert at.session_state["registry_record"]["id"] == mine.id

    # a visitor with the link is asked to log in and sees nothing of it
    at = app(secrets={"auth": AUTH}, page=EXPERIMENTS, query=mine.id)
    text = main_text(at)
    assert "Log in to open saved experiments" in text
    assert "Alice's test" not in text
    assert "registry_record" not in at.session_state


def test_an_old_start_page_address_goes_on_to_the_experiments_page(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'registry.sqlite'}"
    monkeypatch.setenv("ABCORE_DB_URL", url)
    reg = open_registry(url)
    try:
        mine = reg.create(
            "user:alice@example.com", name="Alice's test", owner="alice", plan=ExperimentPlan()
        )
    finally:
        reg.close()
    at = app(secrets={"auth": AUTH}, user=ALICE, query=mine.id)  # /?experiment=<id>
    assert 'Opened "Alice\'s test" from its link' in main_text(at)
    assert at.session_state["registry_record"]["id"] == mine.id


def test_an_unreadable_secrets_file_closes_saved_experiments(tmp_path):
    # a typo in the host's secrets must not make every visitor the single `local` user
    bad = tmp_path / "secrets.toml"
    bad.write_text('[auth]\nredirect_uri = "http://localhost:8501/oauth2callback\n', "utf-8")
    assert identity_for(ALICE, UNREADABLE).workspaces == ()
    secrets_singleton._reset()
    try:
        with patch_config_options({"secrets.files": [str(bad)]}):
            at = app(page=EXPERIMENTS)
    finally:
        secrets_singleton._reset()
    warnings = "\n".join(str(w.value) for w in at.sidebar.warning)
    assert "secrets file cannot be read" in warnings
    assert "Log in" not in sidebar_buttons(at)
    assert "Log in to open saved experiments" in main_text(at)
