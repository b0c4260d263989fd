"""The local gateway against a fixture template and fixture handlers, over real HTTP."""

from __future__ import annotations

import base64
import http.client
import json
import logging
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from local.gateway import MAX_BODY_BYTES, LocalGateway, build_http_event, find_route, http_result
from local.template import REPO_ROOT, load_template


def _echo(gateway: LocalGateway, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    response = httpx.request(method, gateway.url + path, **kwargs)
    assert response.status_code == 200, response.text
    event: dict[str, Any] = response.json()
    return event


def _raw(gateway: LocalGateway, method: str, target: str, headers: list[tuple[str, str]], body: bytes = b"") -> Any:
    parts = urlsplit(gateway.url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    connection.putrequest(method, target, skip_accept_encoding=True)
    for name, value in headers:
        connection.putheader(name, value)
    connection.putheader("Content-Length", str(len(body)))
    connection.endheaders(body)
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response, data


# --------------------------------------------------------------------------- routing


def test_path_parameters_and_route_key(gateway: LocalGateway) -> None:
    event = _echo(gateway, "GET", "/items/abc%20d")
    assert event["routeKey"] == "GET /items/{item_id}"
    assert event["pathParameters"] == {"item_id": "abc d"}
    assert event["rawPath"] == "/items/abc%20d"
    assert event["requestContext"]["http"]["path"] == "/items/abc%20d"
    assert event["requestContext"]["routeKey"] == "GET /items/{item_id}"


def test_literal_route_beats_parameter(gateway: LocalGateway) -> None:
    event = _echo(gateway, "GET", "/items/special")
    assert event["routeKey"] == "GET /items/special"
    assert "pathParameters" not in event


def test_two_parameters(gateway: LocalGateway) -> None:
    event = _echo(gateway, "GET", "/items/7/parts/9")
    assert event["pathParameters"] == {"item_id": "7", "part_id": "9"}


def test_greedy_parameter_and_any_method(gateway: LocalGateway) -> None:
    event = _echo(gateway, "DELETE", "/files/a/b/c.txt")
    assert event["routeKey"] == "ANY /files/{path+}"
    assert event["pathParameters"] == {"path": "a/b/c.txt"}
    assert event["requestContext"]["http"]["method"] == "DELETE"


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/nothing"), ("DELETE", "/items/1"), ("GET", "/items"), ("GET", "/items/1/extra"), ("GET", "/files")],
)
def test_no_route_is_404(gateway: LocalGateway, method: str, path: str) -> None:
    response = httpx.request(method, gateway.url + path)
    assert response.status_code == 404
    assert response.json() == {"message": "Not Found"}


def test_find_route_prefers_specific_routes() -> None:
    from local.gateway import CompiledRoute
    from local.template import HttpRoute

    routes = [
        CompiledRoute.of(HttpRoute("ANY", "$default", "Fallback", "Default")),
        CompiledRoute.of(HttpRoute("ANY", "/a/{x}", "AnyX", "E1")),
        CompiledRoute.of(HttpRoute("GET", "/a/{x}", "GetX", "E2")),
        CompiledRoute.of(HttpRoute("GET", "/a/b", "GetB", "E3")),
        CompiledRoute.of(HttpRoute("GET", "/a/{rest+}", "Greedy", "E4")),
    ]
    assert find_route(routes, "GET", "/a/b") == (routes[3].route, {})
    assert find_route(routes, "GET", "/a/c") == (routes[2].route, {"x": "c"})
    assert find_route(routes, "POST", "/a/c") == (routes[1].route, {"x": "c"})
    assert find_route(routes, "GET", "/a/c/d") == (routes[4].route, {"rest": "c/d"})
    assert find_route(routes, "GET", "/zzz") == (routes[0].route, {})


# --------------------------------------------------------------------------- the event


def test_query_string(gateway: LocalGateway) -> None:
    event = _echo(gateway, "GET", "/items/1?a=1&a=2&b=&c=x%20y")
    assert event["rawQueryString"] == "a=1&a=2&b=&c=x%20y"
    assert event["queryStringParameters"] == {"a": "1,2", "b": "", "c": "x y"}


def test_no_query_string(gateway: LocalGateway) -> None:
    event = _echo(gateway, "GET", "/items/1")
    assert event["rawQueryString"] == ""
    assert "queryStringParameters" not in event


def test_headers_lowercase_joined_and_cookies(gateway: LocalGateway) -> None:
    response, data = _raw(
        gateway,
        "GET",
        "/items/1",
        [("X-Repeated", "one"), ("X-Repeated", "two"), ("User-Agent", "tester/1"), ("Cookie", "a=1; b=2")],
    )
    assert response.status == 200
    event = json.loads(data)
    assert event["headers"]["x-repeated"] == "one,two"
    assert event["cookies"] == ["a=1", "b=2"]
    assert "cookie" not in event["headers"]
    assert all(name == name.lower() for name in event["headers"])
    assert event["requestContext"]["http"]["userAgent"] == "tester/1"
    assert event["requestContext"]["http"]["sourceIp"] == "127.0.0.1"
    assert event["headers"]["x-forwarded-for"] == "127.0.0.1"


def test_request_context(gateway: LocalGateway) -> None:
    event = _echo(gateway, "GET", "/items/1")
    context = event["requestContext"]
    assert event["version"] == "2.0"
    assert context["stage"] == "$default"
    assert context["accountId"] == "123456789012"
    assert context["apiId"] == "local"
    assert context["domainName"] == urlsplit(gateway.url).netloc
    assert context["http"]["protocol"] == "HTTP/1.1"
    assert isinstance(context["timeEpoch"], int)
    assert context["requestId"]
    assert event["isBase64Encoded"] is False
    assert "body" not in event


def test_json_body_is_text(gateway: LocalGateway) -> None:
    event = _echo(gateway, "POST", "/items", json={"name": "ä"})
    assert event["isBase64Encoded"] is False
    assert json.loads(event["body"]) == {"name": "ä"}


@pytest.mark.parametrize(
    "content_type", ["application/octet-stream", "application/pdf", "application/x-www-form-urlencoded", None]
)
def test_other_bodies_are_base64(gateway: LocalGateway, content_type: str | None) -> None:
    raw = bytes(range(256))
    headers = {"content-type": content_type} if content_type else {}
    event = _echo(gateway, "POST", "/items", content=raw, headers=headers)
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == raw


def test_text_body_that_is_not_utf8_is_base64(gateway: LocalGateway) -> None:
    event = _echo(gateway, "POST", "/items", content=b"\xff\xfe", headers={"content-type": "text/plain"})
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\xff\xfe"


def test_binary_response(gateway: LocalGateway) -> None:
    response = httpx.post(gateway.url + "/binary", content=b"\x00\x01\x02", headers={"content-type": "image/png"})
    assert response.status_code == 200
    assert response.content == b"\x02\x01\x00"
    assert response.headers["content-type"] == "application/octet-stream"


def test_headers_multi_value_headers_and_cookies_in_response(gateway: LocalGateway) -> None:
    response = httpx.get(gateway.url + "/cookies")
    assert response.status_code == 204
    assert response.headers["x-single"] == "1"
    assert response.headers.get_list("x-multi") == ["a", "b"]
    assert response.headers.get_list("set-cookie") == ["a=1; Path=/", "b=2; HttpOnly"]
    assert response.headers["apigw-requestid"]


def test_result_without_status_code_is_a_json_200(gateway: LocalGateway) -> None:
    response = httpx.get(gateway.url + "/plain")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"answer": 42}


# --------------------------------------------------------------------------- failures


def test_body_over_10_mb_is_413(gateway: LocalGateway) -> None:
    response = httpx.post(gateway.url + "/items", content=b"x" * (MAX_BODY_BYTES + 1), timeout=60)
    assert response.status_code == 413
    assert response.json() == {"message": "Request Entity Too Large"}


def test_body_of_exactly_10_mb_passes(gateway: LocalGateway) -> None:
    response = httpx.post(
        gateway.url + "/binary", content=b"y" * MAX_BODY_BYTES, headers={"content-type": "text/plain"}, timeout=60
    )
    assert response.status_code == 200
    assert len(response.content) == MAX_BODY_BYTES


def test_handler_exception_is_500_and_logged(gateway: LocalGateway, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="local.gateway"):
        response = httpx.get(gateway.url + "/boom")
    assert response.status_code == 500
    assert response.json() == {"message": "Internal Server Error"}
    assert any("boom" in (record.exc_text or "") or record.exc_info for record in caplog.records)


def test_handler_timeout_is_500(gateway: LocalGateway) -> None:
    response = httpx.get(gateway.url + "/slow", timeout=30)
    assert response.status_code == 500
    assert response.json() == {"message": "Internal Server Error"}


def test_malformed_response_is_500(gateway: LocalGateway, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="local.gateway"):
        response = httpx.get(gateway.url + "/malformed")
    assert response.status_code == 500
    assert any("body must be a string" in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize(
    "result",
    [
        {"statusCode": "200", "body": "x"},
        {"statusCode": 200, "body": ["x"]},
        {"statusCode": 200, "headers": {"a": ["b"]}},
        {"statusCode": 200, "cookies": "a=1"},
        {"statusCode": 200, "body": "not base64!", "isBase64Encoded": True},
        {"statusCode": 99},
    ],
)
def test_malformed_results_are_rejected(result: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"\w"):
        http_result(result)


# --------------------------------------------------------------------------- context, environment, direct calls


def test_context_and_environment(gateway: LocalGateway) -> None:
    response = httpx.get(gateway.url + "/context")
    seen = response.json()
    assert seen["function_name"] == "EchoFunction"
    assert seen["memory_limit_in_mb"] == 256
    assert seen["invoked_function_arn"].endswith(":function:EchoFunction")
    assert 0 < seen["remaining_ms"] <= 2000
    assert seen["env"] == {
        "FIXTURE_STAGE": "test",
        "FIXTURE_GREETING": "hello-test",
        "FIXTURE_ECHO_ONLY": "echo",
        "FIXTURE_OVERRIDE": "from-caller",
    }


def test_invoke_directly(gateway: LocalGateway) -> None:
    event = json.loads((REPO_ROOT / "events/connections/get_connection.json").read_text())
    event["rawPath"] = "/items/1"
    result = gateway.invoke("EchoFunction", event)
    assert json.loads(result["body"])["routeKey"] == event["routeKey"]
    with pytest.raises(KeyError):
        gateway.invoke("NoSuchFunction", {})


def test_run_schedule_v2_renders_the_input(gateway: LocalGateway) -> None:
    result = gateway.run_schedule("TickFunction", "EveryMinute")
    event = result["event"]
    assert event["stage"] == "test"
    assert event["time"].endswith("Z")
    assert "<aws.scheduler" not in json.dumps(event)


def test_run_classic_schedule_sends_a_scheduled_event(gateway: LocalGateway) -> None:
    event = gateway.run_schedule("TickFunction", "Classic")["event"]
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["detail"] == {}


def test_run_schedule_of_a_function_without_one(gateway: LocalGateway) -> None:
    with pytest.raises(KeyError):
        gateway.run_schedule("EchoFunction")


# --------------------------------------------------------------------------- events like the samples


def test_built_events_have_the_shape_of_the_sample_events() -> None:
    sample = json.loads((REPO_ROOT / "events/connections/list_customers.json").read_text())
    built = build_http_event(
        method="GET",
        raw_path=sample["rawPath"],
        raw_query_string=sample["rawQueryString"],
        headers=sample["headers"],
        route_key=sample["routeKey"],
        path_parameters=sample["pathParameters"],
    )
    assert set(built) == set(sample)
    assert set(built["requestContext"]) == set(sample["requestContext"])
    assert set(built["requestContext"]["http"]) == set(sample["requestContext"]["http"])
    assert built["queryStringParameters"] == sample["queryStringParameters"]


def test_gateway_serves_every_route_of_the_real_template() -> None:
    template = load_template()
    gateway = LocalGateway()
    keys = {route.route_key for route in gateway.routes}
    assert "GET /oauth/callback" in keys
    assert len(keys) == sum(
        1
        for resource in template["Resources"].values()
        for event in resource.get("Properties", {}).get("Events", {}).values()
        if event["Type"] == "HttpApi"
    )


def test_trailing_slash_is_a_different_path(gateway: LocalGateway) -> None:
    assert httpx.get(gateway.url + "/items/1/").status_code == 404
    assert httpx.get(gateway.url + "/boom/").status_code == 404
