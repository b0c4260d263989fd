"""`make local-stack` and everything `sam local` does up to Docker (README "With Docker: sam local").

Docker cannot run here, so each step before it is checked with SAM CLI's own code: the environment SAM
CLI computes for each function from the generated template and env.json, `sam local generate-event`, and
then each function run in a fresh interpreter with exactly that environment (tests/local/sam_harness.py)
against the stack's moto server and emulators."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

import pytest

from local.sam_local import call as call_command
from local.sam_local import sign as sign_command
from local.sam_local.__main__ import READY, commands, describe
from local.sam_local.environment import (
    BROWSER_URLS,
    DEFAULT_DOCKER_HOST,
    env_json,
    for_containers,
    sam_local_template,
    settings_model,
)
from local.sam_local.events import event_files, input_model, needs_signature, read_event
from local.sam_local.sign import sign_event, stack_keys
from local.sam_local.stack import SamLocalStack
from local.template import REPO_ROOT, FunctionSpec, get_function, list_functions, load_template
from qbosync.config import LOCAL_OVERRIDES
from qbosync.domain.signing import app_signature, intuit_webhook_signature
from tests.local import sam_harness

TEMPLATE = load_template()
FUNCTIONS = list_functions(TEMPLATE)
needs_sam = pytest.mark.skipif(not sam_harness.SAM.exists(), reason=".venv-sam (make tools) is not installed")

CONNECTION_ID = "c0a8f5e2-3b1d-4c6e-9f7a-2d4b6e8f0a1c"  # no such connection in a fresh stack
REALM_ID = "9341453012345678"  # no such company either
EMULATOR_URL_VARIABLES = {"QBO_TOKEN_URL", "QBO_REVOKE_URL", "QBO_API_BASE_URL", "PRODUCTIVE_API_BASE_URL"}


# --------------------------------------------------------------------------- the stack and SAM's view of it


@pytest.fixture(scope="module")
def sam_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SamLocalStack]:
    # The functions run on this machine here, so the "docker host" is this machine's loopback.
    with SamLocalStack(docker_host="127.0.0.1", output_dir=tmp_path_factory.mktemp("sam-local")) as stack:
        yield stack


@pytest.fixture(scope="module")
def sam_environments(sam_stack: SamLocalStack) -> dict[str, Any]:
    if not sam_harness.SAM_PYTHON.exists():
        pytest.skip(".venv-sam (make tools) is not installed")
    return sam_harness.sam_environments(sam_stack.files.template, sam_stack.files.env_json)


def _written_env_json(stack: SamLocalStack) -> dict[str, dict[str, str]]:
    value: dict[str, dict[str, str]] = json.loads(stack.files.env_json.read_text())
    return value


def assert_env_json_complete(entries: dict[str, dict[str, str]], local_hosts: set[str]) -> None:
    """Every function has an entry; each holds the template's variables and validates as the function's
    settings model; every URL the function calls is one of the local servers (never Intuit or Productive)."""
    assert set(entries) == {function.logical_id for function in FUNCTIONS}
    for function in FUNCTIONS:
        entry = entries[function.logical_id]
        assert set(function.environment) <= set(entry), function.logical_id
        model = settings_model(function)
        model.from_env(entry)  # a missing or invalid variable fails the cold start the same way
        read = model.variables() | set(function.environment)
        for name in read & (EMULATOR_URL_VARIABLES | LOCAL_OVERRIDES):
            if name != "QBO_APP_URL":  # only links for people: Intuit's sandbox app is fine
                assert urlsplit(entry[name]).hostname in local_hosts, (function.logical_id, name)
        assert urlsplit(entry["AWS_ENDPOINT_URL"]).hostname in local_hosts
        assert entry["AWS_ACCESS_KEY_ID"] == "testing"
        unread = set(entry) - read - {name for name in entry if name.startswith(("AWS_", "POWERTOOLS_"))}
        assert not unread, (function.logical_id, unread)


def test_env_json_covers_every_function_and_variable(sam_stack: SamLocalStack) -> None:
    assert_env_json_complete(_written_env_json(sam_stack), {"127.0.0.1"})


def test_env_json_values_are_the_stacks_own(sam_stack: SamLocalStack) -> None:
    entries = _written_env_json(sam_stack)
    table = sam_stack.aws.physical_ids["Table"]
    assert {entry["TABLE_NAME"] for entry in entries.values()} == {table}
    queue_url = sam_stack.aws.physical_ids["PaymentEventsQueue"]
    assert entries["PaymentWebhookFunction"]["PAYMENT_EVENTS_QUEUE_URL"] == queue_url
    assert entries["ConnectionsFunction"]["QBO_AUTHORIZE_URL"] == f"{sam_stack.qbo_url}/connect/oauth2"
    assert "PRODUCTIVE_API_BASE_URL" not in entries["ConnectionsFunction"]  # its settings do not read it
    assert entries["CopyInvoiceFunction"]["PRODUCTIVE_API_BASE_URL"] == sam_stack.productive_url


@needs_sam
def test_sam_cli_gives_each_function_exactly_its_env_json(
    sam_stack: SamLocalStack, sam_environments: dict[str, Any]
) -> None:
    entries = _written_env_json(sam_stack)
    assert set(sam_environments) == set(entries)
    for function_id, entry in entries.items():
        environment = sam_environments[function_id]["environment"]
        assert {name: environment.get(name) for name in entry} == entry, function_id


@needs_sam
def test_a_users_real_credentials_never_reach_the_functions(sam_stack: SamLocalStack) -> None:
    shell = {"AWS_ACCESS_KEY_ID": "AKIAREALKEY", "AWS_SECRET_ACCESS_KEY": "real", "AWS_SESSION_TOKEN": "real"}
    environments = sam_harness.sam_environments(sam_stack.files.template, sam_stack.files.env_json, shell)
    for function_id, seen in environments.items():
        credentials = {name: seen["environment"].get(name) for name in shell}
        assert credentials == dict.fromkeys(shell, "testing"), function_id


@needs_sam
def test_with_template_yaml_itself_sam_cli_drops_the_local_variables(sam_stack: SamLocalStack) -> None:
    """Why the generated template exists: SAM CLI passes only the variables a template declares."""
    environments = sam_harness.sam_environments(REPO_ROOT / "template.yaml", sam_stack.files.env_json)
    seen = environments["ConnectionsFunction"]["environment"]
    assert "AWS_ENDPOINT_URL" not in seen
    assert "QBO_TOKEN_URL" not in seen
    assert seen["TABLE_NAME"] == sam_stack.aws.physical_ids["Table"]  # declared there: env.json applies


def test_generated_template_declares_each_functions_env_json() -> None:
    environments = {
        function.logical_id: {"AWS_ENDPOINT_URL": "http://h:1", "TABLE_NAME": "t", "QBO_TOKEN_URL": "http://h:2"}
        for function in FUNCTIONS
    }
    derived = sam_local_template(TEMPLATE, environments, architecture="x86_64")
    assert derived["Globals"]["Function"]["Architectures"] == ["x86_64"]
    for function in FUNCTIONS:
        properties = derived["Resources"][function.logical_id]["Properties"]
        assert Path(properties["CodeUri"]).is_absolute()
        assert Path(properties["CodeUri"]).is_dir()
        assert properties["Environment"]["Variables"]["AWS_ENDPOINT_URL"] == ""
        assert "TABLE_NAME" not in properties["Environment"]["Variables"]  # Globals declares it
    assert TEMPLATE["Globals"]["Function"]["Architectures"] == ["arm64"]  # template.yaml itself is untouched
    assert "AWS_ENDPOINT_URL" not in TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]


# --------------------------------------------------------------------------- the docker host


def test_urls_of_local_servers_name_the_docker_host() -> None:
    environments = {
        "F": {
            "AWS_ENDPOINT_URL": "http://127.0.0.1:4001",
            "QUEUE_URL": "http://localhost:4001/123456789012/q",
            "QBO_TOKEN_URL": "http://127.0.0.1:4002/oauth2/v1/tokens/bearer",
            "QBO_AUTHORIZE_URL": "http://127.0.0.1:4002/connect/oauth2",
            "OTHER_PORT": "http://127.0.0.1:9999/x",
            "ELSEWHERE": "https://api.productive.io/api/v2",
            "PLAIN": "127.0.0.1:4001",
        }
    }
    rewritten = for_containers(environments, [("127.0.0.1", 4001), ("127.0.0.1", 4002)], DEFAULT_DOCKER_HOST)["F"]
    assert rewritten["AWS_ENDPOINT_URL"] == "http://host.docker.internal:4001"
    assert rewritten["QUEUE_URL"] == "http://host.docker.internal:4001/123456789012/q"
    assert rewritten["QBO_TOKEN_URL"] == "http://host.docker.internal:4002/oauth2/v1/tokens/bearer"
    assert rewritten["QBO_AUTHORIZE_URL"] == environments["F"]["QBO_AUTHORIZE_URL"]  # the browser's, on this machine
    assert "QBO_AUTHORIZE_URL" in BROWSER_URLS
    for unchanged in ("OTHER_PORT", "ELSEWHERE", "PLAIN"):
        assert rewritten[unchanged] == environments["F"][unchanged]
    gateway = for_containers(environments, [("127.0.0.1", 4001)], "172.17.0.1")["F"]
    assert gateway["AWS_ENDPOINT_URL"] == "http://172.17.0.1:4001"


def test_the_commands_add_the_docker_host_name_only_when_it_is_a_name(sam_stack: SamLocalStack) -> None:
    by_address = commands(sam_stack)  # docker host 127.0.0.1 here
    assert not any("--add-host" in line for line in by_address)
    sam_stack.docker_host = DEFAULT_DOCKER_HOST
    try:
        by_name = commands(sam_stack)
    finally:
        sam_stack.docker_host = "127.0.0.1"
    assert all("--add-host host.docker.internal:host-gateway" in line for line in by_name if " local " in line)
    invokes = [line for line in by_name if " local invoke " in line]
    assert {line.split(" local invoke ")[1].split()[0] for line in invokes} == {f.logical_id for f in FUNCTIONS}
    signed = [line for line in invokes if "local.sam_local.sign" in line]
    assert signed
    assert all(line.endswith("--event -") for line in signed)


def test_binding_every_interface_is_said_out_loud(sam_stack: SamLocalStack) -> None:
    assert "loopback only" in "\n".join(describe(sam_stack))
    sam_stack.bind = "0.0.0.0"
    try:
        text = "\n".join(describe(sam_stack))
    finally:
        sam_stack.bind = "127.0.0.1"
    assert "every interface" in text
    assert "loopback only" not in text


def test_env_json_has_one_object_per_function() -> None:
    written = env_json({"F": {"B": "2", "A": "1"}})
    assert written == {"F": {"A": "1", "B": "2"}}
    assert all(isinstance(value, dict) for value in written.values())  # SAM CLI refuses anything else


# --------------------------------------------------------------------------- events


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda f: f.logical_id)
def test_every_sample_event_validates_against_its_functions_input(function: FunctionSpec) -> None:
    paths = event_files(function)
    assert paths, f"events/ has no event for {function.logical_id}"
    model = input_model(function)
    for path in paths:
        model.model_validate(read_event(path))


def test_sign_event_signs_app_routes_and_the_webhook() -> None:
    get = read_event(REPO_ROOT / "events/connections/get_connection.json")
    signed = sign_event(get, signing_key="k", verifier_token="v", now=1_800_000_000)
    headers = signed["headers"]
    assert headers["x-qbosync-timestamp"] == "1800000000"
    assert headers["x-qbosync-signature"] == app_signature("k", "1800000000", "GET", get["rawPath"], b"")
    assert get["headers"]["x-qbosync-timestamp"] == "1764064800"  # the file's event is not changed
    webhook = read_event(REPO_ROOT / "events/payment_webhook/legacy.json")
    signed = sign_event(webhook, signing_key="k", verifier_token="v")
    assert signed["headers"]["intuit-signature"] == intuit_webhook_signature("v", webhook["body"].encode())
    assert "x-qbosync-signature" not in signed["headers"]
    browser = read_event(REPO_ROOT / "events/oauth_callback/start.json")
    assert sign_event(browser, signing_key="k", verifier_token="v") == browser
    with pytest.raises(ValueError, match="HTTP API"):
        sign_event(read_event(REPO_ROOT / "events/token_refresh/hourly.json"), signing_key="k", verifier_token="v")


def test_sign_event_signs_the_idempotency_key_and_the_query() -> None:
    event = _http_event("POST", "/connections/x/copy-jobs", "a=1", '{"invoice_ids": ["1"]}')
    event["headers"]["Idempotency-Key"] = "key-1"
    signed = sign_event(event, signing_key="k", verifier_token="v", now=5)["headers"]
    body = b'{"invoice_ids": ["1"]}'
    expected = app_signature("k", "5", "POST", "/connections/x/copy-jobs?a=1", body, idempotency_key="key-1")
    assert signed["x-qbosync-signature"] == expected


def _http_event(method: str, path: str, query: str, body: str) -> dict[str, Any]:
    event = read_event(REPO_ROOT / "events/connections/get_connection.json")
    event.update({"rawPath": path, "rawQueryString": query, "body": body, "isBase64Encoded": False})
    event["requestContext"]["http"].update({"method": method, "path": path})
    return event


def test_sign_command_needs_a_running_stack(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert sign_command.main(["events/connections/get_connection.json", "--stack-dir", str(tmp_path)]) == 2
    assert "make local-stack" in capsys.readouterr().err


def test_sign_command_prints_the_event_signed_with_the_stacks_key(
    sam_stack: SamLocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(REPO_ROOT / "events/connections/get_connection.json")
    assert sign_command.main([path, "--stack-dir", str(sam_stack.output_dir)]) == 0
    headers = json.loads(capsys.readouterr().out)["headers"]
    key, _ = stack_keys(sam_stack.state())
    stamp = headers["x-qbosync-timestamp"]
    path_and_query = read_event(path)["rawPath"]
    assert headers["x-qbosync-signature"] == app_signature(key, stamp, "GET", path_and_query, b"")


# --------------------------------------------------------------------------- the functions, as sam local runs them


def _generated_events() -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """`sam local generate-event` for our three triggers, with our values put in (the shape is SAM's)."""
    get = sam_harness.generate_event(
        "apigateway", "http-api-proxy", "--method", "GET", "--path", f"connections/{CONNECTION_ID}", "--body", ""
    )
    # The generated query names parameters no route takes (a 422); the route is what is asked here.
    get["rawQueryString"] = ""
    get.pop("queryStringParameters", None)
    webhook_body = read_event(REPO_ROOT / "events/payment_webhook/legacy.json")["body"]
    webhook = sam_harness.generate_event(
        "apigateway", "http-api-proxy", "--method", "POST", "--path", "webhooks/intuit", "--body", webhook_body
    )
    entity_event = json.dumps(
        {
            "realm_id": REALM_ID,
            "entity": "Payment",
            "entity_id": "173",
            "operation": "create",
            "occurred_at": "2025-11-25T10:00:00Z",
            "event_id": "generated-1",
            "source": "webhook",
        }
    )
    # generate-event puts --body into its JSON as it is: a JSON body goes in escaped.
    sqs = sam_harness.generate_event("sqs", "receive-message", "--body", json.dumps(entity_event)[1:-1])
    not_an_event = sam_harness.generate_event("sqs", "receive-message")  # body "Hello from SQS!"
    scheduled = sam_harness.generate_event("cloudwatch", "scheduled-event")
    return {
        "ConnectionsFunction": [("generated-get", get)],
        "PaymentWebhookFunction": [("generated-webhook", webhook)],
        "PaymentSyncFunction": [("generated-sqs", sqs), ("generated-sqs-not-an-event", not_an_event)],
        "TokenRefreshFunction": [("generated-scheduled", scheduled)],
        "ReconcileFunction": [("generated-scheduled", scheduled)],
    }


@pytest.fixture(scope="module")
def generated_events() -> dict[str, list[tuple[str, dict[str, Any]]]]:
    if not sam_harness.SAM.exists():
        pytest.skip(".venv-sam (make tools) is not installed")
    return _generated_events()


@pytest.fixture(scope="module")
def invocations(
    sam_stack: SamLocalStack,
    sam_environments: dict[str, Any],
    generated_events: dict[str, list[tuple[str, dict[str, Any]]]],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[tuple[str, str], dict[str, Any]]:
    """(function, label) -> what the handler returned: every sample event as it is and, where signed,
    signed with the stack's keys; and the generated events (signed where the route needs it)."""
    key, token = stack_keys(sam_stack.state())
    work = tmp_path_factory.mktemp("invocations")
    outcomes: dict[tuple[str, str], dict[str, Any]] = {}
    for function in FUNCTIONS:
        events: list[tuple[str, Any]] = []
        for path in event_files(function):
            event = read_event(path)
            events.append((path.stem, event))
            if needs_signature(event):
                events.append((f"{path.stem}+signed", sign_event(event, signing_key=key, verifier_token=token)))
        for label, event in generated_events.get(function.logical_id, []):
            events.append((label, event))
            if needs_signature(event):
                events.append((f"{label}+signed", sign_event(event, signing_key=key, verifier_token=token)))
        environment = sam_environments[function.logical_id]["environment"]
        assert sam_environments[function.logical_id]["handler"] == function.handler
        for label, outcome in sam_harness.invoke(function, environment, events, work).items():
            outcomes[(function.logical_id, label)] = outcome
    return outcomes


def _result(invocations: dict[tuple[str, str], dict[str, Any]], function_id: str, label: str) -> Any:
    outcome = invocations[(function_id, label)]
    assert "error" not in outcome, outcome
    return outcome["result"]


def _http(invocations: dict[tuple[str, str], dict[str, Any]], function_id: str, label: str) -> tuple[int, Any]:
    result = _result(invocations, function_id, label)
    body = result.get("body") or ""
    return result["statusCode"], json.loads(body) if body.startswith("{") else body


SIGNED_SAMPLES = [
    (function.logical_id, path.stem)
    for function in FUNCTIONS
    for path in event_files(function)
    if needs_signature(read_event(path))
]


@needs_sam
@pytest.mark.parametrize(("function_id", "name"), SIGNED_SAMPLES)
def test_signed_sample_events_are_401_as_they_are_and_answered_once_signed(
    sam_stack: SamLocalStack, invocations: dict[tuple[str, str], dict[str, Any]], function_id: str, name: str
) -> None:
    status, body = _http(invocations, function_id, name)
    assert status == 401
    assert body["error"]["code"] == "invalid_signature"
    status, body = _http(invocations, function_id, f"{name}+signed")
    if function_id == "PaymentWebhookFunction":
        assert (status, body) == (200, {"ok": True})  # its company is not connected: nothing queued
    elif name == "create_connection":
        assert status == 201
        # our own /oauth/start, on sam local start-api
        assert body["authorize_url"].startswith(f"{sam_stack.api_url}/oauth/start?state=")
    else:
        assert (status, body["error"]["code"]) == (404, "connection_not_found")  # no such connection here


@needs_sam
@pytest.mark.parametrize("name", ["start", "callback"])
def test_browser_routes_answer_their_sample_events(
    invocations: dict[tuple[str, str], dict[str, Any]], name: str
) -> None:
    status, body = _http(invocations, "OAuthCallbackFunction", name)
    assert status == 400  # the sample state is unknown here: the same page as for any invalid link
    assert "not valid" in body


@needs_sam
def test_queue_and_schedule_sample_events_are_handled(invocations: dict[tuple[str, str], dict[str, Any]]) -> None:
    assert _result(invocations, "PaymentSyncFunction", "batch") == {"batchItemFailures": []}
    assert _result(invocations, "CopyJobsFunction", "job") == {"batchItemFailures": []}
    assert _result(invocations, "TokenRefreshFunction", "hourly")["failed"] == 0
    assert _result(invocations, "ReconcileFunction", "every_six_hours")["failed"] == {}


@needs_sam
def test_generated_http_api_events_are_accepted(invocations: dict[tuple[str, str], dict[str, Any]]) -> None:
    status, body = _http(invocations, "ConnectionsFunction", "generated-get")
    assert (status, body["error"]["code"]) == (401, "invalid_signature")
    status, body = _http(invocations, "ConnectionsFunction", "generated-get+signed")
    assert (status, body["error"]["code"]) == (404, "connection_not_found")
    # The generated body is base64 (isBase64Encoded): the signature is over the decoded bytes.
    assert _http(invocations, "PaymentWebhookFunction", "generated-webhook")[0] == 401
    assert _http(invocations, "PaymentWebhookFunction", "generated-webhook+signed") == (200, {"ok": True})


@needs_sam
def test_generated_sqs_events_are_accepted(invocations: dict[tuple[str, str], dict[str, Any]]) -> None:
    assert _result(invocations, "PaymentSyncFunction", "generated-sqs") == {"batchItemFailures": []}
    # A batch whose every record fails fails as a whole (Powertools Batch): Lambda receives it again.
    outcome = invocations[("PaymentSyncFunction", "generated-sqs-not-an-event")]
    assert outcome["error"] == "BatchProcessingError"
    assert "UnreadableMessage" in outcome["message"]


@needs_sam
def test_generated_scheduled_events_are_accepted(
    invocations: dict[tuple[str, str], dict[str, Any]], generated_events: dict[str, Any]
) -> None:
    assert _result(invocations, "TokenRefreshFunction", "generated-scheduled")["failed"] == 0
    assert _result(invocations, "ReconcileFunction", "generated-scheduled")["failed"] == {}
    # There is no EventBridge Scheduler generator; the CloudWatch one lacks the "version" our schedules'
    # Input has (events/token_refresh/hourly.json): the handlers ignore the event, Powertools' model would not.
    ((_, scheduled),) = generated_events["TokenRefreshFunction"]
    model = input_model(get_function(TEMPLATE, "TokenRefreshFunction"))
    model.model_validate({**scheduled, "version": "0"})
    with pytest.raises(ValueError, match="version"):
        model.model_validate(scheduled)


@needs_sam
@pytest.mark.parametrize(
    ("function_id", "arguments"),
    [
        ("ConnectionsFunction", ("apigateway", "http-api-proxy")),
        ("PaymentSyncFunction", ("sqs", "receive-message")),
    ],
)
def test_generated_events_validate_against_the_functions_input(function_id: str, arguments: tuple[str, ...]) -> None:
    input_model(get_function(TEMPLATE, function_id)).model_validate(sam_harness.generate_event(*arguments))


# --------------------------------------------------------------------------- make local-stack


def _read_until_ready(process: subprocess.Popen[str], out: IO[str]) -> list[str]:
    lines: list[str] = []
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        line = out.readline()
        if not line:
            if process.poll() is not None:
                break
            continue
        lines.append(line.rstrip("\n"))
        if line.startswith(READY):
            return lines
    raise AssertionError("no ready line:\n" + "\n".join(lines))


def _closed(ports: list[int]) -> bool:
    for port in ports:
        with socket.socket() as probe:
            probe.settimeout(2)
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return False
    return True


def _server_ports(state: dict[str, Any]) -> list[int]:
    urls = (state["aws_endpoint_url"], state["qbo_url"], state["productive_url"])
    return [int(urlsplit(url).port or 0) for url in urls]


def _start(command: list[str], cwd: Path = REPO_ROOT) -> subprocess.Popen[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "QBO_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "layers/qbosync")])
    return subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: SIGINT to it is a Ctrl-C in its terminal
    )


def _check_running_stack(lines: list[str], output_dir: Path, env_json_as_printed: str) -> dict[str, Any]:
    entries: dict[str, dict[str, str]] = json.loads((output_dir / "env.json").read_text())
    assert_env_json_complete(entries, {DEFAULT_DOCKER_HOST, "127.0.0.1"})
    for entry in entries.values():
        for name, value in entry.items():
            if value.startswith("http://") and name not in BROWSER_URLS:
                assert urlsplit(value).hostname == DEFAULT_DOCKER_HOST, (name, value)
    state: dict[str, Any] = json.loads((output_dir / "stack.json").read_text())
    assert not _closed(_server_ports(state))
    text = "\n".join(lines)
    assert f"--env-vars {env_json_as_printed}" in text
    assert re.search(r"sam local start-api .*--add-host host\.docker\.internal:host-gateway", text)
    return state


def test_make_local_stack_starts_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    # -o: never remake the virtual environment from a test (it is the one running this test).
    make = ["make", "--no-print-directory", "-o", ".venv/.stamp", "local-stack"]
    process = _start([*make, f"LOCAL_STACK_ARGS=--output-dir {tmp_path}"])
    assert process.stdout is not None
    try:
        lines = _read_until_ready(process, process.stdout)
        state = _check_running_stack(lines, tmp_path, str(tmp_path / "env.json"))
        os.killpg(process.pid, signal.SIGINT)
        rest = process.communicate(timeout=60)[0]
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert "stopped: moto server and both emulators are down" in rest
    assert "Traceback" not in rest
    # make itself reports the interrupt as make does for any Ctrl-C; the command's own exit is below.
    assert _closed(_server_ports(state))
    assert not (tmp_path / "stack.json").exists()


def test_local_stack_command_exits_0_on_sigint(tmp_path: Path) -> None:
    process = _start([sys.executable, "-m", "local.sam_local", "--output-dir", "out"], cwd=tmp_path)
    assert process.stdout is not None
    try:
        lines = _read_until_ready(process, process.stdout)
        state = _check_running_stack(lines, tmp_path / "out", "out/env.json")  # as typed where it was started
        process.send_signal(signal.SIGINT)
        rest = process.communicate(timeout=60)[0]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, rest
    assert rest.strip().endswith("stopped: moto server and both emulators are down")
    assert _closed(_server_ports(state))


def test_call_command_needs_the_stack_and_start_api(
    sam_stack: SamLocalStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert call_command.main(["GET", "/connections/x", "--stack-dir", str(tmp_path)]) == 2
    assert "make local-stack" in capsys.readouterr().err
    with socket.socket() as unused:  # a port nothing listens on once closed
        unused.bind(("127.0.0.1", 0))
        closed_port = unused.getsockname()[1]
    arguments = ["GET", "/connections/x", "--stack-dir", str(sam_stack.output_dir)]
    assert call_command.main([*arguments, "--api-url", f"http://127.0.0.1:{closed_port}"]) == 2
    assert "sam local start-api" in capsys.readouterr().err
