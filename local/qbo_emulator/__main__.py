"""Run the emulator from a shell: ``python -m local.qbo_emulator --port 8765``.

Every setting is a flag and an environment variable (``QBO_EMULATOR_<NAME>``); a flag wins over its
variable. The table is in local/qbo_emulator/README.md ("Run it")."""

from __future__ import annotations

import argparse
import os
import threading
from collections.abc import Callable, Mapping
from typing import Any

from local.command_line import milliseconds, port
from local.qbo_emulator.clock import zone
from local.qbo_emulator.emulator import DEFAULT_VERIFIER_TOKEN, SEEDS, QboEmulator
from local.qbo_emulator.oauth import ROTATIONS

ENV_PREFIX = "QBO_EMULATOR_"
TZ_VARIABLE = "QBO_EMULATOR_TZ"
SWITCH = {"on": True, "off": False}


def _zone_name(value: str) -> str:
    try:
        zone(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error
    return value


def _one_of(names: tuple[str, ...]) -> Callable[[str], str]:
    """A type that checks the value itself: argparse applies a type, but not ``choices``, to a default
    taken from the environment."""

    def check(value: str) -> str:
        if value not in names:
            raise argparse.ArgumentTypeError(f"{value!r} is not one of {', '.join(names)}")
        return value

    check.__name__ = "choice"
    return check


def _switch(value: str) -> bool:
    try:
        return SWITCH[value.strip().lower()]
    except KeyError:
        raise argparse.ArgumentTypeError(f"{value!r} is not on or off") from None


def parse_args(argv: list[str] | None = None, environ: Mapping[str, str] | None = None) -> argparse.Namespace:
    """The settings from ``argv`` and, for what it leaves out, ``environ`` (default: ``os.environ``)."""
    env = os.environ if environ is None else environ

    def default(name: str, fallback: Any = None) -> Any:
        return env.get(ENV_PREFIX + name) or fallback

    parser = argparse.ArgumentParser(prog="python -m local.qbo_emulator", description=__doc__)
    parser.add_argument("--host", default=default("HOST", "127.0.0.1"), help="(QBO_EMULATOR_HOST)")
    parser.add_argument("--port", type=port, default=default("PORT", "8765"), help="(QBO_EMULATOR_PORT)")
    parser.add_argument(
        "--throttle",
        type=_switch,
        default=default("THROTTLE", "on"),
        metavar="on|off",
        help="Intuit's 429 throttles (QBO_EMULATOR_THROTTLE, default on)",
    )
    parser.add_argument(
        "--no-throttle", dest="throttle", action="store_false", default=argparse.SUPPRESS, help="--throttle off"
    )
    parser.add_argument(
        "--refresh-rotation",
        type=_one_of(ROTATIONS),
        default=default("REFRESH_ROTATION", "intuit"),
        metavar="|".join(ROTATIONS),
        help="refresh-token rotation: Intuit's 24-hour value and overlap, or strict "
        "(QBO_EMULATOR_REFRESH_ROTATION, default intuit)",
    )
    parser.add_argument(
        "--latency-ms",
        type=milliseconds,
        default=default("LATENCY_MS", "0"),
        metavar="N",
        help="added to every answer (QBO_EMULATOR_LATENCY_MS, default 0)",
    )
    parser.add_argument(
        "--tz",
        type=_zone_name,
        default=default("TZ"),
        metavar="ZONE",
        help=f"the companies' time zone, an IANA name such as Pacific/Kiritimati "
        f"(default: ${TZ_VARIABLE}, else America/Los_Angeles)",
    )
    parser.add_argument(
        "--seed",
        type=_one_of(SEEDS),
        default=default("SEED", SEEDS[0]),
        metavar="NAME",
        help=f"the seeded companies: {', '.join(SEEDS)} (QBO_EMULATOR_SEED, default {SEEDS[0]})",
    )
    parser.add_argument(
        "--redirect-uri",
        action="append",
        default=None,
        help="extra redirect URI to allow, repeatable (QBO_EMULATOR_REDIRECT_URIS, space-separated)",
    )
    parser.add_argument(
        "--verbose",
        type=_switch,
        nargs="?",
        const=True,
        default=default("VERBOSE", "off"),
        metavar="on|off",
        help="log every request (QBO_EMULATOR_VERBOSE)",
    )
    args = parser.parse_args(argv)
    if args.redirect_uri is None:
        args.redirect_uri = default("REDIRECT_URIS", "").split()
    return args


def build(args: argparse.Namespace) -> QboEmulator:
    """The emulator the arguments describe (not started)."""
    emu = QboEmulator(
        host=args.host,
        port=args.port,
        verbose=args.verbose,
        tz=args.tz,
        refresh_rotation=args.refresh_rotation,
        seed_name=args.seed,
    )
    if args.redirect_uri:
        emu.register_app(
            emu.DEFAULT_CLIENT_ID,
            emu.DEFAULT_CLIENT_SECRET,
            redirect_uris=[emu.DEFAULT_REDIRECT_URI, *args.redirect_uri],
            webhook_verifier_token=DEFAULT_VERIFIER_TOKEN,
        )
    emu.set_throttling(enabled=args.throttle)
    emu.faults.latency(args.latency_ms / 1000)
    return emu


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    emu = build(args)
    base = emu.start()
    print(f"QBO emulator listening on {base}")
    print(f"  authorize:        {base}/connect/oauth2")
    print(f"  token:            {base}/oauth2/v1/tokens/bearer")
    print(f"  revoke:           {base}/v2/oauth2/tokens/revoke")
    print(f"  discovery:        {emu.discovery_url}")
    print(f"  API base:         {emu.api_base_url}/company/<realmId>/...")
    print(f"  client_id:        {emu.DEFAULT_CLIENT_ID}")
    print(f"  client_secret:    {emu.DEFAULT_CLIENT_SECRET}")
    print(f"  redirect_uri(s):  {', '.join([emu.DEFAULT_REDIRECT_URI, *args.redirect_uri])}")
    print(f"  webhook verifier: {DEFAULT_VERIFIER_TOKEN}")
    print(f"  US realm:         {emu.US_REALM} (Sandbox Company US)")
    print(f"  UK realm:         {emu.UK_REALM} (Sandbox Company UK)")
    print(f"  time zone:        {emu.timezone(emu.US_REALM)} (both companies)")
    print(f"  seed:             {args.seed}")
    print(f"  refresh rotation: {args.refresh_rotation}")
    print(f"  throttles:        {'on' if args.throttle else 'off'}")
    print(f"  latency:          {args.latency_ms} ms on every answer")
    print("Press Ctrl-C to stop.", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        emu.stop()


if __name__ == "__main__":
    main()
