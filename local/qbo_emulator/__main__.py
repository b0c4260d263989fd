"""Run the emulator from a shell: ``python -m local.qbo_emulator --port 8765``."""

from __future__ import annotations

import argparse
import os
import threading

from local.qbo_emulator.clock import zone
from local.qbo_emulator.emulator import DEFAULT_VERIFIER_TOKEN, QboEmulator

TZ_VARIABLE = "QBO_EMULATOR_TZ"


def _zone_name(value: str) -> str:
    try:
        zone(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m local.qbo_emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--no-throttle", action="store_true", help="switch off the 429 throttles")
    parser.add_argument("--redirect-uri", action="append", default=[], help="extra redirect URI to allow")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    parser.add_argument(
        "--tz",
        type=_zone_name,
        default=os.environ.get(TZ_VARIABLE) or None,
        metavar="ZONE",
        help=f"the companies' time zone, an IANA name such as Pacific/Kiritimati "
        f"(default: ${TZ_VARIABLE}, else America/Los_Angeles)",
    )
    return parser.parse_args(argv)


def build(args: argparse.Namespace) -> QboEmulator:
    """The emulator the arguments describe (not started)."""
    emu = QboEmulator(host=args.host, port=args.port, verbose=args.verbose, tz=args.tz)
    if args.redirect_uri:
        emu.register_app(
            emu.DEFAULT_CLIENT_ID,
            emu.DEFAULT_CLIENT_SECRET,
            redirect_uris=[emu.DEFAULT_REDIRECT_URI, *args.redirect_uri],
            webhook_verifier_token=DEFAULT_VERIFIER_TOKEN,
        )
    if args.no_throttle:
        emu.set_throttling(enabled=False)
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
    print("Press Ctrl-C to stop.", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        emu.stop()


if __name__ == "__main__":
    main()
