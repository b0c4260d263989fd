"""`make bench`: prints the measured figures named in the issues, with the targets next to them."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable

from bench import activity, bulk_copy, cold_start, copies, critical_path, emulator, payments, replay, webhooks


def main(argv: list[str]) -> int:
    sections: dict[str, Callable[[], Iterable[str]]] = {
        "cold-start": cold_start.run,
        "copies": copies.run,
        "copy-critical-path": critical_path.run,
        "bulk-copy": bulk_copy.run,
        "webhooks": webhooks.run,
        "webhook-sizes": webhooks.run_sizes,
        "payments": payments.run,
        "replay": replay.run,
        "activity": activity.run,
        "qbo-emulator": emulator.run,
    }
    chosen = [name for name in argv if name in sections] or list(sections)
    for name in chosen:
        for line in sections[name]():
            print(line, flush=True)
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
