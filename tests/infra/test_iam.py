"""Least privilege, asserted on the CloudFormation the SAM transform produces.

Each function's grants are an explicit allow-list below: a new permission is a reviewed diff here."""

from __future__ import annotations

import re
from typing import Any

import pytest

from local.template import FUNCTION_TYPE, resources_of_type

CONNECTION_SECRETS = "connection-secrets"
CONNECTION_SECRETS_ARN = (
    "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:qbosync/${Stage}/connections/*"
)

# function -> action -> the resources it may act on ("Table" = the table, "Table/index/gsi1" = one index, ...)
EXPECTED_GRANTS: dict[str, dict[str, set[str]]] = {
    "ConnectionsFunction": {
        "dynamodb:GetItem": {"Table", "Table/index/*"},
        "dynamodb:PutItem": {"Table", "Table/index/*"},
        "dynamodb:UpdateItem": {"Table", "Table/index/*"},
        "dynamodb:DeleteItem": {"Table", "Table/index/*"},
        "dynamodb:Query": {"Table", "Table/index/*"},
        "secretsmanager:GetSecretValue": {"IntuitAppSecret", "AppSigningSecret", CONNECTION_SECRETS},
        "secretsmanager:CreateSecret": {CONNECTION_SECRETS},
        "secretsmanager:PutSecretValue": {CONNECTION_SECRETS},
        "secretsmanager:DeleteSecret": {CONNECTION_SECRETS},
        "secretsmanager:DescribeSecret": {CONNECTION_SECRETS},
    },
    "OAuthCallbackFunction": {
        "dynamodb:GetItem": {"Table"},
        "dynamodb:PutItem": {"Table"},
        "dynamodb:UpdateItem": {"Table"},
        "dynamodb:DeleteItem": {"Table"},
        "dynamodb:Query": {"Table"},
        "secretsmanager:GetSecretValue": {"IntuitAppSecret", CONNECTION_SECRETS},
        "secretsmanager:PutSecretValue": {CONNECTION_SECRETS},
        "secretsmanager:DescribeSecret": {CONNECTION_SECRETS},
    },
    "CopyInvoiceFunction": {
        "dynamodb:BatchWriteItem": {"Table"},
        "dynamodb:GetItem": {"Table"},
        "dynamodb:PutItem": {"Table"},
        "dynamodb:UpdateItem": {"Table"},
        "dynamodb:DeleteItem": {"Table"},
        "dynamodb:Query": {"Table", "Table/index/gsi1"},
        "dynamodb:BatchGetItem": {"Table"},  # a new copy job: which of its invoices another job holds
        "secretsmanager:GetSecretValue": {"IntuitAppSecret", "AppSigningSecret", CONNECTION_SECRETS},
        "secretsmanager:PutSecretValue": {CONNECTION_SECRETS},
        "sqs:SendMessage": {"CopyJobsQueue"},  # a submitted job goes to its worker
    },
    "CopyJobsFunction": {
        "dynamodb:BatchWriteItem": {"Table"},
        "dynamodb:GetItem": {"Table"},
        "dynamodb:PutItem": {"Table"},
        "dynamodb:UpdateItem": {"Table"},
        "dynamodb:DeleteItem": {"Table"},
        "dynamodb:Query": {"Table"},
        "secretsmanager:GetSecretValue": {"IntuitAppSecret", CONNECTION_SECRETS},
        "secretsmanager:PutSecretValue": {CONNECTION_SECRETS},
        # the SQS event source mapping, on this queue only; and the job queued again to go on
        "sqs:ReceiveMessage": {"CopyJobsQueue"},
        "sqs:DeleteMessage": {"CopyJobsQueue"},
        "sqs:GetQueueAttributes": {"CopyJobsQueue"},
        "sqs:SendMessage": {"CopyJobsQueue"},
    },
    "TokenRefreshFunction": {
        # due refreshes (gsi1); connections near their hard expiry or awaiting a reconnect warning (gsi2)
        "dynamodb:Query": {"Table/index/gsi1", "Table/index/gsi2"},
        "dynamodb:GetItem": {"Table"},
        "dynamodb:PutItem": {"Table"},  # activity entries
        "dynamodb:UpdateItem": {"Table"},
        "secretsmanager:GetSecretValue": {"IntuitAppSecret", "NotifySigningSecret", CONNECTION_SECRETS},
        "secretsmanager:PutSecretValue": {CONNECTION_SECRETS},
        "secretsmanager:DescribeSecret": {CONNECTION_SECRETS},
        "sqs:SendMessage": {"TokenRefreshDeadLetterQueue"},  # the function's async-invoke DLQ
    },
    "PaymentWebhookFunction": {
        "dynamodb:GetItem": {"Table"},
        "dynamodb:Query": {"Table"},
        "secretsmanager:GetSecretValue": {"IntuitAppSecret"},
        "sqs:SendMessage": {"PaymentEventsQueue"},  # SendMessageBatch is authorised as SendMessage
    },
    "PaymentSyncFunction": {
        "dynamodb:GetItem": {"Table"},
        "dynamodb:PutItem": {"Table"},
        "dynamodb:UpdateItem": {"Table"},
        "dynamodb:DeleteItem": {"Table"},
        "dynamodb:Query": {"Table", "Table/index/gsi1"},
        "secretsmanager:GetSecretValue": {"IntuitAppSecret", CONNECTION_SECRETS},
        "secretsmanager:PutSecretValue": {CONNECTION_SECRETS},
        # the SQS event source mapping, on this queue only (not SAM's AWSLambdaSQSQueueExecutionRole on "*")
        "sqs:ReceiveMessage": {"PaymentEventsQueue"},
        "sqs:DeleteMessage": {"PaymentEventsQueue"},
        "sqs:GetQueueAttributes": {"PaymentEventsQueue"},
        "sqs:SendMessage": {"PaymentEventsQueue"},  # what is left of a chunk it could not finish
    },
    "ReconcileFunction": {
        "dynamodb:GetItem": {"Table"},
        "dynamodb:PutItem": {"Table"},
        "dynamodb:UpdateItem": {"Table"},
        "dynamodb:Query": {"Table", "Table/index/gsi1"},
        "secretsmanager:GetSecretValue": {"IntuitAppSecret", CONNECTION_SECRETS},
        "secretsmanager:PutSecretValue": {CONNECTION_SECRETS},
        "sqs:SendMessage": {"PaymentEventsQueue", "ReconcileDeadLetterQueue"},  # the queue; its async-invoke DLQ
    },
}

# Managed policies a function role may carry: logs, and X-Ray because of Tracing: Active.
# AWSXrayWriteOnlyAccess is the one documented Resource "*": X-Ray's PutTraceSegments,
# PutTelemetryRecords and sampling calls support no resource-level permissions.
ALLOWED_MANAGED_POLICIES = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
}
RESOURCE_STAR_ACTIONS = {
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
}

_SUB_OF_ARN = re.compile(r"^\$\{(?P<id>[A-Za-z0-9]+)\.Arn\}(?P<suffix>/.*)?$")


def _managed_policy_arn(value: Any) -> str:
    """A managed policy ARN as SAM writes it, or as an explicit role writes it (!Sub with the partition)."""
    if isinstance(value, dict) and set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
        return str(value["Fn::Sub"]).replace("${AWS::Partition}", "aws")
    return str(value)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _resource_key(resource: Any, logical_ids: set[str]) -> str:
    """Name a policy resource by what it refers to; anything else is returned raw (and fails)."""
    if isinstance(resource, dict) and len(resource) == 1:
        ((kind, argument),) = resource.items()
        if kind == "Fn::GetAtt" and argument[1] == "Arn" and argument[0] in logical_ids:
            return str(argument[0])
        if kind == "Ref" and argument in logical_ids:
            return str(argument)
        if kind == "Fn::Sub" and isinstance(argument, str):
            if argument == CONNECTION_SECRETS_ARN:
                return CONNECTION_SECRETS
            match = _SUB_OF_ARN.match(argument)
            if match and match["id"] in logical_ids:
                return match["id"] + (match["suffix"] or "")
    return repr(resource)


def _statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        statement
        for policy in role["Properties"].get("Policies", [])
        for statement in _as_list(policy["PolicyDocument"]["Statement"])
    ]


def _grants(role: dict[str, Any], logical_ids: set[str]) -> dict[str, set[str]]:
    grants: dict[str, set[str]] = {}
    for statement in _statements(role):
        for action in _as_list(statement["Action"]):
            grants.setdefault(action, set()).update(
                _resource_key(resource, logical_ids) for resource in _as_list(statement["Resource"])
            )
    return grants


def _role_of(cfn: dict[str, Any], function_id: str) -> tuple[str, dict[str, Any]]:
    role_ref = cfn["Resources"][function_id]["Properties"]["Role"]
    assert set(role_ref) == {"Fn::GetAtt"}, f"{function_id} must use a role of this template"
    role_id = role_ref["Fn::GetAtt"][0]
    return role_id, cfn["Resources"][role_id]


def test_allow_list_covers_every_function(sam_template: dict[str, Any]) -> None:
    assert set(resources_of_type(sam_template, FUNCTION_TYPE)) == set(EXPECTED_GRANTS)


@pytest.mark.parametrize("function_id", sorted(EXPECTED_GRANTS))
def test_function_grants_are_exactly_the_allow_list(cfn: dict[str, Any], function_id: str) -> None:
    _, role = _role_of(cfn, function_id)
    assert _grants(role, set(cfn["Resources"])) == EXPECTED_GRANTS[function_id]


@pytest.mark.parametrize("function_id", sorted(EXPECTED_GRANTS))
def test_no_wildcard_actions_or_resources(cfn: dict[str, Any], function_id: str) -> None:
    _, role = _role_of(cfn, function_id)
    for statement in _statements(role):
        assert statement["Effect"] == "Allow"
        assert "NotAction" not in statement
        assert "NotResource" not in statement
        actions = _as_list(statement["Action"])
        assert all("*" not in action for action in actions), actions
        if "*" in _as_list(statement["Resource"]):
            assert set(actions) <= RESOURCE_STAR_ACTIONS, statement


@pytest.mark.parametrize("function_id", sorted(EXPECTED_GRANTS))
def test_managed_policies_are_logs_and_xray_only(cfn: dict[str, Any], function_id: str) -> None:
    _, role = _role_of(cfn, function_id)
    managed = {_managed_policy_arn(arn) for arn in role["Properties"].get("ManagedPolicyArns", [])}
    assert managed == ALLOWED_MANAGED_POLICIES


@pytest.mark.parametrize("function_id", sorted(EXPECTED_GRANTS))
def test_role_trusts_only_lambda(cfn: dict[str, Any], function_id: str) -> None:
    _, role = _role_of(cfn, function_id)
    statements = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert len(statements) == 1
    assert statements[0]["Principal"] == {"Service": ["lambda.amazonaws.com"]}
    assert _as_list(statements[0]["Action"]) == ["sts:AssumeRole"]


def test_one_role_per_function(cfn: dict[str, Any]) -> None:
    functions = resources_of_type(cfn, "AWS::Lambda::Function")
    roles = [_role_of(cfn, function_id)[0] for function_id in functions]
    assert len(roles) == len(set(roles)) == len(functions)
    # and no role of the stack is assumable by Lambda without belonging to a function
    lambda_roles = {
        role_id
        for role_id, role in resources_of_type(cfn, "AWS::IAM::Role").items()
        if "lambda.amazonaws.com" in str(role["Properties"]["AssumeRolePolicyDocument"])
    }
    assert lambda_roles == set(roles)


def test_sqs_fed_function_gets_no_managed_sqs_policy(cfn: dict[str, Any]) -> None:
    """SAM attaches AWSLambdaSQSQueueExecutionRole (sqs:* on "*") to generated roles of SQS-fed functions."""
    mappings = resources_of_type(cfn, "AWS::Lambda::EventSourceMapping")
    assert mappings
    for mapping in mappings.values():
        function_id = mapping["Properties"]["FunctionName"]["Ref"]
        _, role = _role_of(cfn, function_id)
        assert not any("SQS" in _managed_policy_arn(arn) for arn in role["Properties"].get("ManagedPolicyArns", []))
        queue_id = mapping["Properties"]["EventSourceArn"]["Fn::GetAtt"][0]
        grants = _grants(role, set(cfn["Resources"]))
        for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"):
            assert grants[action] == {queue_id}, action


def test_schedule_roles_only_invoke_their_function_and_reach_their_dlq(cfn: dict[str, Any]) -> None:
    schedules = resources_of_type(cfn, "AWS::Scheduler::Schedule")
    assert schedules
    logical_ids = set(cfn["Resources"])
    for schedule in schedules.values():
        target = schedule["Properties"]["Target"]
        role_id = target["RoleArn"]["Fn::GetAtt"][0]
        function_id = target["Arn"]["Fn::GetAtt"][0]
        dlq_id = target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
        assert _grants(cfn["Resources"][role_id], logical_ids) == {
            "lambda:InvokeFunction": {function_id},
            "sqs:SendMessage": {dlq_id},
        }
        assert "ManagedPolicyArns" not in cfn["Resources"][role_id]["Properties"]


def test_api_gateway_permissions_are_scoped_to_this_api(cfn: dict[str, Any]) -> None:
    permissions = resources_of_type(cfn, "AWS::Lambda::Permission")
    assert permissions
    for permission in permissions.values():
        props = permission["Properties"]
        assert props["Action"] == "lambda:InvokeFunction"
        assert props["Principal"] == "apigateway.amazonaws.com"
        text, variables = props["SourceArn"]["Fn::Sub"]  # only this stack's API, one route, may invoke
        assert variables["__ApiId__"] == {"Ref": "HttpApi"}
        assert text.startswith("arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${__ApiId__}/")
