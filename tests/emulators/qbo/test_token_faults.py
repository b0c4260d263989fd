"""The token endpoint's faults and its record of presented refresh tokens: a refresh whose rotation is
committed but whose answer is lost, and how a stale (already rotated) refresh token shows up."""

from __future__ import annotations

import httpx
import pytest

from local.qbo_emulator import QboEmulator
from tests.emulators.qbo.helpers import Api, connect, refresh

TOKEN_PATH = "/oauth2/v1/tokens/bearer"


def test_commit_then_drop_rotates_but_the_answer_is_lost(emu: QboEmulator, http: httpx.Client) -> None:
    emu.set_rotation("strict")
    first = connect(http, emu)
    issued_before = set(emu.issued_tokens())
    emu.faults.commit_then_drop_next_token_requests(1)
    with pytest.raises(httpx.TransportError):
        refresh(http, emu, first.refresh_token)
    assert ("POST", TOKEN_PATH, 0) in emu.request_log
    # The rotation happened: new tokens were minted, and the old refresh token is dead.
    minted = [token for token in emu.issued_tokens() if token not in issued_before]
    assert len(minted) == 2  # one refresh token, one access token
    again = refresh(http, emu, first.refresh_token)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"
    outcomes = [(p.token, p.outcome) for p in emu.presented_refresh_tokens(family=first.refresh_token)]
    assert outcomes == [(first.refresh_token, "accepted"), (first.refresh_token, "already_rotated")]
    # The one-shot fault is used up: the next token request is answered.
    assert emu.faults.pending() == {}
    assert connect(http, emu).refresh_token


def test_commit_then_drop_counts_requests_and_reset_clears_it(emu: QboEmulator, http: httpx.Client) -> None:
    tokens = connect(http, emu)
    emu.faults.commit_then_drop_next_token_requests(2)
    assert emu.faults.pending() == {"commit_then_drop_next_token_requests": 2}
    with pytest.raises(httpx.TransportError):
        refresh(http, emu, tokens.refresh_token)
    emu.faults.reset()
    assert emu.faults.pending() == {}
    assert refresh(http, emu, "RT1-unknown").status_code == 400  # answered again


def test_api_drops_do_not_touch_the_token_endpoint(emu: QboEmulator, http: httpx.Client) -> None:
    tokens = connect(http, emu)
    emu.faults.commit_then_drop_next(1)  # the Accounting API's knob: writes only
    assert refresh(http, emu, tokens.refresh_token).status_code == 200
    emu.faults.reset()


def test_presented_refresh_tokens_tell_a_chain_and_its_stale_copies(emu: QboEmulator, http: httpx.Client) -> None:
    emu.set_rotation("strict")
    mine = connect(http, emu)
    other = connect(http, emu, emu.UK_REALM)
    second = refresh(http, emu, mine.refresh_token).json()["refresh_token"]
    assert refresh(http, emu, other.refresh_token).status_code == 200
    assert refresh(http, emu, mine.refresh_token).status_code == 400  # a stale copy
    assert refresh(http, emu, second).status_code == 200
    assert refresh(http, emu, "RT1-never-issued").status_code == 400
    chain = emu.presented_refresh_tokens(family=mine.refresh_token)
    assert [(p.token, p.outcome) for p in chain] == [
        (mine.refresh_token, "accepted"),
        (mine.refresh_token, "already_rotated"),
        (second, "accepted"),
    ]
    assert all(p.family == mine.refresh_token for p in chain)
    everything = emu.presented_refresh_tokens()
    assert len(everything) == 5
    assert everything[-1].outcome == "unknown"
    assert everything[-1].family is None


def test_presented_refresh_tokens_after_revoke_and_expiry(emu: QboEmulator, http: httpx.Client, us: Api) -> None:
    emu.set_token_lifetimes(refresh_seconds=60)
    expiring = connect(http, emu, emu.UK_REALM)
    emu.clock.advance(61)
    assert refresh(http, emu, expiring.refresh_token).status_code == 400
    revoked = http.post(
        f"{emu.base_url}/v2/oauth2/tokens/revoke",
        json={"token": us.tokens.refresh_token},
        auth=(emu.DEFAULT_CLIENT_ID, emu.DEFAULT_CLIENT_SECRET),
    )
    assert revoked.status_code == 200
    assert refresh(http, emu, us.tokens.refresh_token).status_code == 400
    assert [p.outcome for p in emu.presented_refresh_tokens(family=expiring.refresh_token)] == ["expired"]
    assert [p.outcome for p in emu.presented_refresh_tokens(family=us.tokens.refresh_token)] == ["revoked"]
