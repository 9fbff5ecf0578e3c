"""Accounts on a hosted app (issue 19), end to end: a real OpenID Connect provider
(``oidc-provider-mock`` on localhost), a ``streamlit run`` whose secrets (``[auth]``) live in a
temporary file (``--secrets.files``: the repository's files are untouched) and whose registry
is a temporary SQLite file (``ABCORE_DB_URL``), and two users in two browser contexts.

Each user starts and saves an experiment through the UI (Start → Plan it → Save in the
sidebar), and sees their own saved experiments and not the other's, in the Experiments
page's list and by address (``/experiments?experiment=<id>``, the page's "Copy link");
logging out ends access; a reviewer without an account opens a self-contained plan link.
"""

from __future__ import annotations

import json
import re
import secrets
import urllib.request
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from conftest import _free_port, start_server, wait_for_app
from playwright.sync_api import expect

from abcore.plan import ExperimentPlan

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
    """The app with login configured and an empty database of its own."""
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
    proc, url = start_server(
        port, args=["--secrets.files", str(secrets_file)], env={"ABCORE_DB_URL": db_url}
    )
    yield {"url": url}
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


def _main_text(page: object) -> str:
    return page.get_by_test_id("stMain").inner_text().replace("\u200b", "")  # ui.text's ZWSP


def _start_and_save(page: object, url: str, name: str) -> None:
    """Start → name → Plan it → Save in the sidebar, as a person would."""
    page.goto(url)
    wait_for_app(page)
    page.get_by_label("Name").fill(name)
    page.get_by_label("Name").press("Enter")
    wait_for_app(page)
    page.get_by_role("button", name="Plan it").click()
    page.wait_for_selector("h1:has-text('Plan the experiment')")
    wait_for_app(page, timeout=90_000)
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_role("button", name="Save", exact=True).click()
    expect(sidebar).to_contain_text("Saved ")
    wait_for_app(page)


def _own_list(page: object, url: str) -> tuple[str, str]:
    """The Experiments page's list (its text) and the chosen experiment's address."""
    page.goto(f"{url}/experiments")
    wait_for_app(page, timeout=90_000)
    expect(page.get_by_test_id("stDataFrame").first).to_be_visible()
    address = page.locator("[data-testid=stCode] code").first
    expect(address).to_contain_text("/experiments?experiment=")
    return _main_text(page), address.inner_text().strip()


def test_two_users_see_only_their_own_experiments(browser, hosted):
    url = hosted["url"]
    alice = _context_page(browser)
    bob = _context_page(browser)
    try:
        # before login: a visitor is told what works without an account, and sees no list
        alice.goto(f"{url}/experiments")
        wait_for_app(alice)
        expect(alice.get_by_test_id("stSidebar")).to_contain_text("You are not logged in")
        expect(alice.get_by_test_id("stMain")).to_contain_text("Log in to open saved experiments")
        assert alice.get_by_test_id("stDataFrame").count() == 0

        _log_in(alice, url, "alice@example.com")
        _log_in(bob, url, "bob@example.com")
        _start_and_save(alice, url, "Alice's checkout test")
        _start_and_save(bob, url, "Bob's pricing test")

        # by list: each sees their own experiment only
        listed, alice_address = _own_list(alice, url)
        assert "Alice's checkout test" in listed
        assert "Bob's" not in listed
        assert "1 of 1 experiments · workspace user:alice@example.com" in listed
        listed, bob_address = _own_list(bob, url)
        assert "Bob's pricing test" in listed
        assert "Alice's" not in listed
        assert alice_address.startswith(f"{url}/experiments?experiment=")
        alice_id = alice_address.rsplit("=", 1)[1]
        bob_id = bob_address.rsplit("=", 1)[1]

        # by address: alice's opens for her (into her session), bob's reads as not hers
        alice.goto(alice_address)
        wait_for_app(alice, timeout=90_000)
        expect(alice.get_by_test_id("stMain")).to_contain_text(
            'Opened "Alice\'s checkout test" from its link'
        )
        expect(alice.get_by_test_id("stSidebar")).to_contain_text("Alice's checkout test")
        alice.goto(bob_address)
        wait_for_app(alice, timeout=90_000)
        expect(alice.get_by_test_id("stMain")).to_contain_text(
            f"No experiment '{bob_id}' is in your workspaces"
        )
        assert "Bob's pricing test" not in _main_text(alice)
        assert "Bob's pricing test" not in alice.get_by_test_id("stSidebar").inner_text()

        # and bob, sent alice's address, cannot open it either
        bob.goto(alice_address)
        wait_for_app(bob, timeout=90_000)
        expect(bob.get_by_test_id("stMain")).to_contain_text(
            f"No experiment '{alice_id}' is in your workspaces"
        )
        assert "Alice's checkout test" not in _main_text(bob)

        # logging out ends access: her own address asks for a login and shows nothing of it
        alice.get_by_test_id("stSidebar").get_by_role("button", name="Log out").click()
        end = alice.get_by_role("button", name="End session")  # the provider's logout page
        end.wait_for(timeout=30_000)
        end.click()
        alice.wait_for_url(re.compile(re.escape(url)), timeout=30_000)
        alice.goto(alice_address)
        wait_for_app(alice)
        sidebar = alice.get_by_test_id("stSidebar")
        expect(sidebar.get_by_role("button", name="Log in")).to_be_visible()
        expect(alice.get_by_test_id("stMain")).to_contain_text("Log in to open saved experiments")
        assert alice.get_by_test_id("stDataFrame").count() == 0
        assert "Alice's checkout test" not in _main_text(alice)
        assert "Alice's checkout test" not in sidebar.inner_text()
        assert alice.get_by_test_id("stException").count() == 0
        assert bob.get_by_test_id("stException").count() == 0
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
