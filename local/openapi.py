"""Build the HTTP API's OpenAPI document from the handlers' Powertools resolvers.

python -m local.openapi            print it
python -m local.openapi --write    write openapi.json (committed; tests fail when it drifts)
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler.openapi import OpenAPIMerge

ROOT = Path(__file__).resolve().parent.parent
OPENAPI_PATH = ROOT / "openapi.json"
# Every function that serves HTTP routes through a Powertools resolver named `app`.
HTTP_FUNCTIONS = ["connections", "copy_invoice", "oauth_callback"]

DESCRIPTION = (
    "Copy Productive invoices to QuickBooks Online and mirror QuickBooks payments back. "
    "App-facing routes must carry X-Qbosync-Timestamp (unix seconds) and X-Qbosync-Signature "
    '(hex HMAC-SHA256 of timestamp + "\\n" + METHOD + "\\n" + path?query + "\\n" + raw body). '
    'Errors everywhere are {"error": {"code", "message", "details"}}.'
)


def build_document() -> dict[str, Any]:
    merge = OpenAPIMerge(title="qbosync", version="1.0.0", description=DESCRIPTION, on_conflict="error")
    for name in sorted(HTTP_FUNCTIONS):
        module = importlib.import_module(f"functions.{name}.app")
        merge.add_schema(module.app.get_openapi_schema(title="qbosync", version="1.0.0"))
    document: dict[str, Any] = json.loads(merge.get_openapi_json_schema())
    return document


def render() -> str:
    return json.dumps(build_document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--write" in argv:
        OPENAPI_PATH.write_text(text, encoding="utf-8")
        print(f"wrote {OPENAPI_PATH.name}")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
