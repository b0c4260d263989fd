"""Shape of the stack: what the design and the operations of the service rely on."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from local.template import (
    FUNCTION_TYPE,
    REPO_ROOT,
    http_routes,
    list_functions,
    references,
    resources_of_type,
)

API_TIMEOUT_LIMIT = 29  # HTTP API integrations give up after 30 s

CONTRACT_ROUTES = {  # README "HTTP API", the routes this stack serves so far
    ("POST", "/connections", "ConnectionsFunction"),
    ("GET", "/connections/{connection_id}", "ConnectionsFunction"),
    ("PUT", "/connections/{connection_id}/settings", "ConnectionsFunction"),
    ("GET", "/connections/{connection_id}/quickbooks/customers", "ConnectionsFunction"),
    ("GET", "/connections/{connection_id}/quickbooks/items", "ConnectionsFunction"),
    ("GET", "/connections/{connection_id}/quickbooks/tax-codes", "ConnectionsFunction"),
    ("GET", "/connections/{connection_id}/activity", "ConnectionsFunction"),
    ("GET", "/connections/{connection_id}/quickbooks/classes", "ConnectionsFunction"),
    ("GET", "/connections/{connection_id}/quickbooks/locations", "ConnectionsFunction"),
    ("DELETE", "/connections/{connection_id}", "ConnectionsFunction"),
    ("GET", "/oauth/start", "OAuthCallbackFunction"),
    ("GET", "/oauth/callback", "OAuthCallbackFunction"),
    ("POST", "/connections/{connection_id}/invoices/{invoice_id}/copies", "CopyInvoiceFunction"),
    ("GET", "/connections/{connection_id}/invoices/{invoice_id}/copies", "CopyInvoiceFunction"),
    ("GET", "/connections/{connection_id}/attention", "CopyInvoiceFunction"),
    ("POST", "/connections/{connection_id}/copy-jobs", "CopyInvoiceFunction"),
    ("GET", "/connections/{connection_id}/copy-jobs", "CopyInvoiceFunction"),
    ("GET", "/connections/{connection_id}/copy-jobs/{job_id}", "CopyInvoiceFunction"),
    ("POST", "/webhooks/intuit", "PaymentWebhookFunction"),
}

GLOBAL_ENVIRONMENT = {  # what every function reads; the rest per function (tests/unit/test_config.py)
    "POWERTOOLS_SERVICE_NAME": "qbosync",
    "POWERTOOLS_METRICS_NAMESPACE": {"Fn::Sub": "qbosync-${Stage}"},  # stages may share an account
    "TABLE_NAME": {"Ref": "Table"},
    "INTUIT_APP_SECRET_ID": {"Ref": "IntuitAppSecret"},
}
# A variable set on several functions means the same on each (one process runs them all locally).
SHARED_VALUES = {
    "APP_SIGNING_SECRET_ID": {"Ref": "AppSigningSecret"},
    "CONNECTION_SECRET_PREFIX": {"Fn::Sub": "qbosync/${Stage}/connections/"},
    "QBO_ENVIRONMENT": {"Ref": "QboEnvironment"},
    "PRODUCTIVE_API_BASE_URL": "https://api.productive.io/api/v2",
    "PAYMENT_EVENTS_QUEUE_URL": {"Ref": "PaymentEventsQueue"},
    "COPY_JOBS_QUEUE_URL": {"Ref": "CopyJobsQueue"},
    "ALLOWED_RETURN_URL_HOSTS": {"Ref": "AllowedReturnUrlHosts"},
    "NOTIFY_URL": {"Ref": "NotifyUrl"},
    "NOTIFY_SIGNING_SECRET_ID": {"Ref": "NotifySigningSecret"},
}


def _functions_with_http_routes(sam: dict[str, Any]) -> set[str]:
    return {route.function_id for route in http_routes(sam)}


# --------------------------------------------------------------------------- parameters and globals


def test_parameters(sam_template: dict[str, Any]) -> None:
    params = sam_template["Parameters"]
    assert params["Stage"]["AllowedValues"] == ["dev", "prod"]
    assert params["LogRetentionDays"]["Default"] == 30
    assert params["QboEnvironment"]["AllowedValues"] == ["sandbox", "production"]


def test_globals(sam_template: dict[str, Any]) -> None:
    function = sam_template["Globals"]["Function"]
    assert function["Runtime"] == "python3.13"
    assert function["Architectures"] == ["arm64"]
    assert function["Tracing"] == "Active"
    assert function["MemorySize"] == 512
    assert function["Timeout"] <= API_TIMEOUT_LIMIT
    assert function["LoggingConfig"]["LogFormat"] == "JSON"
    assert function["Layers"] == [{"Ref": "QbosyncLayer"}]
    assert function["Environment"]["Variables"] == GLOBAL_ENVIRONMENT


def test_functions_do_not_override_the_shared_environment(sam_template: dict[str, Any]) -> None:
    """Locally every handler runs in one process: a variable must mean one thing for all of them."""
    for logical_id, resource in resources_of_type(sam_template, FUNCTION_TYPE).items():
        own = resource["Properties"].get("Environment", {}).get("Variables", {})
        assert not set(own) & set(GLOBAL_ENVIRONMENT), logical_id
        for name, value in own.items():
            assert value == SHARED_VALUES[name], (logical_id, name)


def test_layer(sam_template: dict[str, Any]) -> None:
    layer = sam_template["Resources"]["QbosyncLayer"]
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    assert layer["Properties"]["ContentUri"] == "layers/qbosync/"
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]
    assert layer["Metadata"] == {"BuildMethod": "python3.13", "BuildArchitecture": "arm64"}
    content = REPO_ROOT / "layers/qbosync"
    assert (content / "qbosync" / "__init__.py").is_file()
    assert (content / "requirements.txt").is_file()


# --------------------------------------------------------------------------- functions


def test_function_code_locations(sam_template: dict[str, Any]) -> None:
    for function in list_functions(sam_template):
        assert function.code_uri.startswith("functions/"), function.logical_id
        assert (REPO_ROOT / function.code_uri).is_dir(), function.code_uri
        assert function.handler == "app.lambda_handler"


def test_routes_match_the_http_contract(sam_template: dict[str, Any]) -> None:
    routes = {(route.method, route.path, route.function_id) for route in http_routes(sam_template)}
    assert routes == CONTRACT_ROUTES
    for function in list_functions(sam_template):
        for event in function.events_of_type("HttpApi"):
            assert event.properties["ApiId"] == {"Ref": "HttpApi"}


def test_api_functions_answer_before_the_api_gives_up(sam_template: dict[str, Any]) -> None:
    api_functions = _functions_with_http_routes(sam_template)
    assert api_functions
    for function in list_functions(sam_template):
        if function.logical_id in api_functions:
            assert function.timeout <= API_TIMEOUT_LIMIT, function.logical_id


def test_every_function_has_a_log_group_with_retention(cfn: dict[str, Any]) -> None:
    log_groups = resources_of_type(cfn, "AWS::Logs::LogGroup")
    named = {str(group["Properties"]["LogGroupName"]): group for group in log_groups.values()}
    for function_id, function in resources_of_type(cfn, "AWS::Lambda::Function").items():
        group = named.get(str({"Fn::Sub": f"/aws/lambda/${{{function_id}}}"}))
        assert group is not None, f"{function_id} has no /aws/lambda/${{{function_id}}} log group"
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        assert function["Properties"]["TracingConfig"] == {"Mode": "Active"}


def test_scheduled_functions_retry_and_keep_failures(cfn: dict[str, Any]) -> None:
    schedules = resources_of_type(cfn, "AWS::Scheduler::Schedule")
    assert schedules
    queues = resources_of_type(cfn, "AWS::SQS::Queue")
    for schedule in schedules.values():
        target = schedule["Properties"]["Target"]
        assert target["RetryPolicy"]["MaximumRetryAttempts"] >= 1
        dlq = target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
        assert dlq in queues
        function_id = target["Arn"]["Fn::GetAtt"][0]
        function = cfn["Resources"][function_id]["Properties"]
        # Scheduler invokes asynchronously: failures after Lambda's own retries go to the function's DLQ
        assert function["DeadLetterConfig"]["TargetArn"] == {"Fn::GetAtt": [dlq, "Arn"]}
        assert "Name" not in schedule["Properties"]  # generated, so stages can share an account
        json.loads(target["Input"]["Fn::Sub"])  # the event is JSON


def test_token_refresh_runs_hourly_one_at_a_time(sam_template: dict[str, Any]) -> None:
    props = sam_template["Resources"]["TokenRefreshFunction"]["Properties"]
    assert props["ReservedConcurrentExecutions"] == 1
    (event,) = props["Events"].values()
    assert event["Type"] == "ScheduleV2"
    assert event["Properties"]["ScheduleExpression"] == "rate(1 hour)"


def test_reconcile_runs_every_six_hours_one_at_a_time(sam_template: dict[str, Any]) -> None:
    props = sam_template["Resources"]["ReconcileFunction"]["Properties"]
    assert props["ReservedConcurrentExecutions"] == 1
    (event,) = props["Events"].values()
    assert event["Type"] == "ScheduleV2"
    assert event["Properties"]["ScheduleExpression"] == "rate(6 hours)"
    assert event["Properties"]["RetryPolicy"]["MaximumRetryAttempts"] >= 1
    assert json.loads(event["Properties"]["Input"]["Fn::Sub"])["detail"]["job"] == "reconcile"


def test_webhook_answers_within_intuits_patience(sam_template: dict[str, Any]) -> None:
    props = sam_template["Resources"]["PaymentWebhookFunction"]["Properties"]
    assert props["Timeout"] <= 10  # Intuit wants a 200 within 3 s; a stuck invocation must not linger
    assert "ReservedConcurrentExecutions" not in props  # a webhook burst must never be throttled into retries


def test_payment_events_queue(sam_template: dict[str, Any]) -> None:
    resources = sam_template["Resources"]
    queue = resources["PaymentEventsQueue"]["Properties"]
    worker = resources["PaymentSyncFunction"]["Properties"]
    worker_timeout = worker.get("Timeout", sam_template["Globals"]["Function"]["Timeout"])
    assert queue["VisibilityTimeout"] >= 6 * worker_timeout  # AWS guidance for SQS event sources
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["PaymentEventsDeadLetterQueue", "Arn"]},
        "maxReceiveCount": 5,
    }
    assert "FifoQueue" not in queue  # the worker reads current state: order and duplicates do not matter
    assert resources["PaymentEventsDeadLetterQueue"]["Properties"]["MessageRetentionPeriod"] == 1209600
    (event,) = worker["Events"].values()
    assert event["Type"] == "SQS"
    assert event["Properties"]["Queue"] == {"Fn::GetAtt": ["PaymentEventsQueue", "Arn"]}
    assert event["Properties"]["BatchSize"] == 10
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_queues_are_encrypted(sam_template: dict[str, Any]) -> None:
    for queue_id, queue in resources_of_type(sam_template, "AWS::SQS::Queue").items():
        props = queue["Properties"]
        assert props.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in props, queue_id


# --------------------------------------------------------------------------- API, data, secrets


def test_http_api(sam_template: dict[str, Any]) -> None:
    props = sam_template["Resources"]["HttpApi"]["Properties"]
    assert props["FailOnWarnings"] is True
    assert props["DefaultRouteSettings"]["ThrottlingBurstLimit"] > 0
    assert props["DefaultRouteSettings"]["ThrottlingRateLimit"] > 0
    destination = props["AccessLogSettings"]["DestinationArn"]["Fn::GetAtt"][0]
    group = sam_template["Resources"][destination]
    assert group["Type"] == "AWS::Logs::LogGroup"
    assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert "$context.requestId" in props["AccessLogSettings"]["Format"]


def test_table(sam_template: dict[str, Any]) -> None:
    table = sam_template["Resources"]["Table"]
    assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"
    props = table["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert {(a["AttributeName"], a["AttributeType"]) for a in props["AttributeDefinitions"]} == {
        ("pk", "S"),
        ("sk", "S"),
        ("gsi1pk", "S"),
        ("gsi1sk", "S"),
        ("gsi2pk", "S"),
        ("gsi2sk", "S"),
    }
    gsi1, gsi2 = props["GlobalSecondaryIndexes"]
    assert gsi1["IndexName"] == "gsi1"
    assert gsi1["KeySchema"] == [
        {"AttributeName": "gsi1pk", "KeyType": "HASH"},
        {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
    ]
    assert gsi1["Projection"] == {"ProjectionType": "ALL"}
    # The reconnect warnings' index: sparse, connection items only, which need no more than their id.
    assert gsi2["IndexName"] == "gsi2"
    assert gsi2["KeySchema"] == [
        {"AttributeName": "gsi2pk", "KeyType": "HASH"},
        {"AttributeName": "gsi2sk", "KeyType": "RANGE"},
    ]
    assert gsi2["Projection"] == {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["connection_id"]}
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"]["SSEEnabled"] is True
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


def test_secrets(sam_template: dict[str, Any]) -> None:
    intuit = sam_template["Resources"]["IntuitAppSecret"]["Properties"]
    placeholder = json.loads(intuit["SecretString"])
    assert set(placeholder) == {"client_id", "client_secret", "webhook_verifier_token", "redirect_uri"}
    signing = sam_template["Resources"]["AppSigningSecret"]["Properties"]["GenerateSecretString"]
    keys = set(json.loads(signing["SecretStringTemplate"])) | {signing["GenerateStringKey"]}
    assert keys == {"current", "previous"}
    assert signing["PasswordLength"] >= 32
    notify = sam_template["Resources"]["NotifySigningSecret"]["Properties"]["GenerateSecretString"]
    assert set(json.loads(notify["SecretStringTemplate"])) | {notify["GenerateStringKey"]} == {"current", "previous"}
    assert notify["PasswordLength"] >= 32


def test_outputs(sam_template: dict[str, Any]) -> None:
    outputs = sam_template["Outputs"]
    for name in (
        "ApiUrl",
        "TableName",
        "IntuitAppSecretArn",
        "AppSigningSecretArn",
        "ConnectionsFunctionName",
        "OAuthCallbackFunctionName",
        "TokenRefreshFunctionName",
        "PaymentWebhookFunctionName",
        "PaymentSyncFunctionName",
        "ReconcileFunctionName",
        "PaymentWebhookUrl",
        "PaymentEventsQueueUrl",
        "PaymentEventsDeadLetterQueueUrl",
        "AlarmTopicArn",
    ):
        assert name in outputs


def test_every_reference_points_into_the_template(sam_template: dict[str, Any]) -> None:
    known = set(sam_template["Resources"]) | set(sam_template["Parameters"])
    for logical_id, resource in sam_template["Resources"].items():
        unknown = {name for name in references(resource) if not name.startswith("AWS::")} - known
        assert not unknown, f"{logical_id} refers to {unknown}"


def test_checkov_skips_give_reasons(sam_template: dict[str, Any]) -> None:
    skips = [
        (logical_id, skip)
        for logical_id, resource in sam_template["Resources"].items()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]
    assert skips
    for logical_id, skip in skips:
        assert skip["id"].startswith("CKV_"), logical_id
        assert len(skip.get("comment", "").split()) >= 5, f"{logical_id} skips {skip['id']} without a reason"


# --------------------------------------------------------------------------- samconfig and events


def test_samconfig() -> None:
    config = tomllib.loads((REPO_ROOT / "samconfig.toml").read_text())
    for env, stage in (("default", "dev"), ("dev", "dev"), ("prod", "prod")):
        deploy = config[env]["deploy"]["parameters"]
        assert deploy["stack_name"] == f"qbosync-{stage}"
        assert f"Stage={stage}" in deploy["parameter_overrides"].split()
        assert "CAPABILITY_IAM" in deploy["capabilities"].split()
        assert deploy["resolve_s3"] is True
    assert config["prod"]["deploy"]["parameters"]["confirm_changeset"] is True
    assert "QboEnvironment=production" in config["prod"]["deploy"]["parameters"]["parameter_overrides"]


def _events() -> dict[Path, dict[str, Any]]:
    return {path: json.loads(path.read_text()) for path in sorted((REPO_ROOT / "events").rglob("*.json"))}


def test_every_route_and_function_has_a_sample_event(sam_template: dict[str, Any]) -> None:
    events = _events()
    route_keys = {
        (path.parent.name, event["routeKey"]) for path, event in events.items() if event.get("version") == "2.0"
    }
    for route in http_routes(sam_template):
        directory = Path(
            next(f.code_uri for f in list_functions(sam_template) if f.logical_id == route.function_id)
        ).name
        assert (directory, route.route_key) in route_keys, route.route_key
    for function in list_functions(sam_template):
        assert any(path.parent.name == Path(function.code_uri).name for path in events), function.logical_id


@pytest.mark.parametrize("path", sorted((REPO_ROOT / "events").rglob("*.json")), ids=lambda p: p.stem)
def test_http_sample_events_are_consistent(path: Path) -> None:
    event = json.loads(path.read_text())
    if "Records" in event:  # an SQS event source batch: bodies are entity events, or copy jobs
        from qbosync.domain.copy_jobs import decode_job_message
        from qbosync.domain.events import EntityEvent

        assert 1 <= len(event["Records"]) <= 10
        for record in event["Records"]:
            assert record["eventSource"] == "aws:sqs"
            if path.parent.name == "copy_jobs":
                decode_job_message(record["body"])
            else:
                EntityEvent.model_validate_json(record["body"])
        assert len({record["messageId"] for record in event["Records"]}) == len(event["Records"])
        return
    if event.get("version") != "2.0":
        assert event["detail-type"] == "Scheduled Event"
        return
    method, route = event["routeKey"].split(" ", 1)
    context = event["requestContext"]
    assert context["http"]["method"] == method
    assert context["http"]["path"] == event["rawPath"]
    assert context["routeKey"] == event["routeKey"]
    assert context["stage"] == "$default"
    assert all(name == name.lower() for name in event["headers"])
    for name, value in event.get("pathParameters", {}).items():
        assert "{" + name + "}" in route
        assert value in event["rawPath"]
