"""A connection: one Productive subsidiary linked to one QuickBooks Online company."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, Final, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

# Connection ids are derived from (organization, subsidiary) so the same subsidiary always gets
# the same connection, without a read-then-write race between two "connect" requests.
_CONNECTION_NAMESPACE = uuid.UUID("6f1b8a52-3c1e-4f0e-9a57-2d8f3b7c9e10")


def existing(connection: Connection | None) -> Connection:
    """The connection a request names, or the 404 every route gives for an unknown one."""
    if connection is None:
        from qbosync.domain.errors import NotFound

        raise NotFound("No connection with this id.", code="connection_not_found")
    return connection


def require_connected(connection: Connection) -> None:
    """409 unless the connection is connected (`needs_reconnect` when only the user can fix it, by
    reconnecting)."""
    from qbosync.domain.errors import ConnectionNotReady

    if connection.status is ConnectionStatus.CONNECTED:
        return
    status = connection.status.value
    lost = connection.status is ConnectionStatus.NEEDS_RECONNECT
    raise ConnectionNotReady(
        f"The connection is {status}; "
        + ("the user must reconnect it to QuickBooks." if lost else "connect it to QuickBooks first."),
        code="needs_reconnect" if lost else None,
        details={"status": status, "reason": connection.status_reason},
    )


def connected_company(connection: Connection) -> CompanyProfile:
    """The QuickBooks company of a connected connection; the 409 of `require_connected` otherwise."""
    from qbosync.domain.errors import ConnectionNotReady

    require_connected(connection)
    if connection.company is None:
        raise ConnectionNotReady("The connection has no QuickBooks company; connect it again.")
    return connection.company


def connection_id_for(organization_id: str, subsidiary_id: str) -> str:
    return str(uuid.uuid5(_CONNECTION_NAMESPACE, f"{organization_id}:{subsidiary_id}"))


#: What a change made in QuickBooks is to us (docs/architecture.md "Payment sync" and "Changes made in
#: QuickBooks"): a payment, mirrored into Productive only where payment sync is on; or a change to an
#: invoice or credit memo, which may be one of our copies, flagged for every connected connection.
ChangeKind = Literal["payment", "copy"]
CHANGE_KINDS: Final[tuple[ChangeKind, ...]] = get_args(ChangeKind)


def change_kind(entity: str) -> ChangeKind:
    """The kind of change an event about this QuickBooks entity is (Payment, Invoice, CreditMemo)."""
    return "payment" if entity == "Payment" else "copy"


class ConnectionStatus(StrEnum):
    PENDING = "pending"
    CONNECTED = "connected"
    NEEDS_RECONNECT = "needs_reconnect"
    DISCONNECTED = "disconnected"


class ConnectionSettings(BaseModel):
    """What the agency chose for this connection (docs/architecture.md "Settings")."""

    model_config = ConfigDict(extra="forbid")

    invoice_numbering: Literal["quickbooks", "productive"] = "quickbooks"
    pdf_source: Literal["quickbooks", "productive"] = "quickbooks"
    sync_payments: bool = False
    sync_payments_since: datetime | None = Field(
        default=None, description="When payment sync was last switched on (set by the service, read-only)."
    )
    memo_source: Literal["subject", "note", "po_number", "custom_field"] = "subject"
    memo_custom_field_id: str | None = Field(default=None, min_length=1, max_length=64)
    default_item_id: str | None = Field(default=None, min_length=1, max_length=64)
    service_type_items: dict[str, str] = Field(
        default_factory=dict, description="Productive service type id -> QuickBooks Item id."
    )
    apply_credit_notes: bool = Field(
        default=True,
        description="A credit note copied as a QuickBooks credit memo is applied to its parent invoice's copy "
        "while that invoice is open in QuickBooks (up to its open balance).",
    )
    customer_level: Literal["client", "project"] = Field(
        default="client",
        description="'project': each invoice goes to a sub-customer named after the Productive project of its "
        "budget, under the client's customer (an invoice of several projects, or of none, goes to the client's "
        "customer, with a warning).",
    )
    class_source: Literal["none", "service_type", "fixed"] = Field(
        default="none",
        description="Where the QuickBooks Class of a copy comes from: none; the line's service type "
        "(service_type_classes, else default_class_id); or class_id for everything. Per line when the company "
        "tracks classes per line, else per invoice when all lines agree.",
    )
    service_type_classes: dict[str, str] = Field(
        default_factory=dict, description="Productive service type id -> QuickBooks Class id."
    )
    default_class_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="The class of a line whose service type has none (class_source 'service_type').",
    )
    class_id: str | None = Field(
        default=None, min_length=1, max_length=64, description="The class of every copy (class_source 'fixed')."
    )
    location_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="The QuickBooks location (Department) of every copy, when the company tracks locations.",
    )

    @model_validator(mode="after")
    def _custom_field_needs_an_id(self) -> ConnectionSettings:
        if self.memo_source == "custom_field" and not self.memo_custom_field_id:
            raise ValueError("memo_source 'custom_field' needs memo_custom_field_id")
        return self

    @model_validator(mode="after")
    def _class_source_needs_its_classes(self) -> ConnectionSettings:
        if self.class_source == "fixed" and not self.class_id:
            raise ValueError("class_source 'fixed' needs class_id")
        if self.class_source == "service_type" and not (self.service_type_classes or self.default_class_id):
            raise ValueError("class_source 'service_type' needs service_type_classes or default_class_id")
        return self

    def referenced_item_ids(self) -> set[str]:
        ids = set(self.service_type_items.values())
        if self.default_item_id:
            ids.add(self.default_item_id)
        return ids

    def referenced_class_ids(self) -> set[str]:
        """The QuickBooks classes copies use with these settings (those of another class_source are not)."""
        if self.class_source == "fixed" and self.class_id:
            return {self.class_id}
        if self.class_source == "service_type":
            ids = set(self.service_type_classes.values())
            if self.default_class_id:
                ids.add(self.default_class_id)
            return ids
        return set()


@dataclass(frozen=True)
class CompanyProfile:
    """What we read from CompanyInfo and Preferences when the company connects."""

    realm_id: str
    company_name: str
    country: str
    home_currency: str
    multicurrency_enabled: bool
    custom_txn_numbers: bool
    automated_sales_tax: bool
    using_sales_tax: bool
    allow_discount: bool = True

    @property
    def is_us(self) -> bool:
        return self.country.upper() in {"US", "USA"}


@dataclass(frozen=True)
class TokenSet:
    """QuickBooks OAuth tokens. The token values never appear in repr, logs or DynamoDB."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    access_expires_at: datetime
    refresh_expires_at: datetime
    refresh_hard_expires_at: datetime | None = None

    def access_valid_at(self, now: datetime, margin_seconds: int = 0) -> bool:
        return (self.access_expires_at - now).total_seconds() > margin_seconds


@dataclass(frozen=True)
class ConnectionSecret:
    """Everything secret about a connection, kept only in Secrets Manager."""

    productive_api_token: str = field(repr=False)
    tokens: TokenSet | None = None

    def to_json_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"productive_api_token": self.productive_api_token}
        if self.tokens is not None:
            data["qbo"] = {
                "access_token": self.tokens.access_token,
                "refresh_token": self.tokens.refresh_token,
                "access_expires_at": self.tokens.access_expires_at.isoformat(),
                "refresh_expires_at": self.tokens.refresh_expires_at.isoformat(),
                "refresh_hard_expires_at": (
                    self.tokens.refresh_hard_expires_at.isoformat() if self.tokens.refresh_hard_expires_at else None
                ),
            }
        return data

    @classmethod
    def from_json_dict(cls, data: dict[str, Any]) -> ConnectionSecret:
        qbo = data.get("qbo")
        tokens = None
        if qbo:
            hard = qbo.get("refresh_hard_expires_at")
            tokens = TokenSet(
                access_token=qbo["access_token"],
                refresh_token=qbo["refresh_token"],
                access_expires_at=datetime.fromisoformat(qbo["access_expires_at"]),
                refresh_expires_at=datetime.fromisoformat(qbo["refresh_expires_at"]),
                refresh_hard_expires_at=datetime.fromisoformat(hard) if hard else None,
            )
        return cls(productive_api_token=data["productive_api_token"], tokens=tokens)

    def with_tokens(self, tokens: TokenSet | None) -> ConnectionSecret:
        return replace(self, tokens=tokens)


@dataclass(frozen=True)
class CallError:
    """A connection's last failed QuickBooks call (docs/architecture.md "Connection health"): our code
    and a scrubbed sentence (qbosync.domain.health.call_error), never a token."""

    code: str
    message: str
    at: datetime


@dataclass(frozen=True)
class Connection:
    connection_id: str
    organization_id: str
    subsidiary_id: str
    status: ConnectionStatus
    return_url: str
    created_at: datetime
    updated_at: datetime
    settings: ConnectionSettings = field(default_factory=ConnectionSettings)
    company: CompanyProfile | None = None
    access_expires_at: datetime | None = None
    refresh_expires_at: datetime | None = None
    refresh_hard_expires_at: datetime | None = None
    status_reason: str | None = None
    # When the scheduled job should next refresh this connection's tokens (only while connected).
    next_refresh_at: datetime | None = None
    # The last successful and the last failed QuickBooks call (written by the call log, not by `save`).
    last_success_at: datetime | None = None
    last_error: CallError | None = None

    @property
    def realm_id(self) -> str | None:
        return self.company.realm_id if self.company else None

    @property
    def watches_quickbooks(self) -> bool:
        """Connected to a QuickBooks company: changes made there to our copies are flagged."""
        return self.status is ConnectionStatus.CONNECTED and self.company is not None

    @property
    def syncs_payments(self) -> bool:
        """Watching QuickBooks with payment sync switched on: its payments are mirrored into Productive."""
        return self.watches_quickbooks and self.settings.sync_payments

    def acts_on(self, kind: ChangeKind) -> bool:
        """Whether this connection acts on a change of this kind: the one rule the webhook, the payment
        worker and reconcile share."""
        return self.syncs_payments if kind == "payment" else self.watches_quickbooks

    def with_changes(self, **changes: Any) -> Connection:
        return replace(self, **changes)
