"""JSON:API error documents, as Productive returns them."""

from __future__ import annotations

from typing import Any


def error_object(
    status: int,
    title: str,
    detail: str,
    *,
    pointer: str | None = None,
    parameter: str | None = None,
    code: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {"status": str(status), "title": title, "detail": detail}
    if code is not None:
        body["code"] = code
    if pointer is not None:
        body["source"] = {"pointer": pointer}
    elif parameter is not None:
        body["source"] = {"parameter": parameter}
    body.update(extra)
    return body


class ApiError(Exception):
    """Raised anywhere while serving a request; becomes an `{"errors": [...]}` response."""

    def __init__(self, status: int, errors: list[dict[str, Any]], *, headers: dict[str, str] | None = None) -> None:
        super().__init__(errors[0]["detail"] if errors else str(status))
        self.status = status
        self.errors = errors
        self.headers = headers or {}

    @classmethod
    def single(
        cls,
        status: int,
        title: str,
        detail: str,
        *,
        pointer: str | None = None,
        parameter: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> ApiError:
        return cls(
            status,
            [error_object(status, title, detail, pointer=pointer, parameter=parameter, code=code, **extra)],
            headers=headers,
        )


def not_found(resource_type: str, resource_id: str) -> ApiError:
    return ApiError.single(404, "Record Not Found", f"Couldn't find {resource_type} with id {resource_id!r}")


def bad_request(title: str, detail: str, *, parameter: str | None = None, code: str | None = None) -> ApiError:
    return ApiError.single(400, title, detail, parameter=parameter, code=code)


def invalid(detail: str, pointer: str) -> dict[str, Any]:
    return error_object(422, "Invalid Attribute", detail, pointer=pointer)
