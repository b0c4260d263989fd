"""``QboEmulator``: the object tests, the demo and the CLI hold."""

from __future__ import annotations

import threading
from datetime import date, tzinfo
from types import TracebackType
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from local.qbo_emulator import seed
from local.qbo_emulator.api import Event
from local.qbo_emulator.clock import Clock, qbo_time, zone, zone_name
from local.qbo_emulator.injection import FaultInjector
from local.qbo_emulator.oauth import ROTATIONS, App, OAuthService, PresentedRefreshToken, Rotation
from local.qbo_emulator.server import EmulatorApp, RequestLog
from local.qbo_emulator.store import Store
from local.qbo_emulator.throttle import Throttle
from local.qbo_emulator.webhooks import Subscription, WebhookDispatcher, WebhookFormat

DEFAULT_CLIENT_ID = "ABemulatorClientId0000000000000000000000000000000"
DEFAULT_CLIENT_SECRET = "emulatorClientSecret000000000000000000000"
DEFAULT_REDIRECT_URI = "http://localhost:8000/callback"
DEFAULT_VERIFIER_TOKEN = "emulator-webhook-verifier-token"
# The names ``QboEmulator(seed_name=...)`` and ``--seed`` take: the data the companies start with.
# "sample": the US and UK sample companies (README "Seeded companies").
SEEDS: tuple[str, ...] = ("sample",)


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


class QboEmulator:
    """An in-process QuickBooks Online + Intuit OAuth emulator on a loopback port.

    Starts with two seeded companies (``US_REALM``, ``UK_REALM``) and one registered app
    (``DEFAULT_CLIENT_ID`` / ``DEFAULT_CLIENT_SECRET`` with redirect ``DEFAULT_REDIRECT_URI``).
    ``tz``: the companies' time zone, an IANA name (default US Pacific); ValueError if unknown.
    ``refresh_rotation``: "intuit" (Intuit's 24-hour value and overlap, the default) or "strict" (every
    refresh replaces the refresh token and the old one dies at once); see ``local.qbo_emulator.oauth``.
    ``seed_name``: the data the companies start with, one of ``SEEDS``; ValueError if unknown.
    """

    US_REALM = seed.US_REALM
    UK_REALM = seed.UK_REALM
    DEFAULT_CLIENT_ID = DEFAULT_CLIENT_ID
    DEFAULT_CLIENT_SECRET = DEFAULT_CLIENT_SECRET
    DEFAULT_REDIRECT_URI = DEFAULT_REDIRECT_URI

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        register_default_app: bool = True,
        verbose: bool = False,
        tz: str | tzinfo | None = None,
        refresh_rotation: Rotation = "intuit",
        seed_name: str = SEEDS[0],
    ) -> None:
        if seed_name not in SEEDS:
            raise ValueError(f"unknown seed {seed_name!r}; the seeds are {', '.join(SEEDS)}")
        self.host = host
        self.port = port
        self.verbose = verbose
        self.clock = Clock()
        self.store = Store()
        self._company_lock = threading.Lock()
        self._companies_added = 0
        self._base_url = ""
        self._tz = zone(tz)
        for realm in seed.build_realms(self.clock.now(), self._tz):
            self.store.add(realm)
        self.oauth = OAuthService(
            self.clock,
            lambda rid: self.store.get(rid) is not None,
            seed.US_REALM,
            base_url=lambda: self._base_url,
            company=lambda rid: self.store.require(rid).company_info,
        )
        self.set_rotation(refresh_rotation)
        self.throttle = Throttle()
        self.faults = FaultInjector()
        self.webhooks = WebhookDispatcher(self.is_connected)
        self.request_log_store = RequestLog()
        self.app = EmulatorApp(self)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        if register_default_app:
            self.register_app(
                DEFAULT_CLIENT_ID,
                DEFAULT_CLIENT_SECRET,
                redirect_uris=[DEFAULT_REDIRECT_URI],
                webhook_verifier_token=DEFAULT_VERIFIER_TOKEN,
            )

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> str:
        if self._server is not None:
            return self._base_url
        self.webhooks.resume()
        server = make_server(
            self.host,
            self.port,
            self.app,
            threaded=True,
            request_handler=None if self.verbose else _QuietHandler,
        )
        self._server = server
        self._base_url = f"http://{self.host}:{server.server_port}"
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="qbo-emulator", daemon=True
        )
        self._thread.start()
        return self._base_url

    def stop(self) -> None:
        self.webhooks.stop()
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> QboEmulator:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if not self._base_url:
            raise RuntimeError("emulator not started")
        return self._base_url

    @property
    def api_base_url(self) -> str:
        """What python-quickbooks calls ``api_url``: ``<base_url>/v3``."""
        return f"{self.base_url}/v3"

    @property
    def discovery_url(self) -> str:
        """Sandbox discovery document; pass it as intuitlib ``AuthClient(environment=...)``."""
        return f"{self.base_url}/.well-known/openid_sandbox_configuration/"

    # --- OAuth knobs ----------------------------------------------------------------------------

    def register_app(
        self,
        client_id: str,
        client_secret: str,
        redirect_uris: list[str] | None = None,
        webhook_verifier_token: str | None = None,
    ) -> None:
        self.oauth.register_app(App(client_id, client_secret, list(redirect_uris or []), webhook_verifier_token))

    def add_company(self, country: str = "US", tz: str | tzinfo | None = None) -> str:
        """Another company seeded like the US (or, for "GB", the UK) sample company, with a realm id of
        its own, in ``tz`` (default: the emulator's zone); returns the realm id. Tests that need a company
        no other test connects to use it."""
        with self._company_lock:
            self._companies_added += 1
            realm_id = str(int(seed.US_REALM) + 1000 * self._companies_added)
        self.store.add(seed.build_realm(realm_id, country, self.clock.now(), tz or self._tz))
        return realm_id

    def set_token_lifetimes(
        self,
        access_seconds: int | None = None,
        refresh_seconds: int | None = None,
        hard_seconds: int | None = None,
    ) -> None:
        """Lifetimes for tokens issued from now on (hard_seconds: for grants authorized from now on)."""
        lifetimes = self.oauth.lifetimes
        if access_seconds is not None:
            lifetimes.access_seconds = int(access_seconds)
        if refresh_seconds is not None:
            lifetimes.refresh_seconds = int(refresh_seconds)
        if hard_seconds is not None:
            lifetimes.hard_seconds = int(hard_seconds)

    def set_rotation(self, mode: Rotation) -> None:
        """Refresh-token rotation from now on: "intuit" or "strict" (``local.qbo_emulator.oauth``)."""
        if mode not in ROTATIONS:
            raise ValueError(f"rotation is one of {', '.join(ROTATIONS)}, not {mode!r}")
        self.oauth.rotation = mode

    def next_consent(self, realm_id: str | None = None, deny: bool = False) -> None:
        """Decide what the next authorize request's auto-consent does (one-shot)."""
        if realm_id is not None and self.store.get(realm_id) is None:
            raise ValueError(f"unknown realm {realm_id}")
        self.oauth.next_consent(realm_id, deny)

    def issued_tokens(self) -> list[str]:
        return self.oauth.issued_tokens()

    def presented_refresh_tokens(self, family: str | None = None) -> list[PresentedRefreshToken]:
        """Every refresh request's refresh token and what became of it (``outcome``: accepted,
        superseded, already_rotated, revoked, expired, unknown; see ``PresentedRefreshToken``), oldest
        first; ``family``: only the chain that started with that refresh token (one connection's)."""
        return self.oauth.presented_refresh_tokens(family)

    def is_connected(self, realm_id: str, client_id: str) -> bool:
        return self.oauth.is_connected(realm_id, client_id)

    # --- company knobs --------------------------------------------------------------------------

    def set_timezone(self, realm_id: str, tz: str | tzinfo | None) -> None:
        """Move a company to another time zone (an IANA name; None: US Pacific). Dates QuickBooks
        picks from now on (a TxnDate left out) and timestamps are in that zone; stored ones stay."""
        realm = self.store.require(realm_id)
        company_zone = zone(tz)
        with realm.lock:
            realm.tz = company_zone

    def timezone(self, realm_id: str) -> str:
        """A company's time zone, as an IANA name."""
        return zone_name(self.store.require(realm_id).tz)

    def today(self, realm_id: str) -> date:
        """Today in the company's time zone on the emulated clock: the date QuickBooks gives a
        transaction whose TxnDate is left out. Tests and the demo compare dates with this, never with
        the UTC date."""
        return self.store.require(realm_id).today(self.clock.now())

    def set_preference(self, realm_id: str, dotted_path: str, value: Any) -> None:
        """Set e.g. ``"SalesFormsPrefs.CustomTxnNumbers"`` in a realm's Preferences."""
        realm = self.store.require(realm_id)
        with realm.lock:
            target = realm.preferences
            parts = dotted_path.split(".")
            for part in parts[:-1]:
                node = target.get(part)
                if not isinstance(node, dict):
                    node = {}
                    target[part] = node
                target = node
            target[parts[-1]] = value
            realm.preferences["SyncToken"] = str(int(realm.preferences.get("SyncToken", "0")) + 1)
            now = self.clock.now()
            realm.preferences.setdefault("MetaData", {})["LastUpdatedTime"] = qbo_time(now, realm.tz)
        self.webhooks.publish([Event(realm_id, "Preferences", "1", "Update", now)])

    def set_webhook(
        self,
        client_id: str,
        url: str | None,
        *,
        format: WebhookFormat = "legacy",
        entities: list[str] | None = None,
    ) -> None:
        """Subscribe an app to webhooks at ``url`` (None unsubscribes), signed with its verifier token."""
        if url is None:
            self.webhooks.unsubscribe(client_id)
            return
        app = self.oauth.app(client_id)
        if app is None:
            raise ValueError(f"unknown app {client_id}")
        if not app.webhook_verifier_token:
            raise ValueError(f"app {client_id} has no webhook_verifier_token")
        if format not in ("legacy", "cloudevents"):
            raise ValueError("format is 'legacy' or 'cloudevents'")
        self.webhooks.subscribe(
            Subscription(
                client_id=client_id,
                url=url,
                verifier_token=app.webhook_verifier_token,
                format=format,
                entities=frozenset(entities) if entities else None,
            )
        )

    def set_webhook_delivery(
        self,
        *,
        drop: float = 0.0,
        drop_next: int = 0,
        duplicate: float = 0.0,
        duplicate_next: int = 0,
        delay: float = 0.0,
        reorder: int = 0,
        seed: int | None = None,
    ) -> None:
        """Webhook delivery faults, all at once (each call sets every knob; no arguments: all off).
        ``drop``/``duplicate``: fractions of notifications; ``drop_next``/``duplicate_next``: the next n;
        ``delay``: seconds; ``reorder``: hold this many, deliver them shuffled; ``seed``: reproducible runs.
        See ``local.qbo_emulator.webhooks`` (``webhooks.release()``, ``webhooks.dropped``)."""
        if seed is not None:
            self.webhooks.seed(seed)
        self.webhooks.drop(drop, drop_next)
        self.webhooks.duplicate(duplicate, duplicate_next)
        self.webhooks.delay(delay)
        self.webhooks.reorder(reorder)

    def drop_webhooks(self, fraction: float = 0.0, *, count: int = 0) -> None:
        """Never deliver a fraction of the notifications, and/or the next ``count``."""
        self.webhooks.drop(fraction, count)

    def duplicate_webhooks(self, fraction: float = 0.0, *, count: int = 0) -> None:
        """Deliver a fraction of the notifications twice (identical bodies), and/or the next ``count``."""
        self.webhooks.duplicate(fraction, count)

    def delay_webhooks(self, seconds: float) -> None:
        self.webhooks.delay(seconds)

    def reorder_webhooks(self, window: int) -> None:
        """Hold ``window`` notifications, then deliver them shuffled (0: in order; what is held goes out)."""
        self.webhooks.reorder(window)

    def release_webhooks(self) -> None:
        """Deliver (shuffled) the notifications the reorder knob holds."""
        self.webhooks.release()

    def seed_webhooks(self, seed: int) -> None:
        self.webhooks.seed(seed)

    def set_throttling(self, enabled: bool = True) -> None:
        self.throttle.enabled = enabled
        if enabled:
            self.throttle.reset()

    # --- observation ----------------------------------------------------------------------------

    @property
    def request_log(self) -> list[tuple[str, str, int]]:
        """(method, path, status) of every request so far; status 0 = connection dropped on purpose."""
        return self.request_log_store.entries()

    def reset_request_log(self) -> None:
        self.request_log_store.clear()
