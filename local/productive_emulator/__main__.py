"""`python -m local.productive_emulator --port 8766`: serve a seeded demo organization."""

from __future__ import annotations

import argparse
import json
import os
import signal
import threading
from collections.abc import Mapping
from dataclasses import asdict

from local.command_line import milliseconds
from local.productive_emulator.emulator import ProductiveEmulator
from local.productive_emulator.money import ROUNDINGS

LATENCY_VARIABLE = "PRODUCTIVE_EMULATOR_LATENCY_MS"


def parse_args(argv: list[str] | None = None, environ: Mapping[str, str] | None = None) -> argparse.Namespace:
    """The settings from ``argv``; the latency, when ``argv`` leaves it out, from ``environ`` (default:
    ``os.environ``)."""
    env = os.environ if environ is None else environ
    parser = argparse.ArgumentParser(prog="python -m local.productive_emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--no-rate-limit", action="store_true", help="switch Productive's rate limits off")
    parser.add_argument("--rounding", choices=ROUNDINGS, default="half_up", help="how amounts round to cents")
    parser.add_argument(
        "--latency-ms",
        type=milliseconds,
        default=env.get(LATENCY_VARIABLE) or "0",
        metavar="N",
        help=f"added to every answer ({LATENCY_VARIABLE}, default 0)",
    )
    parser.add_argument("--json", action="store_true", help="print the seeded ids as one JSON object")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    emu = ProductiveEmulator(host=args.host, port=args.port, rounding=args.rounding)
    ids = emu.seed_demo()
    if args.no_rate_limit:
        emu.set_rate_limit(enabled=False)
    emu.faults.set_latency(args.latency_ms / 1000)
    base_url = emu.start()
    if args.json:
        print(json.dumps({"base_url": base_url, **asdict(ids)}), flush=True)
    else:
        print(f"Productive emulator listening on {base_url}")
        print(f"  X-Organization-Id: {ids.organization_id}")
        print(f"  X-Auth-Token:      {ids.api_token}")
        print(f"  USD invoice {ids.invoice_usd_id}, GBP invoice {ids.invoice_gbp_id}")
        print(f"  latency: {args.latency_ms} ms on every answer")
        print(
            f"  try: curl -H 'X-Auth-Token: {ids.api_token}' -H 'X-Organization-Id: {ids.organization_id}' "
            f"'{base_url}/invoices/{ids.invoice_usd_id}?include=company,bill_to'"
        )
        print("Ctrl-C to stop.", flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        emu.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
