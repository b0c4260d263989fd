"""Copy history, in-flight copies, per-invoice locks and customer mappings in the single table.

- INVOICE#<connection>#<invoice> / COPY#<sequence>   a QuickBooks invoice made from that invoice
- INVOICE#<connection>#<invoice> / COPY#<sequence>#FLAG#<kind>#<version>
                                                     a flag on that copy (changed in QuickBooks...), beside
                                                     it so one query reads a copy with its flags and a
                                                     copy rewritten by an update keeps them; on gsi1 as
                                                     ATTENTION#<connection> / <detected at>#<invoice>#<seq>
                                                     #<kind>, the connection's attention list, newest first
- INVOICE#<connection>#<invoice> / HEAD              the invoice's copy state: the lock (a lease), the last
                                                     copy's sequence and the create in flight, so that
                                                     taking the lock also reads the state and records the
                                                     create (one call); deleted again when a request on a
                                                     never-copied invoice fails with nothing in flight
- QBOINVOICE#<realm>#<qbo invoice id> / COPY         which copy a QuickBooks invoice is (payment sync)
- QBOCREDITMEMO#<realm>#<qbo credit memo id> / COPY  which copy a QuickBooks credit memo is
- QBOPAYMENT#<realm>#<qbo payment id> / CREDIT_APPLICATION
                                                     a Payment a copy made to apply a credit memo to its
                                                     parent invoice (payment sync never mirrors it)
- CONNECTION#<connection> / CUSTOMER#<company>#<cur> the QuickBooks customer of a Productive company
- CONNECTION#<connection> / PROJECT#<project>#<cur>  the QuickBooks sub-customer of a Productive project
- CONNECTION#<connection> / CACHE#<key>              small facts read from QuickBooks once (written with
                                                     the first copy that used them)"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from qbosync.adapters.dynamodb_activity import activity_item
from qbosync.adapters.dynamodb_common import is_conditional_failure, query_all
from qbosync.adapters.dynamodb_lease import Clause, Lease
from qbosync.domain.activity import Activity
from qbosync.domain.copies import (
    AttentionItem,
    CopyFlag,
    CopyRecord,
    CopyWarning,
    CreditApplication,
    CustomerMapping,
    InvoiceHead,
    PendingCopy,
    QuickBooksType,
)

# The per-invoice copy lock on the HEAD item (docs/decisions/0002-head-lock-and-copy-marker.md).
COPY_LOCK = Lease(owner_attribute="lock_owner", until_attribute="lock_until")


def _invoice_pk(connection_id: str, invoice_id: str) -> str:
    return f"INVOICE#{connection_id}#{invoice_id}"


def _head_key(connection_id: str, invoice_id: str) -> dict[str, str]:
    return {"pk": _invoice_pk(connection_id, invoice_id), "sk": "HEAD"}


# The index of QuickBooks objects we made, per type: its partition prefix and its item `type`.
_OBJECT_INDEX: dict[str, tuple[str, str]] = {
    "Invoice": ("QBOINVOICE", "quickbooks_invoice"),
    "CreditMemo": ("QBOCREDITMEMO", "quickbooks_credit_memo"),
}


def _object_key(realm_id: str, quickbooks_type: QuickBooksType, quickbooks_id: str) -> dict[str, str]:
    return {"pk": f"{_OBJECT_INDEX[quickbooks_type][0]}#{realm_id}#{quickbooks_id}", "sk": "COPY"}


def _credit_application_key(realm_id: str, quickbooks_payment_id: str) -> dict[str, str]:
    return {"pk": f"QBOPAYMENT#{realm_id}#{quickbooks_payment_id}", "sk": "CREDIT_APPLICATION"}


def _flag_sk(sequence: int, flag: CopyFlag) -> str:
    return f"{_copy_sk(sequence)}#FLAG#{flag.kind}#{flag.version}"


def _copy_sk(sequence: int) -> str:
    return f"COPY#{sequence:06d}"


INDEX = "gsi1"


class DynamoCopyRepository:
    def __init__(self, table: Any):
        self._table = table

    # -- history ---------------------------------------------------------------------------------

    def history(self, connection_id: str, invoice_id: str) -> list[CopyRecord]:
        items = query_all(
            self._table,
            KeyConditionExpression=Key("pk").eq(_invoice_pk(connection_id, invoice_id))
            & Key("sk").begins_with("COPY#"),
            ScanIndexForward=False,
            ConsistentRead=True,
        )
        return self._records(items)

    def copy(self, connection_id: str, invoice_id: str, sequence: int) -> CopyRecord | None:
        return self._copy(connection_id, invoice_id, sequence, consistent=True)

    def _copy(self, connection_id: str, invoice_id: str, sequence: int, *, consistent: bool) -> CopyRecord | None:
        """The copy and its flags: its item and the flag items sorting right after it."""
        items = query_all(
            self._table,
            KeyConditionExpression=Key("pk").eq(_invoice_pk(connection_id, invoice_id))
            & Key("sk").begins_with(_copy_sk(sequence)),
            ConsistentRead=consistent,
        )
        records = self._records(items)
        return records[0] if records else None

    def _records(self, items: list[dict[str, Any]]) -> list[CopyRecord]:
        """Copy records, newest first, each with its flags (newest first)."""
        flags: dict[int, list[CopyFlag]] = {}
        copies: list[dict[str, Any]] = []
        for item in items:
            if item.get("type") == "copy_flag":
                flags.setdefault(int(item["sequence"]), []).append(self._to_flag(item))
            elif item.get("type") == "copy":
                copies.append(item)
        copies.sort(key=lambda item: int(item["sequence"]), reverse=True)
        return [
            replace(
                copy_from_item(item),
                flags=tuple(sorted(flags.get(int(item["sequence"]), []), key=lambda f: f.detected_at, reverse=True)),
            )
            for item in copies
        ]

    def complete(
        self,
        record: CopyRecord,
        *,
        mappings: Sequence[CustomerMapping] = (),
        cache: Mapping[str, str] | None = None,
        resolves: Sequence[CopyFlag] = (),
        activity: Activity | None = None,
    ) -> None:
        pk = _invoice_pk(record.connection_id, record.invoice_id)
        with self._table.batch_writer() as batch:  # one BatchWriteItem call
            for flag in resolves:
                batch.delete_item(Key={"pk": pk, "sk": _flag_sk(record.sequence, flag)})
            for key, value in (cache or {}).items():
                connection_pk = f"CONNECTION#{record.connection_id}"
                batch.put_item(Item={"pk": connection_pk, "sk": f"CACHE#{key}", "type": "cache", "value": value})
            batch.put_item(Item=copy_to_item(record))
            for warning in record.warnings:
                if warning.code == "total_mismatch":  # on the attention list too
                    mismatch = CopyFlag("total_mismatch", record.updated_at, record.sync_token, dict(warning.details))
                    batch.put_item(Item=self._flag_item(record, mismatch))
            batch.put_item(
                Item={
                    **_object_key(record.realm_id, record.quickbooks_type, record.quickbooks_id),
                    "type": _OBJECT_INDEX[record.quickbooks_type][1],
                    "connection_id": record.connection_id,
                    "invoice_id": record.invoice_id,
                    "sequence": record.sequence,
                }
            )
            for mapping in mappings:
                batch.put_item(Item={**_mapping_key(record.connection_id, mapping), "customer_id": mapping.customer_id})
            # The invoice's state: this copy is the last, nothing is in flight, and the lock is free.
            batch.put_item(Item={"pk": pk, "sk": "HEAD", "type": "invoice_head", "last_sequence": record.sequence})
            if activity is not None:  # the activity log's entry: no write of its own
                batch.put_item(Item=activity_item(activity))

    @staticmethod
    def _flag_item(record: CopyRecord, flag: CopyFlag) -> dict[str, Any]:
        detected_at = flag.detected_at.isoformat()
        return {
            "pk": _invoice_pk(record.connection_id, record.invoice_id),
            "sk": _flag_sk(record.sequence, flag),
            "type": "copy_flag",
            "connection_id": record.connection_id,
            "invoice_id": record.invoice_id,
            "sequence": record.sequence,
            "copy_id": record.copy_id,
            "quickbooks_type": record.quickbooks_type,
            "quickbooks_id": record.quickbooks_id,
            "kind": flag.kind,
            "version": flag.version,
            "detected_at": detected_at,
            "details": flag.details,
            "gsi1pk": f"ATTENTION#{record.connection_id}",
            "gsi1sk": f"{detected_at}#{record.invoice_id}#{record.sequence:06d}#{flag.kind}",
        }

    @staticmethod
    def _to_flag(item: dict[str, Any]) -> CopyFlag:
        return CopyFlag(
            kind=item["kind"],
            detected_at=datetime.fromisoformat(item["detected_at"]),
            version=str(item["version"]),
            details=_plain(item.get("details") or {}),
        )

    # -- flags -----------------------------------------------------------------------------------

    def flag(self, connection_id: str, invoice_id: str, sequence: int, flag: CopyFlag) -> bool:
        record = self._copy(connection_id, invoice_id, sequence, consistent=True)
        if record is None:
            return False
        try:
            self._table.put_item(Item=self._flag_item(record, flag), ConditionExpression="attribute_not_exists(pk)")
        except ClientError as error:
            if is_conditional_failure(error):
                return False  # this kind was already flagged for this QuickBooks version
            raise
        return True

    def attention(self, connection_id: str, limit: int) -> list[AttentionItem]:
        items = query_all(
            self._table,
            IndexName=INDEX,
            KeyConditionExpression=Key("gsi1pk").eq(f"ATTENTION#{connection_id}"),
            ScanIndexForward=False,
        )
        found: dict[tuple[str, int], AttentionItem] = {}
        for item in items:  # newest flag first, so copies come in the order of their newest flag
            key = (str(item["invoice_id"]), int(item["sequence"]))
            entry = found.get(key)
            if entry is None:
                if len(found) == limit:
                    continue
                entry = AttentionItem(
                    invoice_id=key[0],
                    copy_id=str(item["copy_id"]),
                    quickbooks_type=item["quickbooks_type"],
                    quickbooks_id=str(item["quickbooks_id"]),
                    flags=(),
                )
            found[key] = replace(entry, flags=(*entry.flags, self._to_flag(item)))
        return list(found.values())

    # -- the lock and the create in flight (the HEAD item) -----------------------------------------

    def lock(
        self,
        connection_id: str,
        invoice_id: str,
        owner: str,
        now: datetime,
        until: datetime,
        *,
        pending_since: datetime | None = None,
    ) -> InvoiceHead | None:
        also_set = Clause("#type = :type", {"#type": "type"}, {":type": "invoice_head"})
        if pending_since is not None:
            # The create in flight is copy last_sequence + 1 (complete() clears it as it moves
            # last_sequence on), so only its start is stored; an earlier request's stays as it was.
            attempt = {"started_at": pending_since.isoformat()}
            recorded = Clause("pending = if_not_exists(pending, :pending)", values={":pending": attempt})
            also_set = Clause.join(", ", also_set, recorded)
        old = COPY_LOCK.acquire(self._table, _head_key(connection_id, invoice_id), owner, now, until, also_set=also_set)
        if old is None:
            return None
        last_sequence = int(old.get("last_sequence", 0))
        stored = old.get("pending")
        if stored:
            sequence = int(stored.get("sequence", last_sequence + 1))
            pending = PendingCopy.starting(
                connection_id, invoice_id, sequence, datetime.fromisoformat(stored["started_at"])
            )
            # Items written before the sequence was derived carry their own requestid and marker.
            pending = replace(
                pending,
                request_id=stored.get("request_id", pending.request_id),
                marker=stored.get("marker", pending.marker),
            )
            return InvoiceHead(last_sequence=last_sequence, pending=pending)
        if pending_since is not None:
            return InvoiceHead(
                last_sequence=last_sequence,
                pending=PendingCopy.starting(connection_id, invoice_id, last_sequence + 1, pending_since),
                pending_is_new=True,
            )
        return InvoiceHead(last_sequence=last_sequence, pending=None)

    def unlock(self, connection_id: str, invoice_id: str, owner: str, *, drop_pending: bool = False) -> None:
        COPY_LOCK.release(
            self._table, _head_key(connection_id, invoice_id), owner, also_remove=("pending",) if drop_pending else ()
        )

    def forget(self, connection_id: str, invoice_id: str, owner: str) -> None:
        COPY_LOCK.release_deleting(
            self._table,
            _head_key(connection_id, invoice_id),
            owner,
            only_if=Clause("attribute_not_exists(last_sequence)"),
        )

    def copy_of_quickbooks_invoice(self, realm_id: str, quickbooks_invoice_id: str) -> CopyRecord | None:
        """The copy a QuickBooks invoice was made as, if this service made it (payment sync)."""
        return self.copy_of_quickbooks_object(realm_id, "Invoice", quickbooks_invoice_id)

    def copy_of_quickbooks_object(
        self, realm_id: str, quickbooks_type: QuickBooksType, quickbooks_id: str
    ) -> CopyRecord | None:
        """The copy a QuickBooks invoice or credit memo was made as, if this service made it."""
        index = self._table.get_item(Key=_object_key(realm_id, quickbooks_type, quickbooks_id)).get("Item")
        if not index:
            return None
        return self._copy(
            str(index["connection_id"]), str(index["invoice_id"]), int(index["sequence"]), consistent=False
        )

    def record_credit_application(
        self, realm_id: str, quickbooks_payment_id: str, *, connection_id: str, invoice_id: str, sequence: int
    ) -> None:
        self._table.put_item(
            Item={
                **_credit_application_key(realm_id, quickbooks_payment_id),
                "type": "credit_application",
                "connection_id": connection_id,
                "invoice_id": invoice_id,
                "sequence": sequence,
            }
        )

    def is_our_credit_application(self, realm_id: str, quickbooks_payment_id: str) -> bool:
        item = self._table.get_item(Key=_credit_application_key(realm_id, quickbooks_payment_id)).get("Item")
        return item is not None

    # -- customers and small caches --------------------------------------------------------------

    def customer_for(self, connection_id: str, company_id: str, currency: str) -> str | None:
        item = self._table.get_item(
            Key={"pk": f"CONNECTION#{connection_id}", "sk": f"CUSTOMER#{company_id}#{currency}"}
        ).get("Item")
        return str(item["customer_id"]) if item else None

    def project_customer_for(self, connection_id: str, project_id: str, currency: str) -> str | None:
        item = self._table.get_item(
            Key={"pk": f"CONNECTION#{connection_id}", "sk": f"PROJECT#{project_id}#{currency}"}
        ).get("Item")
        return str(item["customer_id"]) if item else None

    def cached(self, connection_id: str, key: str) -> str | None:
        item = self._table.get_item(Key={"pk": f"CONNECTION#{connection_id}", "sk": f"CACHE#{key}"}).get("Item")
        return str(item["value"]) if item else None


# A customer mapping's sort key prefix and item type, per kind.
_MAPPINGS = {"client": ("CUSTOMER", "customer_mapping"), "project": ("PROJECT", "project_customer_mapping")}


def _mapping_key(connection_id: str, mapping: CustomerMapping) -> dict[str, str]:
    prefix, item_type = _MAPPINGS[mapping.kind]
    return {
        "pk": f"CONNECTION#{connection_id}",
        "sk": f"{prefix}#{mapping.productive_id}#{mapping.currency}",
        "type": item_type,
    }


def copy_to_item(record: CopyRecord) -> dict[str, Any]:
    """A copy as its DynamoDB item (the copy job items keep the same map)."""
    item: dict[str, Any] = {
        "pk": _invoice_pk(record.connection_id, record.invoice_id),
        "sk": f"COPY#{record.sequence:06d}",
        "type": "copy",
        "connection_id": record.connection_id,
        "invoice_id": record.invoice_id,
        "sequence": record.sequence,
        "copy_id": record.copy_id,
        "quickbooks_type": record.quickbooks_type,
        "quickbooks_id": record.quickbooks_id,
        "doc_number": record.doc_number,
        "total_amount": record.total_amount,
        "currency": record.currency,
        "quickbooks_url": record.quickbooks_url,
        "mode": record.mode,
        "created_at": record.created_at.isoformat(),
        "updated_at": record.updated_at.isoformat(),
        "sync_token": record.sync_token,
        "customer_id": record.customer_id,
        "realm_id": record.realm_id,
        "update_count": record.update_count,
        "warnings": [{"code": w.code, "message": w.message, "details": w.details} for w in record.warnings],
    }
    for name in ("lines_digest", "details_digest"):
        if (digest := getattr(record, name)) is not None:
            item[name] = digest
    if record.quickbooks_type == "Invoice":
        item["quickbooks_invoice_id"] = record.quickbooks_id  # what copies stored before credit memos
    if (application := record.credit_application) is not None:
        item["credit_application"] = {
            "payment_id": application.payment_id,
            "quickbooks_invoice_id": application.quickbooks_invoice_id,
            "amount": application.amount,
            "sync_token": application.sync_token,
        }
    return item


def copy_from_item(item: dict[str, Any]) -> CopyRecord:
    return CopyRecord(
        connection_id=item["connection_id"],
        invoice_id=item["invoice_id"],
        sequence=int(item["sequence"]),
        copy_id=item["copy_id"],
        quickbooks_id=str(item.get("quickbooks_id") or item["quickbooks_invoice_id"]),
        doc_number=item.get("doc_number"),
        total_amount=Decimal(str(item["total_amount"])),
        currency=item["currency"],
        quickbooks_url=item["quickbooks_url"],
        mode=item["mode"],
        created_at=datetime.fromisoformat(item["created_at"]),
        updated_at=datetime.fromisoformat(item["updated_at"]),
        sync_token=item["sync_token"],
        customer_id=item["customer_id"],
        realm_id=item["realm_id"],
        warnings=tuple(
            CopyWarning(code=w["code"], message=w["message"], details=dict(w.get("details") or {}))
            for w in item.get("warnings", [])
        ),
        update_count=int(item.get("update_count", 0)),
        quickbooks_type="CreditMemo" if item.get("quickbooks_type") == "CreditMemo" else "Invoice",
        credit_application=_credit_application(item.get("credit_application")),
        lines_digest=item.get("lines_digest"),
        details_digest=item.get("details_digest"),
    )


def _credit_application(stored: Any) -> CreditApplication | None:
    if not stored:
        return None
    return CreditApplication(
        payment_id=str(stored["payment_id"]),
        quickbooks_invoice_id=str(stored["quickbooks_invoice_id"]),
        amount=Decimal(str(stored["amount"])),
        sync_token=str(stored["sync_token"]),
    )


def _plain(value: Any) -> Any:
    """DynamoDB's Decimals back to what was stored (flag details hold strings, lists and maps)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    return value
