"""Who may reach the web page: loopback by default, a token for any other address.

What it is for: :func:`check_bind` refuses to serve a non-loopback address without a token (from
``OPENLORA_WEB_TOKEN``), or with one too short to resist guessing; :func:`login` is the check Gradio's
login form calls (the user name from ``OPENLORA_WEB_USER``, default ``openlora``, the token as the
password), compared in constant time. The token is read from the environment only: it is never an
option (shell history, ``ps``), never printed, logged or put into a page.
What it is not for: upload limits (``ui_core.uploads``) or escaping what the page shows (``web.text``).
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable

from openlora.observability.exporter import is_loopback

TOKEN_ENV = "OPENLORA_WEB_TOKEN"
USER_ENV = "OPENLORA_WEB_USER"
DEFAULT_USER = "openlora"
MIN_TOKEN_CHARS = 16


class BindRefused(ValueError):
    """The page would be reachable beyond this machine without a login; the message says what to set."""


def token_from_env(environ: dict[str, str] | None = None) -> str | None:
    value = (environ if environ is not None else os.environ).get(TOKEN_ENV, "")
    return value or None


def check_bind(host: str, token: str | None) -> None:
    """Raise :class:`BindRefused` for a non-loopback ``host`` without a good token."""
    if token is not None and len(token) < MIN_TOKEN_CHARS:
        raise BindRefused(f"{TOKEN_ENV} is too short: use at least {MIN_TOKEN_CHARS} random characters")
    if token is None and not is_loopback(host):
        raise BindRefused(
            f"--host {host} would let other machines reach the page: set {TOKEN_ENV} (at least "
            f"{MIN_TOKEN_CHARS} random characters; the login's password) or serve 127.0.0.1 behind an SSH "
            "tunnel"
        )


def login(token: str, user: str = DEFAULT_USER) -> Callable[[str, str], bool]:
    """The login check: ``user`` and ``token``, compared in constant time."""
    expected_user, expected_token = user.encode(), token.encode()

    def check(given_user: str, given_token: str) -> bool:
        same_user = hmac.compare_digest(given_user.encode(), expected_user)
        return hmac.compare_digest(given_token.encode(), expected_token) and same_user

    return check
