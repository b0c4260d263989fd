"""Run the emulator from a shell: ``python -m local.qbo_emulator --port 8765``."""

from __future__ import annotations

import argparse
import threading

from local.qbo_emulator.emulator import DEFAULT_VERIFIER_TOKEN, QboEmulator


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m local.qbo_emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--no-throttle", action="store_true", help="switch off the 429 throttles")
    parser.add_argument("--redirect-uri", action="append", default=[], help="extra redirect URI to allow")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    emu = QboEmulator(host=args.host, port=args.port, verbose=args.verbose)
    if args.redirect_uri:
        emu.register_app(
            emu.DEFAULT_CLIENT_ID,
            emu.DEFAULT_CLIENT_SECRET,
            redirect_uris=[emu.DEFAULT_REDIRECT_URI, *args.redirect_uri],
            webhook_verifier_token=DEFAULT_VERIFIER_TOKEN,
        )
    if args.no_throttle:
        emu.set_throttling(enabled=False)
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
    print("Press Ctrl-C to stop.", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        emu.stop()


if __name__ == "__main__":
    main()
