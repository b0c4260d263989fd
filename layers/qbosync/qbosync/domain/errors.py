"""Domain errors. They carry a stable snake_case code and a human sentence; the HTTP layer maps
each class to a status in one place (qbosync.api.errors), so nothing here knows about HTTP."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error a caller may see. `code` is stable; `message` is for people."""

    code = "error"

    def __init__(self, message: str, *, code: str | None = None, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details: dict[str, Any] = details or {}


class NotFound(DomainError):
    code = "not_found"


class InvalidInput(DomainError):
    """Input that is well formed but breaks a rule (unknown item id, missing field id...)."""

    code = "invalid_input"


class Conflict(DomainError):
    """The request is valid but the current state forbids it (needs reconnect, duplicate number...)."""

    code = "conflict"


class ConnectionNotReady(Conflict):
    """The connection is pending, disconnected or needs the user to reconnect."""

    code = "connection_not_ready"


class ReauthorizationRequired(DomainError):
    """Intuit refused the refresh token (invalid_grant): only the user can fix this, by reconnecting.
    `intuit_reason` is Intuit's own error and description when it gave them (kept in the activity log)."""

    code = "needs_reconnect"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: dict[str, Any] | None = None,
        intuit_reason: str | None = None,
    ):
        super().__init__(message, code=code, details=details)
        self.intuit_reason = intuit_reason


class UpstreamUnavailable(DomainError):
    """QuickBooks or Productive is down, timing out or throttling us; the caller may retry later."""

    code = "upstream_unavailable"

    def __init__(
        self,
        message: str,
        *,
        service: str,
        retry_after_seconds: int | None = None,
        code: str | None = None,
        details: dict[str, Any] | None = None,
    ):
        merged = {"service": service, **(details or {})}
        if retry_after_seconds is not None:
            merged["retry_after_seconds"] = retry_after_seconds
        super().__init__(message, code=code, details=merged)
        self.service = service
        self.retry_after_seconds = retry_after_seconds


class RefreshOutcomeUnknown(UpstreamUnavailable):
    """A token refresh reached Intuit but its answer was lost (timeout, dropped connection, gateway
    error): Intuit may or may not have rotated the refresh token that was sent."""

    code = "token_refresh_outcome_unknown"


class QuickBooksFault(DomainError):
    """A Fault QuickBooks returned for a request we made. Keeps QuickBooks' own code and message."""

    code = "quickbooks_fault"

    # QuickBooks' fault codes that our rules branch on (docs/architecture.md, "External systems").
    OBJECT_NOT_FOUND = "610"
    STALE_OBJECT = "5010"  # the SyncToken sent is not the current one: someone edited it in QuickBooks
    DUPLICATE_DOC_NUMBER = "6140"
    DUPLICATE_NAME = "6240"  # the name is taken by a customer, vendor or employee
    # Fault codes that mean the data conflicts with what is already in QuickBooks.
    CONFLICT_CODES = frozenset({STALE_OBJECT, DUPLICATE_DOC_NUMBER, DUPLICATE_NAME, "6540", "6210", "6200"})

    def __init__(
        self,
        message: str,
        *,
        fault_code: str,
        fault_type: str,
        detail: str = "",
        element: str = "",
        http_status: int = 400,
    ):
        super().__init__(
            message,
            details={
                "quickbooks_code": fault_code,
                "quickbooks_message": message,
                "quickbooks_detail": detail,
                "quickbooks_type": fault_type,
                **({"quickbooks_element": element} if element else {}),
            },
        )
        self.fault_code = fault_code
        self.fault_type = fault_type
        self.detail = detail
        self.element = element
        self.http_status = http_status

    @property
    def is_conflict(self) -> bool:
        return self.fault_code in self.CONFLICT_CODES

    @property
    def is_refusal(self) -> bool:
        """QuickBooks looked at the request and said no: nothing was written. A SystemFault is an
        outage on its side, after which the outcome is unknown."""
        return self.http_status < 500 and self.fault_type.lower() not in {"systemfault", "system"}


class ProductiveError(DomainError):
    """An error body Productive returned (JSON:API errors[]), other than throttling or outages."""

    code = "productive_error"

    def __init__(self, message: str, *, http_status: int, details: dict[str, Any] | None = None):
        super().__init__(message, details={"productive_status": http_status, **(details or {})})
        self.http_status = http_status
