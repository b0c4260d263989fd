"""moto does not enforce IAM, so a handler could call AWS with an action its role lacks and every
local test would pass. This records every AWS call a handler makes during the integration tests and
checks it against the actions the template grants that function."""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from botocore.client import BaseClient

from local.template import list_functions, load_template

# Operations authorised by another action's name.
AUTHORISED_BY = {"sqs:SendMessageBatch": "sqs:SendMessage", "sqs:DeleteMessageBatch": "sqs:DeleteMessage"}
# A DynamoDB transaction is authorised item by item, by the action of each item's kind.
TRANSACTION_ITEM_ACTIONS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
}


def _actions(action: str, api_params: Any) -> set[str]:
    if action == "dynamodb:TransactWriteItems":
        return {TRANSACTION_ITEM_ACTIONS[kind] for item in api_params.get("TransactItems", []) for kind in item}
    return {AUTHORISED_BY.get(action, action)}


def granted_actions() -> dict[str, set[str]]:
    """Function directory name -> the actions its inline policies grant (those of the function,
    or of the explicit role its `Role` names)."""
    template = load_template()
    grants: dict[str, set[str]] = {}
    for function in list_functions(template):
        documents = [p for p in function.properties.get("Policies", []) or [] if isinstance(p, dict)]
        role = function.properties.get("Role")
        if isinstance(role, dict) and "Fn::GetAtt" in role:
            role_id = (
                role["Fn::GetAtt"][0] if isinstance(role["Fn::GetAtt"], list) else role["Fn::GetAtt"].split(".")[0]
            )
            policies = template["Resources"][role_id]["Properties"].get("Policies", [])
            documents += [policy["PolicyDocument"] for policy in policies]
        actions: set[str] = set()
        for document in documents:
            for statement in document.get("Statement", []):
                found = statement.get("Action", [])
                actions.update([found] if isinstance(found, str) else found)
        grants[Path(function.code_uri).name] = actions
    return grants


def _calling_function() -> str | None:
    frame = sys._getframe(2)
    while frame is not None:
        parts = Path(frame.f_code.co_filename).parts
        if len(parts) >= 3 and parts[-3] == "functions" and parts[-1] == "app.py":
            return parts[-2]
        frame = frame.f_back  # type: ignore[assignment]
    return None


@contextmanager
def recording_aws_calls() -> Iterator[dict[str, set[str]]]:
    used: dict[str, set[str]] = defaultdict(set)
    original = BaseClient._make_api_call

    def recording(self: BaseClient, operation_name: str, api_params: Any) -> Any:
        function = _calling_function()
        if function is not None:
            action = f"{self.meta.service_model.signing_name}:{operation_name}"
            used[function].update(_actions(action, api_params))
        return original(self, operation_name, api_params)

    BaseClient._make_api_call = recording
    try:
        yield used
    finally:
        BaseClient._make_api_call = original


def ungranted(used: dict[str, set[str]]) -> dict[str, set[str]]:
    grants = granted_actions()
    return {
        function: actions - grants.get(function, set())
        for function, actions in used.items()
        if actions - grants.get(function, set())
    }
