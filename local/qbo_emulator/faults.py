"""QBO Fault bodies and the exception that carries them through the request handlers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from local.qbo_emulator.clock import qbo_fault_time


class QboFault(Exception):
    """A failure answered with a ``{"Fault": ...}`` body.

    ``errors`` is a list of (code, message, detail, element) tuples; most faults carry one.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        detail: str = "",
        *,
        fault_type: str = "ValidationFault",
        element: str = "",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{code} {message}: {detail}")
        self.status = status
        self.fault_type = fault_type
        self.errors: list[tuple[str, str, str, str]] = [(code, message, detail or message, element)]
        self.headers = headers or {}

    @property
    def code(self) -> str:
        return self.errors[0][0]

    def fault(self) -> dict[str, Any]:
        return {
            "Error": [
                {"Message": message, "Detail": detail, "code": code, "element": element}
                for code, message, detail, element in self.errors
            ],
            "type": self.fault_type,
        }

    def body(self, now: datetime) -> dict[str, Any]:
        return {"Fault": self.fault(), "time": qbo_fault_time(now)}


# --- constructors for the faults the emulator raises -------------------------------------------


def validation(code: str, message: str, detail: str = "", element: str = "") -> QboFault:
    return QboFault(400, code, message, detail, element=element)


def parse_error(detail: str) -> QboFault:
    return QboFault(400, "4000", "Error parsing query", f"QueryParserError: {detail}")


def query_validation(detail: str) -> QboFault:
    return QboFault(400, "4001", "Invalid query", f"QueryValidationError: {detail}")


def object_not_found(entity: str, object_id: str, status: int = 404) -> QboFault:
    return QboFault(
        status,
        "610",
        "Object Not Found",
        f"Object Not Found : Something you're trying to use has been made inactive or deleted. "
        f"{entity} with Id {object_id} was not found.",
    )


def invalid_reference(entity: str, object_id: str, element: str = "") -> QboFault:
    return QboFault(
        400,
        "2500",
        "Invalid Reference Id",
        f"Invalid Reference Id : {entity} assigned to this transaction has been deleted or does not exist "
        f"(Id {object_id}).",
        element=element,
    )


def inactive_reference(entity: str, object_id: str, element: str = "") -> QboFault:
    return QboFault(
        400,
        "610",
        "Object Not Found",
        f"Object Not Found : Something you're trying to use has been made inactive. "
        f"Check the fields with accounts, customers, items, vendors or employees. ({entity} {object_id})",
        element=element,
    )


def required_param(name: str, entity: str) -> QboFault:
    return QboFault(
        400,
        "2020",
        "Required param missing, need to supply the required value for the API",
        f"Required parameter {name} is missing in the request",
        element=name,
    )


def invalid_enum(name: str, value: object) -> QboFault:
    return QboFault(400, "2170", "Invalid Enumeration", f"Invalid Enumeration : {value} for {name}", element=name)


def request_has_invalid_or_unsupported(detail: str, element: str = "") -> QboFault:
    return QboFault(400, "2010", "Request has invalid or unsupported property", detail, element=element)


def business_validation(detail: str, element: str = "") -> QboFault:
    return QboFault(
        400, "6000", "A business validation error has occurred while processing your request", detail, element=element
    )


def stale_object(entity: str, object_id: str, current: str, sent: object) -> QboFault:
    return QboFault(
        400,
        "5010",
        "Stale Object Error",
        f"Stale Object Error : You and {entity} {object_id} were working on this at the same time. "
        f"{entity} finished before you did, so your work was not saved. (current SyncToken {current}, "
        f"sent {sent})",
    )


def duplicate_name(name: str, kind: str, existing_id: str) -> QboFault:
    return QboFault(
        400,
        "6240",
        "Duplicate Name Exists Error",
        f"The name supplied already exists. : Another customer, vendor or employee is already using this "
        f"name. Please use a different name. Id={existing_id} ({kind}: {name})",
    )


def duplicate_doc_number(doc_number: str, txn_type: str, txn_id: str) -> QboFault:
    return QboFault(
        400,
        "6140",
        "Duplicate Document Number Error",
        f"Duplicate Document Number Error : You must specify a different number. This number has already "
        f"been used. DocNumber={doc_number} is assigned to TxnType={txn_type} with TxnId={txn_id}",
    )


def unsupported_operation(detail: str, status: int = 400) -> QboFault:
    return QboFault(status, "500", "Unsupported Operation", detail)


def system_fault(status: int = 500, detail: str = "An application error has occurred.") -> QboFault:
    message = "An application error has occurred while processing your request"
    if status == 503:
        message = "Service Unavailable"
    return QboFault(status, "10000", message, detail, fault_type="SystemFault")


def throttled() -> QboFault:
    return QboFault(
        429,
        "3001",
        "message=ThrottleExceeded; errorCode=003001; statusCode=429",
        "The request limit has been exceeded. Wait 60 seconds and retry.",
        fault_type="SERVICE",
    )


# --- the 401/403 bodies of the API gateway, which Intuit sends with lowercase keys --------------


def gateway_auth_body(now: datetime, *, status: int, detail: str) -> dict[str, Any]:
    if status == 401:
        message = "message=AuthenticationFailed; errorCode=003200; statusCode=401"
        code, fault_type = "3200", "AUTHENTICATION"
    else:
        message = "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403"
        code, fault_type = "3100", "AUTHORIZATION"
    return {
        "warnings": None,
        "intuitObject": None,
        "fault": {
            "error": [{"message": message, "detail": detail, "code": code, "element": None}],
            "type": fault_type,
        },
        "report": None,
        "queryResponse": None,
        "batchItemResponse": [],
        "attachableResponse": [],
        "syncErrorResponse": None,
        "requestId": None,
        "time": int(now.timestamp() * 1000),
        "status": None,
        "cdcresponse": [],
    }
