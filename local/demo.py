"""`make demo`: the whole story on the local stack, printed so a person can follow it.

Everything runs on this machine: moto server as AWS, the QuickBooks emulator as Intuit, and the
local gateway serving the template's HTTP routes with the real Lambda handlers."""

from __future__ import annotations

import json
import sys
import warnings
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from local.app_client import AppClient
from local.stack import LocalStack

WIDTH = 100


def heading(text: str) -> None:
    print(f"\n== {text} " + "=" * max(0, WIDTH - len(text) - 4))


def show(label: str, value: Any) -> None:
    print(f"  {label:<26} {value}")


def expect(response: httpx.Response, status: int) -> dict[str, Any]:
    if response.status_code != status:
        raise SystemExit(f"unexpected HTTP {response.status_code}: {response.text}")
    return response.json() if response.content else {}


def until(moment: str | None) -> str:
    if not moment:
        return "-"
    delta = datetime.fromisoformat(moment) - datetime.now(UTC)
    days = delta.total_seconds() / 86400
    return f"{moment}  (in {days * 24:.1f} h)" if days < 2 else f"{moment}  (in {days:.0f} days)"


# The handlers' JSON logs and metrics go to stdout on Lambda; here they would drown the story.
QUIET = {"POWERTOOLS_LOG_LEVEL": "WARNING", "POWERTOOLS_METRICS_DISABLED": "true"}


def run() -> None:
    warnings.filterwarnings("ignore", message="The httpx module is deprecated")
    with LocalStack(environment=QUIET) as stack, AppClient(stack.api_url, stack.signing_secret) as app:
        heading("Local stack")
        show("API (local gateway)", stack.api_url)
        show("AWS (moto server)", stack.aws.endpoint_url)
        show("QuickBooks emulator", stack.emulator.base_url)

        heading("1. Productive asks to connect subsidiary 3 of organization 4242")
        started = expect(
            app.post(
                "/connections",
                {
                    "organization_id": "4242",
                    "subsidiary_id": "3",
                    "productive_api_token": "demo-productive-token",
                    "return_url": "https://app.productive.io/4242/settings/integrations/quickbooks",
                },
            ),
            201,
        )
        connection_id = started["connection_id"]
        show("connection_id", connection_id)
        show("status", started["status"])
        authorize = urlsplit(started["authorize_url"])
        show("authorize URL", f"{authorize.scheme}://{authorize.netloc}{authorize.path}")
        for key, values in sorted(parse_qs(authorize.query).items()):
            show(f"  {key}", values[0] if key != "state" else values[0][:48] + "...")

        heading("2. The user consents at Intuit (the emulator approves) and comes back")
        stack.emulator.next_consent(realm_id=stack.emulator.US_REALM)
        with httpx.Client(follow_redirects=False, timeout=30) as browser:
            consent = browser.get(started["authorize_url"])
            callback = urlsplit(consent.headers["location"])
            show("Intuit redirects to", f"{callback.path}?code=...&state=...&realmId=...")
            back = browser.get(consent.headers["location"])
        show("callback answers", f"{back.status_code} -> {back.headers['location']}")

        heading("3. The connection")
        connection = expect(app.get(f"/connections/{connection_id}"), 200)
        for key in ("status", "realm_id", "company_name", "country", "home_currency"):
            show(key, connection[key])
        show("access token expires", until(connection["access_expires_at"]))
        show("refresh token expires", until(connection["refresh_expires_at"]))
        show("hard expiry (5 years)", until(connection["refresh_hard_expires_at"]))

        heading("4. QuickBooks look-ups for the copy dialog")
        items = expect(app.get(f"/connections/{connection_id}/quickbooks/items"), 200)["items"]
        show("items", ", ".join(f"{i['name']} (#{i['id']})" for i in items))
        codes = expect(app.get(f"/connections/{connection_id}/quickbooks/tax-codes"), 200)["items"]
        show("tax codes", ", ".join(f"{c['name']} (#{c['id']})" for c in codes))
        found = expect(
            app.get(f"/connections/{connection_id}/quickbooks/customers", params={"search": "O'Brien"}), 200
        )["items"]
        show("customers like O'Brien", ", ".join(c["name"] for c in found) or "-")

        heading("5. Settings saved and read back")
        settings = {
            "invoice_numbering": "quickbooks",
            "pdf_source": "quickbooks",
            "sync_payments": True,
            "memo_source": "po_number",
            "default_item_id": items[0]["id"],
            "service_type_items": {"14": items[-1]["id"]},
        }
        expect(app.put(f"/connections/{connection_id}/settings", settings), 200)
        saved = expect(app.get(f"/connections/{connection_id}"), 200)["settings"]
        print("  " + json.dumps(saved, sort_keys=True))
        refused = app.put(f"/connections/{connection_id}/settings", {"default_item_id": "999"})
        show("unknown item id", f"{refused.status_code} {refused.json()['error']['message']}")

        heading("6. Token refresh (the scheduled job, a day later)")
        before = connection["access_expires_at"]
        stack.shift_service_clock(hours=25)  # a day passes, for us and for Intuit
        stack.emulator.clock.advance(25 * 3600)
        summary = stack.run_schedule("TokenRefreshFunction")
        show("token_refresh run", summary)
        after = expect(app.get(f"/connections/{connection_id}"), 200)
        show("access expiry before", before)
        show("access expiry after", after["access_expires_at"])
        show("refresh expiry after", after["refresh_expires_at"])
        show("status", after["status"])

        heading("7. Disconnect")
        gone = app.delete(f"/connections/{connection_id}")
        show("DELETE /connections/{id}", gone.status_code)
        show("status", expect(app.get(f"/connections/{connection_id}"), 200)["status"])
        show("still connected at Intuit", stack.emulator.is_connected(stack.emulator.US_REALM, stack.client_id))
        print("\nDemo finished.")


def main() -> int:
    run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
