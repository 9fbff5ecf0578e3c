"""Who is using the app, and which workspaces' experiments they may read.

Without login configured the app is single-user: everyone is ``local`` in the ``local``
workspace (one person's machine, or a demo host without saved experiments to protect). With
``st.login`` configured (OpenID Connect in ``.streamlit/secrets.toml``, see the README), the
user is who the provider says (``st.user``), and their workspace is their own, so nobody
reads another user's experiments by list, by address or by link.

Teams share workspaces through an ``[abcore.workspaces]`` table in the same secrets file:
each team names its members by email address or by ``@domain`` (everyone whose address is at
that domain). A member reads their own workspace and their teams'; new experiments go to
their first team (in the table's order), else to their own workspace::

    [abcore.workspaces]
    growth = ["@example.com"]                          # everyone at example.com
    pricing = ["alice@example.com", "bob@partner.org"]

Every page and the registry ask :func:`identity` only; nothing else reads ``st.user``.
An anonymous visitor (login configured, nobody logged in) has no workspace: the calculators
and the self-contained share links (``?plan=``, ``?results=``) work, saved experiments do not.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import streamlit as st
from streamlit import config as st_config
from streamlit.errors import StreamlitAuthError

from ui.text import md

_LOG = logging.getLogger(__name__)
LOCAL = "local"
USER_PREFIX = "user:"
TEAM_PREFIX = "team:"
_TEAM_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
ANONYMOUS_SENTENCE = (
    "You are not logged in: the calculators and shared plan and results links work as "
    "usual; log in to save experiments and to open saved ones."
)

SECRETS_SENTENCE = (
    "The app's secrets file cannot be read (see the server's log), so nobody can log in and "
    "saved experiments are closed until it is fixed; the calculators and share links work."
)


@dataclass(frozen=True)
class Identity:
    """The current user, the workspace their new experiments go to, and every workspace they
    may read (``workspaces``, which the registry filters by).

    ``workspaces`` is empty for an anonymous visitor (and for a login whose email the provider
    did not verify): such a session reads no saved experiment. ``problem`` is a sentence for
    the sidebar when the secrets' team table cannot be read (the user then keeps their own
    workspace only), when the secrets file cannot be read at all (nobody reads any), or when
    the login cannot be trusted.
    """

    user: str
    workspace: str
    workspaces: tuple[str, ...]
    logged_in: bool = False
    name: str = ""
    problem: str = ""

    @property
    def single_user(self) -> bool:
        return self.user == LOCAL and not self.logged_in

    @property
    def anonymous(self) -> bool:
        """Login is configured and this session may read no saved experiment."""
        return not self.workspaces


UNREADABLE: Mapping[str, Any] = MappingProxyType({"auth": {}, "abcore": {"unreadable": True}})
"""What :func:`read_secrets` returns for a secrets file that exists but cannot be read: login
configured (so nobody is the single ``local`` user) and no client to log in with."""


def read_secrets(load: Callable[[], Mapping[str, Any]], paths: Iterable[str]) -> Mapping[str, Any]:
    """The secrets ``load`` returns; empty when none of ``paths`` exists (a single-user app);
    :data:`UNREADABLE` when one exists but cannot be read.

    Failing closed matters on a host: a typo in a secrets file that holds ``[auth]`` must not
    turn every visitor into the single ``local`` user. The calculators keep working.

    >>> def broken(): raise ValueError("bad TOML")
    >>> read_secrets(broken, ["/nonexistent/secrets.toml"])
    {}
    >>> read_secrets(broken, ["/nonexistent/secrets.toml", "/"]) is UNREADABLE
    True
    """
    try:
        return load()
    except Exception as exc:  # a malformed secrets file must not take the calculators down
        if not any(Path(p).exists() for p in paths):
            return {}
        _LOG.warning("The secrets cannot be read, so logins are closed: %s", exc)
        return UNREADABLE


def _secrets() -> Mapping[str, Any]:
    """The app's secrets (Streamlit's ``secrets.files``: ``.streamlit/secrets.toml`` beside
    the app and in the home folder, unless configured)."""
    return read_secrets(st.secrets.to_dict, st_config.get_option("secrets.files") or ())


def secrets_unreadable(secrets: Mapping[str, Any]) -> bool:
    abcore = secrets.get("abcore")
    return isinstance(abcore, Mapping) and abcore.get("unreadable") is True


def login_configured() -> bool:
    """Whether ``[auth]`` is set in the app's secrets (then the app asks users to log in)."""
    return isinstance(_secrets().get("auth"), Mapping)


def login_providers(auth: Mapping[str, Any]) -> tuple[str | None, ...]:
    """The providers a "Log in" button can name: ``None`` for the one provider whose
    ``client_id`` sits in ``[auth]`` itself, else each ``[auth.<name>]`` table with one
    (Streamlit's ``st.login(provider)``).

    >>> login_providers({"client_id": "x", "redirect_uri": "u"})
    (None,)
    >>> login_providers({"redirect_uri": "u", "google": {"client_id": "g"}, "okta": {}})
    ('google',)
    """
    if "client_id" in auth:
        return (None,)
    return tuple(
        name for name, value in auth.items() if isinstance(value, Mapping) and "client_id" in value
    )


def _member(pattern: str, email: str) -> bool:
    pattern = pattern.strip().lower()
    if pattern.startswith("@"):
        return email.endswith(pattern)
    return email == pattern


def team_workspaces(email: str, table: Any) -> tuple[str, ...]:
    """The team workspaces (``team:<name>``) whose members include ``email``, in the table's
    order; ``table`` is the secrets' ``[abcore.workspaces]`` (team name → emails and
    ``@domains``). A domain matches whole addresses only (``@example.com`` admits
    ``ana@example.com``, not ``ana@badexample.com`` nor ``ana@example.com.evil``).

    >>> table = {"growth": ["@example.com"], "pricing": ["bob@partner.org"]}
    >>> team_workspaces("ana@example.com", table), team_workspaces("bob@partner.org", table)
    (('team:growth',), ('team:pricing',))
    >>> team_workspaces("ana@badexample.com", table)
    ()
    """
    if not isinstance(table, Mapping):
        raise ValueError(
            "[abcore.workspaces] in the secrets must be a table of team names, each listing "
            f"emails or @domains; got {type(table).__name__}."
        )
    email = email.strip().lower()
    teams = []
    for name, members in table.items():
        if not isinstance(name, str) or not _TEAM_NAME.fullmatch(name):
            raise ValueError(
                f"[abcore.workspaces] team name {name!r} must be letters, digits, '.', '_' "
                "or '-' (up to 64)."
            )
        listed = [members] if isinstance(members, str) else members
        if not isinstance(listed, list | tuple) or not all(
            isinstance(m, str) and "@" in m and m.strip() not in ("", "@") for m in listed
        ):
            raise ValueError(
                f"[abcore.workspaces] {name} must list emails or @domains "
                f'(e.g. ["@example.com", "ana@partner.org"]), got {members!r}.'
            )
        if email and any(_member(m, email) for m in listed):
            teams.append(TEAM_PREFIX + name)
    return tuple(teams)


def identity_for(user: Mapping[str, Any], secrets: Mapping[str, Any]) -> Identity:
    """The identity of a session whose ``st.user`` is ``user`` under ``secrets`` (pure: the
    tests call it with plain dicts; :func:`identity` with the session's).

    >>> identity_for({}, {}).user
    'local'
    >>> identity_for({"is_logged_in": False}, {"auth": {}}).workspaces
    ()
    >>> identity_for({"is_logged_in": True, "email": "Ana@Example.com"}, {"auth": {}}).workspaces
    ('user:ana@example.com',)
    """
    if not isinstance(secrets.get("auth"), Mapping):
        return Identity(LOCAL, LOCAL, (LOCAL,))
    if secrets_unreadable(secrets):
        return Identity("", "", (), problem=SECRETS_SENTENCE)
    if not user.get("is_logged_in"):
        return Identity("", "", ())
    who = str(user.get("email") or user.get("sub") or "").strip().lower()
    if not who:
        return Identity("", "", (), problem="The login named no user; log in again.")
    name = str(user.get("name") or who)
    # some providers send the claim as text ("false")
    if user.get("email") and str(user.get("email_verified", "")).strip().lower() == "false":
        # an unverified address could be anyone's: it opens nobody's workspace
        return Identity(
            who,
            "",
            (),
            logged_in=True,
            name=name,
            problem=(
                f"Your identity provider has not verified {md(who)}: verify the address "
                "with them, then log out and in again to open saved experiments."
            ),
        )
    own = USER_PREFIX + who
    abcore = secrets.get("abcore")
    table = abcore.get("workspaces", {}) if isinstance(abcore, Mapping) else {}
    try:
        teams = team_workspaces(who, table) if who and "@" in who else ()
    except ValueError as exc:
        teams, problem = (), f"{exc} Until it is fixed you see your own experiments only."
    else:
        problem = ""
    return Identity(
        who, (teams or (own,))[0], (own, *teams), logged_in=True, name=name, problem=problem
    )


def identity() -> Identity:
    """The session's identity: ``local`` without login; else the logged-in user (or an
    anonymous visitor, who reads share links but no saved experiment)."""
    secrets = _secrets()
    if not isinstance(secrets.get("auth"), Mapping):
        return identity_for({}, secrets)
    return identity_for(st.user.to_dict(), secrets)


def render_account() -> None:
    """The sidebar's account block: nothing without login; else "Log in" for a visitor (with
    what they can do without an account) or the user's name and "Log out"."""
    secrets = _secrets()
    auth = secrets.get("auth")
    if not isinstance(auth, Mapping):
        return
    who = identity()
    st.divider()
    if who.logged_in:
        st.markdown(f"**{md(who.name)}**")
        if who.name != who.user:
            st.caption(md(who.user))
        if who.problem:
            st.warning(who.problem, icon=":material/warning:")
        if st.button("Log out", key="auth__logout", icon=":material/logout:"):
            st.logout()
        return
    st.caption(ANONYMOUS_SENTENCE)
    if who.problem:
        st.warning(who.problem, icon=":material/warning:")
    providers = () if secrets_unreadable(secrets) else login_providers(auth)
    if not providers and not who.problem:
        st.warning(
            "Login is set up in the secrets ([auth]) without a client_id: see the README's "
            '"Hosting for a team".',
            icon=":material/warning:",
        )
    for provider in providers:
        label = "Log in" if provider is None else f"Log in with {provider.title()}"
        if st.button(label, key=f"auth__login_{provider or 'default'}", icon=":material/login:"):
            try:
                st.login(provider)
            except StreamlitAuthError as exc:
                st.error(
                    f"Login is not set up correctly ({md(str(exc).split(chr(10))[0].strip())}); "
                    'see the README\'s "Hosting for a team".',
                    icon=":material/error:",
                )
