"""Copy jobs in the single table (docs/architecture.md "Copy jobs"):

- COPYJOB#<job> / JOB                 the job: connection, mode, status, counters, times, rounds; on gsi1 as
                                      COPYJOBS#<connection> / <created at>#<job>, the connection's jobs
- COPYJOB#<job> / ITEM#<invoice>      one invoice: position, status, the copy (as its copy item holds it)
                                      or the error
- COPYJOB#<job> / BATCH#<number>      a batch request recorded before it was sent: requestid, invoice ids
- INVOICE#<connection>#<invoice> / COPYJOB
                                      the invoice's claim: the queued or running job holding it, released
                                      in the transaction that settles its item

A failed item's activity entry (copy_failed) is put in the transaction that settles it, and the job's
(copy_job) in the one that finishes it: each is written once, however often a worker runs again.

Every item expires (TTL) 90 days after the job was created; a claim after 2 days at the latest."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from qbosync.adapters.dynamodb_activity import activity_item
from qbosync.adapters.dynamodb_common import is_conditional_failure, query_all
from qbosync.adapters.dynamodb_copies import copy_from_item, copy_to_item
from qbosync.domain.activity import Activity
from qbosync.domain.copies import CopyRecord
from qbosync.domain.copy_jobs import CopyJob, CopyJobItem, InvoicesInRunningJob, ItemError, SentBatch

INDEX = "gsi1"
KEEP_JOBS = timedelta(days=90)
KEEP_CLAIMS = timedelta(days=2)
#: A claim whose job was never written (its request died between the two) frees its invoice after this.
ORPHAN_CLAIM_AGE = timedelta(minutes=5)
TRANSACTION_ITEMS = 100  # DynamoDB's limit per TransactWriteItems
BATCH_GET_KEYS = 100  # and per BatchGetItem


def _job_pk(job_id: str) -> str:
    return f"COPYJOB#{job_id}"


def _claim_key(connection_id: str, invoice_id: str) -> dict[str, str]:
    return {"pk": f"INVOICE#{connection_id}#{invoice_id}", "sk": "COPYJOB"}


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


class DynamoCopyJobRepository:
    def __init__(self, table: Any) -> None:
        self._table = table
        # The Table's own client: it converts Python values to DynamoDB's typed ones, as the Table does.
        self._client = table.meta.client

    # -- submit ----------------------------------------------------------------------------------

    def create(self, job: CopyJob, invoice_ids: Sequence[str], now: datetime) -> CopyJob:
        existing = self.get(job.job_id, with_items=False)
        if existing is not None:
            return existing
        self._claim(job, invoice_ids, now)
        expires_at = _epoch(job.created_at + KEEP_JOBS)
        with self._table.batch_writer() as batch:
            for position, invoice_id in enumerate(invoice_ids):
                batch.put_item(
                    Item={
                        "pk": _job_pk(job.job_id),
                        "sk": f"ITEM#{invoice_id}",
                        "type": "copy_job_item",
                        "invoice_id": invoice_id,
                        "position": position,
                        "status": "pending",
                        "expires_at": expires_at,
                    }
                )
        try:
            self._table.put_item(Item=self._job_item(job), ConditionExpression="attribute_not_exists(pk)")
        except ClientError as error:
            if not is_conditional_failure(error):
                raise
        created = self.get(job.job_id, with_items=False)
        assert created is not None
        return created

    def _claim(self, job: CopyJob, invoice_ids: Sequence[str], now: datetime) -> None:
        """Every invoice's claim for this job, or InvoicesInRunningJob naming those another job holds
        (after which this job holds none)."""
        held = self._claims(job.connection_id, invoice_ids)
        others = {invoice_id: claim for invoice_id, claim in held.items() if claim["job_id"] != job.job_id}
        orphans = self._orphans(others, now)
        taken = sorted(set(others) - set(orphans))
        if taken:
            raise InvoicesInRunningJob(taken)
        writes = [
            {
                "Put": {
                    "TableName": self._table.name,
                    "Item": {
                        **_claim_key(job.connection_id, invoice_id),
                        "type": "copy_job_claim",
                        "job_id": job.job_id,
                        "claimed_at": now.isoformat(),
                        "expires_at": _epoch(now + KEEP_CLAIMS),
                    },
                    "ConditionExpression": "attribute_not_exists(pk) OR job_id IN (:me, :orphan)",
                    "ExpressionAttributeValues": {":me": job.job_id, ":orphan": orphans.get(invoice_id, job.job_id)},
                }
            }
            for invoice_id in invoice_ids
        ]
        for start in range(0, len(writes), TRANSACTION_ITEMS):
            chunk = writes[start : start + TRANSACTION_ITEMS]
            try:
                self._client.transact_write_items(TransactItems=chunk)
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                    raise
                reasons = error.response.get("CancellationReasons") or []
                lost = [
                    invoice_ids[start + index]
                    for index, reason in enumerate(reasons)
                    if reason.get("Code") == "ConditionalCheckFailed"
                ]
                self._release(job, invoice_ids[: start + len(chunk)])
                if not lost:
                    raise
                raise InvoicesInRunningJob(lost) from error

    def _claims(self, connection_id: str, invoice_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(invoice_ids), BATCH_GET_KEYS):
            keys = [(_claim_key(connection_id, invoice_id)) for invoice_id in invoice_ids[start : start + 100]]
            request: dict[str, Any] = {self._table.name: {"Keys": keys, "ConsistentRead": True}}
            while request:
                answer = self._client.batch_get_item(RequestItems=request)
                for raw in answer.get("Responses", {}).get(self._table.name, []):
                    item = raw
                    found[str(item["pk"]).rsplit("#", 1)[1]] = item
                request = answer.get("UnprocessedKeys") or {}
        return found

    def _orphans(self, claims: dict[str, dict[str, Any]], now: datetime) -> dict[str, str]:
        """invoice id → job id, for the claims whose job was never written and that are old enough."""
        orphans: dict[str, str] = {}
        missing: dict[str, bool] = {}
        for invoice_id, claim in claims.items():
            job_id = str(claim["job_id"])
            if job_id not in missing:
                missing[job_id] = self._table.get_item(Key={"pk": _job_pk(job_id), "sk": "JOB"}).get("Item") is None
            claimed_at = datetime.fromisoformat(str(claim["claimed_at"]))
            if missing[job_id] and claimed_at < now - ORPHAN_CLAIM_AGE:
                orphans[invoice_id] = job_id
        return orphans

    def _release(self, job: CopyJob, invoice_ids: Sequence[str]) -> None:
        for invoice_id in invoice_ids:
            try:
                self._table.delete_item(
                    Key=_claim_key(job.connection_id, invoice_id),
                    ConditionExpression="job_id = :me",
                    ExpressionAttributeValues={":me": job.job_id},
                )
            except ClientError as error:
                if not is_conditional_failure(error):
                    raise

    @staticmethod
    def _job_item(job: CopyJob) -> dict[str, Any]:
        return {
            "pk": _job_pk(job.job_id),
            "sk": "JOB",
            "type": "copy_job",
            "job_id": job.job_id,
            "connection_id": job.connection_id,
            "mode": job.mode,
            "status": job.status,
            "total": job.total,
            "copied": job.copied,
            "failed": job.failed,
            "rounds": job.rounds,
            "created_at": job.created_at.isoformat(),
            "gsi1pk": f"COPYJOBS#{job.connection_id}",
            "gsi1sk": f"{job.created_at.isoformat()}#{job.job_id}",
            "expires_at": _epoch(job.created_at + KEEP_JOBS),
        }

    # -- reads -----------------------------------------------------------------------------------

    def get(self, job_id: str, *, with_items: bool) -> CopyJob | None:
        if not with_items:
            item = self._table.get_item(Key={"pk": _job_pk(job_id), "sk": "JOB"}, ConsistentRead=True).get("Item")
            return _job(item) if item else None
        items = query_all(self._table, KeyConditionExpression=Key("pk").eq(_job_pk(job_id)), ConsistentRead=True)
        head = next((item for item in items if item.get("type") == "copy_job"), None)
        if head is None:
            return None
        entries = [item for item in items if item.get("type") == "copy_job_item"]
        entries.sort(key=lambda item: int(item["position"]))
        return replace(_job(head), items=tuple(_entry(item) for item in entries))

    def recent(self, connection_id: str, limit: int) -> list[CopyJob]:
        items = query_all(
            self._table,
            at_most=limit,
            IndexName=INDEX,
            KeyConditionExpression=Key("gsi1pk").eq(f"COPYJOBS#{connection_id}"),
            ScanIndexForward=False,
        )
        return [_job(item) for item in items[:limit]]

    # -- the worker ------------------------------------------------------------------------------

    def start_round(self, job_id: str, now: datetime) -> int:
        answer = self._table.update_item(
            Key={"pk": _job_pk(job_id), "sk": "JOB"},
            UpdateExpression="SET started_at = if_not_exists(started_at, :now), #status = :running ADD rounds :one",
            ConditionExpression="attribute_exists(pk) AND #status <> :done",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":now": now.isoformat(), ":running": "running", ":done": "done", ":one": 1},
            ReturnValues="UPDATED_NEW",
        )
        return int(answer["Attributes"]["rounds"])

    def settle(
        self,
        job: CopyJob,
        invoice_id: str,
        *,
        copy: CopyRecord | None = None,
        error: ItemError | None = None,
        activity: Activity | None = None,
    ) -> bool:
        status, counter = ("copied", "copied") if copy is not None else ("failed", "failed")
        outcome: dict[str, Any] = {":status": status, ":pending": "pending"}
        if copy is not None:
            outcome[":outcome"] = {
                name: value for name, value in copy_to_item(copy).items() if name not in ("pk", "sk", "type")
            }
        else:
            assert error is not None
            outcome[":outcome"] = {"code": error.code, "message": error.message, "details": error.details}
        field = "copy" if copy is not None else "error"
        logged = [{"Put": {"TableName": self._table.name, "Item": activity_item(activity)}}] if activity else []
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": self._table.name,
                            "Key": {"pk": _job_pk(job.job_id), "sk": f"ITEM#{invoice_id}"},
                            "UpdateExpression": "SET #status = :status, #outcome = :outcome",
                            "ConditionExpression": "#status = :pending",
                            # COPY and ERROR are reserved words in expressions.
                            "ExpressionAttributeNames": {"#status": "status", "#outcome": field},
                            "ExpressionAttributeValues": outcome,
                        }
                    },
                    {
                        "Update": {
                            "TableName": self._table.name,
                            "Key": {"pk": _job_pk(job.job_id), "sk": "JOB"},
                            "UpdateExpression": f"ADD {counter} :one",
                            "ExpressionAttributeValues": {":one": 1},
                        }
                    },
                    {
                        "Delete": {
                            "TableName": self._table.name,
                            "Key": _claim_key(job.connection_id, invoice_id),
                            "ConditionExpression": "attribute_not_exists(pk) OR job_id = :job",
                            "ExpressionAttributeValues": {":job": job.job_id},
                        }
                    },
                    *logged,
                ]
            )
        except ClientError as failure:
            if failure.response.get("Error", {}).get("Code") == "TransactionCanceledException":
                return False  # settled already (a worker run again), or the claim is another job's
            raise
        return True

    def finish(self, job_id: str, now: datetime, *, activity: Activity | None = None) -> bool:
        done = {
            "TableName": self._table.name,
            "Key": {"pk": _job_pk(job_id), "sk": "JOB"},
            "UpdateExpression": "SET #status = :done, finished_at = :now",
            "ConditionExpression": "#status <> :done",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {":done": "done", ":now": now.isoformat()},
        }
        logged = [{"Put": {"TableName": self._table.name, "Item": activity_item(activity)}}] if activity else []
        try:
            self._client.transact_write_items(TransactItems=[{"Update": done}, *logged])
        except ClientError as failure:
            if failure.response.get("Error", {}).get("Code") == "TransactionCanceledException":
                return False  # finished already (a worker run again)
            raise
        return True

    def record_batch(self, job_id: str, batch: SentBatch) -> None:
        self._table.put_item(
            Item={
                "pk": _job_pk(job_id),
                "sk": f"BATCH#{batch.number:06d}",
                "type": "copy_job_batch",
                "number": batch.number,
                "request_id": batch.request_id,
                "invoice_ids": list(batch.invoice_ids),
                "recorded_at": batch.recorded_at.isoformat(),
                "answered": batch.answered,
                "expires_at": _epoch(batch.recorded_at + KEEP_JOBS),
            }
        )

    def batch_answered(self, job_id: str, number: int) -> None:
        self._table.update_item(
            Key={"pk": _job_pk(job_id), "sk": f"BATCH#{number:06d}"},
            UpdateExpression="SET answered = :yes",
            ExpressionAttributeValues={":yes": True},
        )

    def last_batch(self, job_id: str) -> SentBatch | None:
        answer = self._table.query(
            KeyConditionExpression=Key("pk").eq(_job_pk(job_id)) & Key("sk").begins_with("BATCH#"),
            ScanIndexForward=False,
            Limit=1,
            ConsistentRead=True,
        )
        items = answer.get("Items") or []
        if not items:
            return None
        item = items[0]
        return SentBatch(
            number=int(item["number"]),
            request_id=str(item["request_id"]),
            invoice_ids=tuple(str(i) for i in item["invoice_ids"]),
            recorded_at=datetime.fromisoformat(str(item["recorded_at"])),
            answered=bool(item["answered"]),
        )


def _job(item: dict[str, Any]) -> CopyJob:
    return CopyJob(
        job_id=str(item["job_id"]),
        connection_id=str(item["connection_id"]),
        mode=item["mode"],
        status=item["status"],
        total=int(item["total"]),
        created_at=datetime.fromisoformat(str(item["created_at"])),
        copied=int(item.get("copied", 0)),
        failed=int(item.get("failed", 0)),
        started_at=datetime.fromisoformat(str(item["started_at"])) if item.get("started_at") else None,
        finished_at=datetime.fromisoformat(str(item["finished_at"])) if item.get("finished_at") else None,
        rounds=int(item.get("rounds", 0)),
    )


def _entry(item: dict[str, Any]) -> CopyJobItem:
    copy = item.get("copy")
    error = item.get("error")
    return CopyJobItem(
        invoice_id=str(item["invoice_id"]),
        status=item["status"],
        copy=copy_from_item({**copy, "pk": "", "sk": ""}) if copy else None,
        error=ItemError(str(error["code"]), str(error["message"]), dict(error.get("details") or {})) if error else None,
    )
