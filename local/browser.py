"""A user's browser through the connect flow: our start page (which sets the qbosync_oauth cookie),
Intuit's consent screen (approved at once by the emulator) and our callback, with one cookie jar."""

from __future__ import annotations

import httpx


def consent(authorize_url: str, *, client: httpx.Client | None = None) -> httpx.Response:
    """Follow `authorize_url` (from POST /connections) to our callback and return the callback's answer
    (a 302 back to the connection's return_url, or the 400 page). Raises if a hop is not a redirect."""
    browser = client or httpx.Client(follow_redirects=False, timeout=30)
    try:
        start = browser.get(authorize_url)
        _expect_redirect(start, "the start page")
        intuit = browser.get(start.headers["location"])
        _expect_redirect(intuit, "Intuit's consent screen")
        return browser.get(intuit.headers["location"])
    finally:
        if client is None:
            browser.close()


def _expect_redirect(response: httpx.Response, what: str) -> None:
    if response.status_code != 302:
        raise AssertionError(f"{what} answered {response.status_code}, not a redirect: {response.text[:200]}")
