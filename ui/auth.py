"""Who is using the app, and which workspaces' experiments they may read.

Without login configured the app is single-user: everyone is ``local`` in the ``local``
workspace (one person's machine, or a demo host without saved experiments to protect). With
``st.login`` configured (OpenID Connect in ``.streamlit/secrets.toml``, see the README), the
user is who the provider says (``st.user``), and their workspace is their own, so nobody
reads another user's experiments by list, by address or by link.

Every page and the registry ask :func:`identity` only; nothing else reads ``st.user``.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

LOCAL = "local"


@dataclass(frozen=True)
class Identity:
    """The current user, the workspace their new experiments go to, and every workspace they
    may read (``workspaces``, which the registry filters by)."""

    user: str
    workspace: str
    workspaces: tuple[str, ...]
    logged_in: bool = False

    @property
    def single_user(self) -> bool:
        return self.user == LOCAL and not self.logged_in


def login_configured() -> bool:
    """Whether ``[auth]`` is set in the app's secrets (then the app asks users to log in)."""
    try:
        return "auth" in st.secrets
    except (FileNotFoundError, KeyError, OSError):  # no secrets file: single-user
        return False
    except Exception:  # a malformed secrets file must not take the calculators down
        return False


def identity() -> Identity:
    """The session's identity: ``local`` without login; else the logged-in user (or an
    anonymous visitor, who reads share links but no saved experiment)."""
    if not login_configured():
        return Identity(LOCAL, LOCAL, (LOCAL,))
    user = st.user
    if not getattr(user, "is_logged_in", False):
        return Identity("", "", ())
    who = str(user.get("email") or user.get("sub") or "").strip().lower()
    if not who:
        return Identity("", "", ())
    space = f"user:{who}"
    return Identity(who, space, (space,), logged_in=True)
