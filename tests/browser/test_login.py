"""Accounts on a hosted app (issue 19), end to end: a real OpenID Connect provider
(``oidc-provider-mock`` on localhost), a ``streamlit run`` whose secrets (``[auth]``) live in a
temporary file (``--secrets.files``: the repository's files are untouched) and whose registry
is a temporary SQLite file (``ABCORE_DB_URL``), and two users in two browser contexts.

Each user sees their own saved experiments and not the other's, by list and by address
(``/?experiment=<id>``); logging out ends access; a reviewer without an account opens a
self-contained plan link.
"""

from __future__ import annotations

import json
import re
import secrets
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from conftest import _free_port, start_server, wait_for_app
from playwright.sync_api import expect

from abcore.plan import ExperimentPlan
from abcore.registry import open_registry

oidc_provider_mock = pytest.importorskip("oidc_provider_mock")

USERS = {"alice@example.com": "Alice Example", "bob@example.com": "Bob Example"}


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    """A running OpenID Connect provider that knows alice and bob (their email and name)."""
    with oidc_provider_mock.run_server_in_thread() as server:
        url = f"http://localhost:{server.server_port}"
        for email, name in USERS.items():
            request = urllib.request.Request(
                f"{url}/users/{quote(email)}",
                data=json.dumps({"email": email, "name": name}).encode(),
                headers={"Content-Type": "application/json"},
                method="PUT",
            )
            with urllib.request.urlopen(request, timeout=10) as resp:
                assert resp.status == 204
        yield url


@pytest.fixture(scope="module")
def hosted(provider: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """The app with login configured, its database, and one saved experiment per user."""
    folder = tmp_path_factory.mktemp("hosted")
    port = _free_port()
    secrets_file = folder / "secrets.toml"
    secrets_file.write_text(
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        f'cookie_secret = "{secrets.token_hex(32)}"\n'
        'client_id = "abcore-test"\n'
        'client_secret = "abcore-test-secret"\n'
        f'server_metadata_url = "{provider}/.well-known/openid-configuration"\n',
        encoding="utf-8",
    )
    db_url = f"sqlite:///{folder / 'registry.sqlite'}"
    registry = open_registry(db_url)
    try:
        ids = {
            email: registry.create(
                f"user:{email}",
                name=f"{email.split('@')[0].title()}'s checkout test",
                owner=email,
                plan=ExperimentPlan(name=f"{email} plan"),
            ).id
            for email in USERS
        }
    finally:
        registry.close()
    proc, url = start_server(
        port, args=["--secrets.files", str(secrets_file)], env={"ABCORE_DB_URL": db_url}
    )
    yield {"url": url, "ids": ids, "db": Path(folder / "registry.sqlite")}
    proc.terminate()
    proc.wait(timeout=10)


def _context_page(browser: object) -> object:
    context = browser.new_context(viewport={"width": 1400, "height": 1800})
    return context.new_page()


def _log_in(page: object, url: str, email: str) -> None:
    """Log in through the provider's authorization form, as a person would."""
    page.goto(url)
    wait_for_app(page)
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_role("button", name="Log in").click()
    page.get_by_placeholder("sub").fill(email)
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(re.compile(re.escape(url)), timeout=30_000)
    wait_for_app(page)
    expect(sidebar.get_by_text(USERS[email])).to_be_visible()
    expect(sidebar.get_by_role("button", name="Log out")).to_be_visible()


def _saved_list(page: object) -> str:
    box = page.locator(".st-key-saved__list")
    expect(box).to_be_visible()
    return box.inner_text().replace("\u200b", "")  # ui.text breaks "user:" links with a ZWSP


def test_two_users_see_only_their_own_experiments(browser, hosted):
    url, ids = hosted["url"], hosted["ids"]
    alice = _context_page(browser)
    bob = _context_page(browser)
    try:
        # before login: a visitor is told what works without an account, and sees no list
        alice.goto(url)
        wait_for_app(alice)
        expect(alice.get_by_test_id("stSidebar")).to_contain_text("You are not logged in")
        expect(alice.get_by_test_id("stMain")).to_contain_text("Saved experiments need an account")
        assert alice.locator(".st-key-saved__list").count() == 0

        _log_in(alice, url, "alice@example.com")
        _log_in(bob, url, "bob@example.com")

        # by list: each sees their own experiment only
        listed = _saved_list(alice)
        assert "Alice's checkout test" in listed
        assert "Bob's" not in listed
        assert "1 saved experiment in user:alice@example.com" in listed
        listed = _saved_list(bob)
        assert "Bob's checkout test" in listed
        assert "Alice's" not in listed

        # by address: alice's link opens for her, bob's reads as missing
        alice.goto(f"{url}/?experiment={ids['alice@example.com']}")
        wait_for_app(alice)
        expect(alice.locator(".st-key-saved__linked")).to_contain_text("Alice's checkout test")
        alice.goto(f"{url}/?experiment={ids['bob@example.com']}")
        wait_for_app(alice)
        main = alice.get_by_test_id("stMain")
        expect(main).to_contain_text(f"No experiment '{ids['bob@example.com']}'")
        assert "Bob's checkout test" not in main.inner_text()
        assert alice.locator(".st-key-saved__linked").count() == 0

        # and bob, sent alice's link, cannot open it either
        bob.goto(f"{url}/?experiment={ids['alice@example.com']}")
        wait_for_app(bob)
        expect(bob.get_by_test_id("stMain")).to_contain_text(
            f"No experiment '{ids['alice@example.com']}'"
        )

        # logging out ends access: the link asks for a login, the list is gone
        alice.get_by_test_id("stSidebar").get_by_role("button", name="Log out").click()
        end = alice.get_by_role("button", name="End session")  # the provider's logout page
        end.wait_for(timeout=30_000)
        end.click()
        alice.wait_for_url(re.compile(re.escape(url)), timeout=30_000)
        alice.goto(f"{url}/?experiment={ids['alice@example.com']}")
        wait_for_app(alice)
        sidebar = alice.get_by_test_id("stSidebar")
        expect(sidebar.get_by_role("button", name="Log in")).to_be_visible()
        expect(alice.get_by_test_id("stMain")).to_contain_text("log in (in the sidebar) to open it")
        assert alice.locator(".st-key-saved__list").count() == 0
        assert "Alice's checkout test" not in alice.get_by_test_id("stMain").inner_text()
    finally:
        alice.context.close()
        bob.context.close()


def test_a_reviewer_without_an_account_opens_a_plan_link(browser, hosted):
    plan = ExperimentPlan(name="Pricing page for review")
    page = _context_page(browser)
    try:
        page.goto(f"{hosted['url']}/plan?plan={plan.to_query_params()['plan']}")
        wait_for_app(page)
        sidebar = page.get_by_test_id("stSidebar")
        expect(sidebar).to_contain_text("Pricing page for review")
        expect(sidebar.get_by_role("button", name="Log in")).to_be_visible()
    finally:
        page.context.close()
