"""`python -m local.qbo_emulator`: every setting is a flag and a QBO_EMULATOR_* environment variable,
a flag wins over its variable, and a bad value is a usage error whichever way it came."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest

from local.qbo_emulator import QboEmulator
from local.qbo_emulator.__main__ import build, parse_args
from local.qbo_emulator.process import emulator_process
from tests.emulators.qbo.helpers import connect, refresh


def test_defaults_without_flags_or_environment() -> None:
    args = parse_args([], environ={})
    assert (args.host, args.port) == ("127.0.0.1", 8765)
    assert args.throttle is True
    assert args.refresh_rotation == "intuit"
    assert args.latency_ms == 0
    assert args.tz is None
    assert args.seed == "sample"
    assert args.redirect_uri == []
    assert args.verbose is False


ENVIRONMENT = {
    "QBO_EMULATOR_HOST": "127.0.0.2",
    "QBO_EMULATOR_PORT": "0",
    "QBO_EMULATOR_THROTTLE": "off",
    "QBO_EMULATOR_REFRESH_ROTATION": "strict",
    "QBO_EMULATOR_LATENCY_MS": "120",
    "QBO_EMULATOR_TZ": "Pacific/Kiritimati",
    "QBO_EMULATOR_SEED": "sample",
    "QBO_EMULATOR_REDIRECT_URIS": "http://localhost:3000/cb http://localhost:3001/cb",
    "QBO_EMULATOR_VERBOSE": "on",
}


def test_every_setting_comes_from_its_environment_variable() -> None:
    args = parse_args([], environ=ENVIRONMENT)
    assert (args.host, args.port) == ("127.0.0.2", 0)
    assert args.throttle is False
    assert args.refresh_rotation == "strict"
    assert args.latency_ms == 120
    assert args.tz == "Pacific/Kiritimati"
    assert args.seed == "sample"
    assert args.redirect_uri == ["http://localhost:3000/cb", "http://localhost:3001/cb"]
    assert args.verbose is True


def test_flags_win_over_the_environment() -> None:
    args = parse_args(
        [
            "--host=127.0.0.3",
            "--port=9000",
            "--throttle=on",
            "--refresh-rotation=intuit",
            "--latency-ms=5",
            "--tz=Europe/London",
            "--seed=sample",
            "--redirect-uri=http://localhost:4000/cb",
            "--verbose=off",
        ],
        environ=ENVIRONMENT,
    )
    assert (args.host, args.port, args.throttle, args.refresh_rotation) == ("127.0.0.3", 9000, True, "intuit")
    assert (args.latency_ms, args.tz, args.verbose) == (5, "Europe/London", False)
    assert args.redirect_uri == ["http://localhost:4000/cb"]


def test_no_throttle_is_an_alias_of_throttle_off() -> None:
    assert parse_args(["--no-throttle"], environ={}).throttle is False
    assert parse_args(["--throttle", "OFF"], environ={}).throttle is False
    assert parse_args(["--verbose"], environ={}).verbose is True


@pytest.mark.parametrize(
    ("argv", "environ", "message"),
    [
        (["--refresh-rotation", "never"], {}, "'never' is not one of intuit, strict"),
        ([], {"QBO_EMULATOR_REFRESH_ROTATION": "always"}, "'always' is not one of intuit, strict"),
        (["--throttle", "maybe"], {}, "'maybe' is not on or off"),
        ([], {"QBO_EMULATOR_THROTTLE": "1"}, "'1' is not on or off"),
        (["--latency-ms", "-1"], {}, "'-1' is negative"),
        ([], {"QBO_EMULATOR_LATENCY_MS": "0.5"}, "'0.5' is not a whole number of milliseconds"),
        (["--seed", "empty"], {}, "'empty' is not one of sample"),
        ([], {"QBO_EMULATOR_SEED": "huge"}, "'huge' is not one of sample"),
        (["--port", "70000"], {}, "'70000' is not a port number"),
        ([], {"QBO_EMULATOR_TZ": "Mars/Olympus_Mons"}, "unknown time zone 'Mars/Olympus_Mons'"),
    ],
)
def test_a_bad_value_is_a_usage_error(
    argv: list[str], environ: dict[str, str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as refused:
        parse_args(argv, environ=environ)
    assert refused.value.code == 2
    assert message in capsys.readouterr().err


def test_build_applies_the_settings() -> None:
    emu = build(parse_args([], environ=ENVIRONMENT))
    assert emu.throttle.enabled is False
    assert emu.oauth.rotation == "strict"
    assert emu.faults.current_latency() == pytest.approx(0.12)
    assert emu.timezone(emu.US_REALM) == "Pacific/Kiritimati"
    app = emu.oauth.app(emu.DEFAULT_CLIENT_ID)
    assert app is not None
    assert app.redirect_uris == [emu.DEFAULT_REDIRECT_URI, "http://localhost:3000/cb", "http://localhost:3001/cb"]
    plain = build(parse_args([], environ={}))
    assert (plain.throttle.enabled, plain.oauth.rotation, plain.faults.current_latency()) == (True, "intuit", 0)


def test_an_unknown_seed_is_refused_by_the_emulator_too() -> None:
    with pytest.raises(ValueError, match="unknown seed 'nothing'"):
        QboEmulator(seed_name="nothing")


def test_latency_is_added_to_oauth_answers_too(emu: QboEmulator, http: httpx.Client) -> None:
    tokens = connect(http, emu)
    emu.faults.latency(0.3)
    started = time.monotonic()
    assert refresh(http, emu, tokens.refresh_token).status_code == 200
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    assert http.get(emu.discovery_url).status_code == 200
    assert time.monotonic() - started >= 0.3
    emu.faults.latency(0)


@pytest.fixture
def shell_emulator() -> Iterator[tuple[subprocess.Popen[str], str]]:
    """`python -m local.qbo_emulator` on a free port, configured only through its environment."""
    environment = {
        "QBO_EMULATOR_PORT": "0",
        "QBO_EMULATOR_REFRESH_ROTATION": "strict",
        "QBO_EMULATOR_THROTTLE": "off",
    }
    with emulator_process(environment=environment) as running:
        yield running


def test_the_module_runs_with_the_settings_of_its_environment(
    shell_emulator: tuple[subprocess.Popen[str], str], http: httpx.Client
) -> None:
    process, base = shell_emulator
    banner = []
    assert process.stdout is not None
    for line in process.stdout:
        banner.append(line.strip())
        if line.startswith("Press Ctrl-C"):
            break
    assert "refresh rotation: strict" in banner
    assert "throttles:        off" in banner
    discovery = http.get(f"{base}/.well-known/openid_sandbox_configuration/").json()
    assert discovery["token_endpoint"] == f"{base}/oauth2/v1/tokens/bearer"
