"""The whole system on loopback: moto (local AWS, resources from template.yaml), the QuickBooks
emulator and the local gateway running the real handlers.

    with LocalStack() as stack:
        stack.api_url            # the HTTP API, e.g. http://127.0.0.1:40123
        stack.signing_secret     # sign app requests with it (stack.sign(...) does it for you)
        stack.emulator           # the QboEmulator (knobs: clock, next_consent, faults...)
        stack.aws.client("dynamodb"), stack.aws.physical_ids["Table"]
        stack.run_schedule("TokenRefreshFunction")
        with stack.function_environment(NOTIFY_URL=url): ...   # a variable changed, like a redeploy

Ports are free loopback ports; the handlers' environment (process-global) is set while the stack
runs and restored by stop(). A stack can be started again after stop() in the same process (the
second start is a cold start of the handlers, see local.gateway).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import importlib
import os
import time
from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from local.aws import LocalAws
from local.gateway import LocalGateway
from local.template import EnvironmentPatch

if TYPE_CHECKING:
    from local.qbo_emulator import QboEmulator
    from local.qbo_emulator.oauth import Rotation

INTUIT_APP_SECRET = "IntuitAppSecret"
APP_SIGNING_SECRET = "AppSigningSecret"
NOTIFY_SIGNING_SECRET = "NotifySigningSecret"

DEFAULT_CLIENT_ID = "ABqbosyncLocalClientId00000000000000000000000000"
DEFAULT_CLIENT_SECRET = "qbosyncLocalClientSecret0000000000000000"
DEFAULT_WEBHOOK_VERIFIER_TOKEN = "qbosync-local-webhook-verifier-token"
EMULATOR_TZ_VARIABLE = "QBO_EMULATOR_TZ"  # the emulator companies' time zone (local/qbo_emulator/README.md)


def qbo_emulator_urls(base_url: str) -> dict[str, str]:
    """The QBO_* URL overrides (config.LOCAL_OVERRIDES) that point the functions at a QuickBooks emulator."""
    base = base_url.rstrip("/")
    return {
        "QBO_AUTHORIZE_URL": f"{base}/connect/oauth2",
        "QBO_TOKEN_URL": f"{base}/oauth2/v1/tokens/bearer",
        "QBO_REVOKE_URL": f"{base}/v2/oauth2/tokens/revoke",
        "QBO_API_BASE_URL": base,
    }


def intuit_app_secret(
    client_id: str, client_secret: str, webhook_verifier_token: str, redirect_uri: str
) -> dict[str, str]:
    """The Intuit app secret's value (README "Deploying for real", step 3)."""
    return {
        "client_id": client_id,
        "client_secret": client_secret,
        "webhook_verifier_token": webhook_verifier_token,
        "redirect_uri": redirect_uri,
    }


class LocalStack:
    """moto + QBO emulator + gateway, wired together. See the module docstring.

    parameters: template parameter overrides (Stage, QboEnvironment...).
    environment: extra variables for the handlers, applied last (e.g. PRODUCTIVE_API_BASE_URL).
    with_emulator: start the QBO emulator and point the QBO_* URLs at it (False: no QBO_* URLs set).
    client_id/client_secret/webhook_verifier_token: the Intuit app registered at the emulator and
        stored in the Intuit app secret.
    sqs_pollers: feed functions from their SQS event sources in background threads.
    emulator_tz: the emulator companies' time zone, an IANA name (default: $QBO_EMULATOR_TZ, else
        US Pacific).
    refresh_rotation: the emulator's refresh-token rotation. "strict" (the default here, unlike the
        emulator's own "intuit"): every refresh replaces the refresh token and the old one dies at once,
        the harder case the product is built and tested for (docs/architecture.md, QuickBooks OAuth tokens).
    """

    def __init__(
        self,
        template_path: Path | str | None = None,
        *,
        parameters: Mapping[str, str] | None = None,
        environment: Mapping[str, str] | None = None,
        with_emulator: bool = True,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        webhook_verifier_token: str = DEFAULT_WEBHOOK_VERIFIER_TOKEN,
        sqs_pollers: bool = True,
        emulator_tz: str | None = None,
        refresh_rotation: Rotation = "strict",
    ) -> None:
        self.template_path = template_path
        self.emulator_tz = emulator_tz or os.environ.get(EMULATOR_TZ_VARIABLE) or None
        self.refresh_rotation: Rotation = refresh_rotation
        self.parameters = dict(parameters or {})
        self.extra_environment = dict(environment or {})
        self.with_emulator = with_emulator
        self.client_id = client_id
        self.client_secret = client_secret
        self.webhook_verifier_token = webhook_verifier_token
        self.sqs_pollers = sqs_pollers
        self._emulator: QboEmulator | None = None
        self._aws: LocalAws | None = None
        self._gateway: LocalGateway | None = None
        self._shifted_clock: Any = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> LocalStack:
        if self._gateway is not None:
            return self
        try:
            environment: dict[str, str] = {"QBO_ENVIRONMENT": "sandbox"}
            if self.with_emulator:
                from local.qbo_emulator import QboEmulator

                self._emulator = QboEmulator(tz=self.emulator_tz, refresh_rotation=self.refresh_rotation)
                environment.update(qbo_emulator_urls(self._emulator.start()))
            self._aws = LocalAws(
                self.template_path,
                parameters=self.parameters,
                secret_values={INTUIT_APP_SECRET: self._intuit_app("")},
            ).start()
            environment.update(self._aws.environment)
            environment.update(self.extra_environment)
            self._gateway = LocalGateway(self.template_path, names=self._aws.names, environment=environment)
            api_url = self._gateway.start()
            redirect_uri = f"{api_url}/oauth/callback"
            self._aws.put_secret_value(INTUIT_APP_SECRET, self._intuit_app(redirect_uri))
            if self._emulator is not None:
                self._emulator.register_app(
                    self.client_id,
                    self.client_secret,
                    redirect_uris=[redirect_uri],
                    webhook_verifier_token=self.webhook_verifier_token,
                )
            if self.sqs_pollers:
                self._gateway.start_sqs_pollers(sqs_client=self._aws.client("sqs"))
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        self.shift_service_clock_reset()
        if self._gateway is not None:
            self._gateway.stop()
            self._gateway = None
        if self._aws is not None:
            self._aws.stop()
            self._aws = None
        if self._emulator is not None:
            self._emulator.stop()
            self._emulator = None

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _intuit_app(self, redirect_uri: str) -> dict[str, str]:
        return intuit_app_secret(self.client_id, self.client_secret, self.webhook_verifier_token, redirect_uri)

    # ------------------------------------------------------------------ parts

    @property
    def aws(self) -> LocalAws:
        if self._aws is None:
            raise RuntimeError("the local stack is not running")
        return self._aws

    @property
    def gateway(self) -> LocalGateway:
        if self._gateway is None:
            raise RuntimeError("the local stack is not running")
        return self._gateway

    @property
    def emulator(self) -> QboEmulator:
        if self._emulator is None:
            raise RuntimeError("the QBO emulator is not running (with_emulator=False or stack stopped)")
        return self._emulator

    @property
    def api_url(self) -> str:
        return self.gateway.url

    @property
    def redirect_uri(self) -> str:
        return f"{self.api_url}/oauth/callback"

    @property
    def environment(self) -> dict[str, str]:
        """The variables the handlers run with."""
        return self.gateway.environment()

    @property
    def intuit_app(self) -> dict[str, Any]:
        return self.aws.secret_json(INTUIT_APP_SECRET)

    @property
    def signing_secrets(self) -> dict[str, Any]:
        """The app signing secret: {"current": ..., "previous": ...}."""
        return self.aws.secret_json(APP_SIGNING_SECRET)

    @property
    def signing_secret(self) -> str:
        """The current app signing key (what Productive's backend signs requests with)."""
        return str(self.signing_secrets["current"])

    @property
    def notify_signing_secrets(self) -> dict[str, Any]:
        """The key of the reconnect warnings we send to NOTIFY_URL: {"current": ..., "previous": ...}."""
        return self.aws.secret_json(NOTIFY_SIGNING_SECRET)

    def sign(
        self,
        method: str,
        path_and_query: str,
        body: bytes = b"",
        *,
        timestamp: int | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, str]:
        """X-Qbosync-Timestamp / X-Qbosync-Signature headers for a request (README "HTTP API"), and the
        Idempotency-Key header when one is given (it is signed on its own line before the body)."""
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        key_line = f"{idempotency_key}\n" if idempotency_key is not None else ""
        message = f"{stamp}\n{method.upper()}\n{path_and_query}\n{key_line}".encode() + body
        signature = hmac.new(self.signing_secret.encode(), message, hashlib.sha256).hexdigest()
        headers = {"X-Qbosync-Timestamp": stamp, "X-Qbosync-Signature": signature}
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        return headers

    # ------------------------------------------------------------------ running functions

    @contextlib.contextmanager
    def function_environment(self, **variables: str | None) -> Iterator[None]:
        """Run the handlers with these variables changed (None: unset), like a redeploy with a new
        function configuration: the composition root forgets what it built (a cold start) on entering
        and again on leaving, when the variables are put back."""
        wiring = importlib.import_module("qbosync.wiring")
        patch = EnvironmentPatch(variables).apply()
        try:
            wiring.reset()
            yield
        finally:
            patch.restore()
            wiring.reset()

    def invoke(self, function_id: str, event: Any) -> Any:
        """Invoke a function directly with an event (like `sam local invoke`)."""
        return self.gateway.invoke(function_id, event)

    def run_schedule(self, function_id: str, event_name: str | None = None) -> Any:
        """Run a scheduled function once, now, with the event its schedule sends."""
        return self.gateway.run_schedule(function_id, event_name)

    def drain_queues(self) -> int:
        """Feed every SQS event source until its queue is empty; returns messages handled."""
        return sum(poller.drain() for poller in self.gateway.sqs_pollers(sqs_client=self.aws.client("sqs")))

    # ------------------------------------------------------------------ time

    def shift_service_clock(self, **delta: float) -> None:
        """Move the service's clock (qbosync.wiring.clock, not the emulator's) by a timedelta
        (`hours=25`) from real time; a zero delta puts the real clock back."""
        clock = importlib.import_module("qbosync.wiring").clock
        self.shift_service_clock_reset()
        offset = timedelta(**delta)
        if not offset:
            return
        real_now = clock.now  # the class's method, bound to this clock
        setattr(clock, "now", lambda: real_now() + offset)  # noqa: B010 - shadow the method on the instance
        self._shifted_clock = clock

    def shift_service_clock_reset(self) -> None:
        clock, self._shifted_clock = self._shifted_clock, None
        if clock is not None and "now" in vars(clock):
            delattr(clock, "now")
