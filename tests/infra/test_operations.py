"""Running it on AWS: the alarms and the dashboard of template.yaml (docs/runbook.md).

Every alarm goes to the one SNS topic with a threshold and its reason; every dead-letter queue has one;
the dashboard is valid JSON whose metrics are the ones the code emits, in the namespace the functions
write to."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args

import pytest

from local.template import FUNCTION_TYPE, REPO_ROOT, resources_of_type
from qbosync.domain.connection import ConnectionStatus
from qbosync.domain.webhooks import SkipReason

ALARM_TYPE = "AWS::CloudWatch::Alarm"
QUEUE_TYPE = "AWS::SQS::Queue"
# What issue 12 "On AWS" asks for, besides one alarm per dead-letter queue.
NAMED_ALARMS = {
    "CopyErrorRateAlarm",
    "WebhookRejectionRateAlarm",
    "ReconcileNotRunAlarm",
    "NeedsReconnectSpikeAlarm",
    "LambdaThrottlesAlarm",
}
RUNBOOK = REPO_ROOT / "docs" / "runbook.md"
ONE_DAY = 86400  # CloudWatch: Period x EvaluationPeriods of an alarm is at most one day
_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")
_SCHEDULE_HOURS = re.compile(r"^rate\((\d+) hours?\)$")


def _code() -> str:
    """The source that runs in Lambda: the handlers and the layer."""
    files = [*(REPO_ROOT / "functions").rglob("*.py"), *(REPO_ROOT / "layers" / "qbosync" / "qbosync").rglob("*.py")]
    return "\n".join(path.read_text() for path in sorted(files))


CODE = _code()


def emitted(name: str, extra_dimension: str | None = None) -> bool:
    """The code writes metric `name`: by its literal name (Metrics.add_metric, the upstream table of
    wiring), or, with a dimension beside `service`, through observability.count_by."""
    if extra_dimension is None:
        return f'"{name}"' in CODE
    return f'count_by("{name}", "{extra_dimension}"' in CODE


def _marked(text: str) -> str:
    """A Fn::Sub text with each ${X} replaced by <X>, so the JSON it holds can be parsed."""
    return _SUB_VARIABLE.sub(lambda match: f"<{match.group(1)}>", text)


@pytest.fixture(scope="module")
def alarms(sam_template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {alarm_id: alarm["Properties"] for alarm_id, alarm in resources_of_type(sam_template, ALARM_TYPE).items()}


@pytest.fixture(scope="module")
def namespace(sam_template: dict[str, Any]) -> Any:
    """The namespace the functions write their metrics to (Globals), as the template spells it."""
    return sam_template["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"]


@pytest.fixture(scope="module")
def dashboard(sam_template: dict[str, Any]) -> dict[str, Any]:
    (resource,) = resources_of_type(sam_template, "AWS::CloudWatch::Dashboard").values()
    body = resource["Properties"]["DashboardBody"]
    assert set(body) == {"Fn::Sub"}
    assert isinstance(body["Fn::Sub"], str)
    parsed: dict[str, Any] = json.loads(_marked(body["Fn::Sub"]))
    return parsed


def dead_letter_queues(template: dict[str, Any]) -> set[str]:
    """Every queue that is some queue's, function's or schedule's dead-letter target."""
    targets: set[str] = set()
    for queue in resources_of_type(template, QUEUE_TYPE).values():
        policy = queue["Properties"].get("RedrivePolicy")
        if policy:
            targets.add(policy["deadLetterTargetArn"]["Fn::GetAtt"][0])
    for function in resources_of_type(template, FUNCTION_TYPE).values():
        props = function["Properties"]
        if "DeadLetterQueue" in props:
            targets.add(props["DeadLetterQueue"]["TargetArn"]["Fn::GetAtt"][0])
        for event in props.get("Events", {}).values():
            config = event["Properties"].get("DeadLetterConfig")
            if config:
                targets.add(config["Arn"]["Fn::GetAtt"][0])
    return targets


def _metric_stats(alarm: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The metrics an alarm reads: its own, or those of its metric math."""
    if "MetricName" in alarm:
        yield {"Namespace": alarm["Namespace"], "MetricName": alarm["MetricName"], "Dimensions": alarm["Dimensions"]}
    for query in alarm.get("Metrics", []):
        if "MetricStat" in query:
            yield query["MetricStat"]["Metric"]


def _periods(alarm: dict[str, Any]) -> set[int]:
    if "Period" in alarm:
        return {alarm["Period"]}
    return {query["MetricStat"]["Period"] for query in alarm["Metrics"] if "MetricStat" in query}


# --------------------------------------------------------------------------- alarms


def test_every_queue_is_a_source_with_a_dlq_or_a_dlq(sam_template: dict[str, Any]) -> None:
    queues = resources_of_type(sam_template, QUEUE_TYPE)
    dlqs = dead_letter_queues(sam_template)
    assert dlqs == {
        "PaymentEventsDeadLetterQueue",
        "CopyJobsDeadLetterQueue",
        "TokenRefreshDeadLetterQueue",
        "ReconcileDeadLetterQueue",
    }
    for queue_id, queue in queues.items():
        assert ("RedrivePolicy" in queue["Properties"]) != (queue_id in dlqs), queue_id


def test_every_dead_letter_queue_has_an_alarm_on_any_message(
    sam_template: dict[str, Any], alarms: dict[str, dict[str, Any]]
) -> None:
    watched: dict[str, list[str]] = {}
    for alarm_id, alarm in alarms.items():
        if alarm.get("Namespace") == "AWS/SQS":
            (dimension,) = alarm["Dimensions"]
            assert dimension["Name"] == "QueueName"
            watched.setdefault(dimension["Value"]["Fn::GetAtt"][0], []).append(alarm_id)
    assert set(watched) == dead_letter_queues(sam_template)
    for queue_id, (alarm_id,) in watched.items():
        alarm = alarms[alarm_id]
        assert alarm_id == queue_id.replace("Queue", "Alarm")
        assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
        assert alarm["Statistic"] == "Maximum"
        assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)
        assert alarm["TreatMissingData"] == "notBreaching"


def test_the_alarms_the_issue_names_exist(sam_template: dict[str, Any], alarms: dict[str, dict[str, Any]]) -> None:
    dlq_alarms = {queue_id.replace("Queue", "Alarm") for queue_id in dead_letter_queues(sam_template)}
    assert set(alarms) == NAMED_ALARMS | dlq_alarms


def test_every_alarm_goes_to_the_topic_with_a_threshold_and_its_reason(
    sam_template: dict[str, Any], alarms: dict[str, dict[str, Any]]
) -> None:
    (topic_id,) = resources_of_type(sam_template, "AWS::SNS::Topic")
    assert sam_template["Resources"][topic_id]["Properties"]["KmsMasterKeyId"]
    for alarm_id, alarm in alarms.items():
        assert alarm["AlarmActions"] == [{"Ref": topic_id}], alarm_id
        assert alarm["OKActions"] == [{"Ref": topic_id}], alarm_id
        assert isinstance(alarm["Threshold"], int | float), alarm_id
        assert alarm["ComparisonOperator"], alarm_id
        assert alarm["TreatMissingData"], alarm_id
        description = " ".join(alarm["AlarmDescription"].split())
        assert description.startswith("Threshold: "), alarm_id
        assert " Reason: " in description, alarm_id
        assert f'docs/runbook.md "{alarm_id}"' in description, alarm_id
        assert len(description) <= 1024, alarm_id  # CloudWatch's limit
        assert all(period % 60 == 0 for period in _periods(alarm)), alarm_id
        evaluation = max(_periods(alarm)) * alarm["EvaluationPeriods"]
        assert evaluation <= ONE_DAY, alarm_id


def test_alarms_on_our_metrics_read_metrics_the_code_emits(
    alarms: dict[str, dict[str, Any]], namespace: Any, sam_template: dict[str, Any]
) -> None:
    functions = set(resources_of_type(sam_template, FUNCTION_TYPE))
    for alarm_id, alarm in alarms.items():
        for metric in _metric_stats(alarm):
            dimensions = {d["Name"]: d["Value"] for d in metric["Dimensions"]}
            if metric["Namespace"] == "AWS/Lambda":
                assert dimensions["FunctionName"]["Ref"] in functions, alarm_id
            elif metric["Namespace"] != "AWS/SQS":
                assert metric["Namespace"] == namespace, alarm_id
                assert dimensions == {"service": "qbosync"}, alarm_id
                assert emitted(metric["MetricName"]), (alarm_id, metric["MetricName"])


def test_the_emission_check_can_fail() -> None:
    assert emitted("ReconcileRuns")
    assert not emitted("ReconcileRunz")
    assert emitted("Connections", "status")
    assert not emitted("Connections", "colour")


def test_math_alarms_return_one_series_and_name_only_their_own_metrics(alarms: dict[str, dict[str, Any]]) -> None:
    for alarm_id, alarm in alarms.items():
        if "Metrics" not in alarm:
            continue
        queries = alarm["Metrics"]
        assert len(queries) <= 10, alarm_id  # CloudWatch's limit for an alarm
        (returned,) = [query for query in queries if query["ReturnData"]]
        inputs = {query["Id"] for query in queries if "MetricStat" in query}
        used = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", returned["Expression"])) - {"FILL", "IF", "SUM", "METRICS"}
        assert used <= inputs, (alarm_id, used - inputs)
        assert used == inputs or "METRICS()" in returned["Expression"], (alarm_id, inputs - used)


def test_reconcile_not_running_is_noticed_within_one_missed_run(
    alarms: dict[str, dict[str, Any]], sam_template: dict[str, Any]
) -> None:
    alarm = alarms["ReconcileNotRunAlarm"]
    (event,) = sam_template["Resources"]["ReconcileFunction"]["Properties"]["Events"].values()
    match = _SCHEDULE_HOURS.match(event["Properties"]["ScheduleExpression"])
    assert match
    every = int(match[1]) * 3600
    window = alarm["Period"] * alarm["EvaluationPeriods"]
    assert every < window < 2 * every  # one run missed, never two
    assert alarm["DatapointsToAlarm"] == alarm["EvaluationPeriods"]  # every hour of the window empty
    assert (alarm["MetricName"], alarm["Statistic"]) == ("ReconcileRuns", "Sum")
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("LessThanThreshold", 1)
    assert alarm["TreatMissingData"] == "breaching"  # no run writes no data


def test_throttles_of_every_function_are_alarmed(
    alarms: dict[str, dict[str, Any]], sam_template: dict[str, Any]
) -> None:
    alarm = alarms["LambdaThrottlesAlarm"]
    watched = {
        metric["Dimensions"][0]["Value"]["Ref"]
        for metric in _metric_stats(alarm)
        if metric["MetricName"] == "Throttles" and metric["Namespace"] == "AWS/Lambda"
    }
    assert watched == set(resources_of_type(sam_template, FUNCTION_TYPE))
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)


# --------------------------------------------------------------------------- the dashboard


def _metric_rows(dashboard: dict[str, Any]) -> Iterator[tuple[str, list[Any]]]:
    """(widget title, metric row) for each metric of each metric widget; a row is
    [namespace, name, dimension, value, ..., {options}?]."""
    for widget in dashboard["widgets"]:
        if widget["type"] == "metric":
            for row in widget["properties"]["metrics"]:
                yield widget["properties"]["title"], row


def _parts(row: list[Any]) -> tuple[str, str, dict[str, str]]:
    plain = [part for part in row if not isinstance(part, dict)]
    assert len(plain) % 2 == 0, row
    assert "." not in plain, row  # full rows: no "repeat the row above" shorthand
    namespace, name, *pairs = plain
    return namespace, name, dict(zip(pairs[::2], pairs[1::2], strict=True))


def test_the_dashboard_is_in_the_template_and_its_body_is_json(
    sam_template: dict[str, Any], dashboard: dict[str, Any]
) -> None:
    (resource,) = resources_of_type(sam_template, "AWS::CloudWatch::Dashboard").values()
    assert resource["Properties"]["DashboardName"] == {"Ref": "AWS::StackName"}  # stages may share an account
    known = set(sam_template["Resources"]) | set(sam_template["Parameters"])
    for expression in _SUB_VARIABLE.findall(resource["Properties"]["DashboardBody"]["Fn::Sub"]):
        name = expression.split(".", 1)[0]
        assert name in known or name.startswith("AWS::"), expression
    assert dashboard["widgets"]


def test_dashboard_metrics_are_the_ones_the_code_emits(dashboard: dict[str, Any], namespace: Any) -> None:
    ours = _marked(namespace["Fn::Sub"])
    rows = list(_metric_rows(dashboard))
    assert rows
    for title, row in rows:
        metric_namespace, name, dimensions = _parts(row)
        if metric_namespace.startswith("AWS/"):
            continue
        assert metric_namespace == ours, title
        assert dimensions.pop("service") == "qbosync", title
        assert len(dimensions) <= 1, title
        extra = next(iter(dimensions), None)
        assert emitted(name, extra), (title, name, extra)


def test_the_dashboard_shows_what_the_issue_asks_for(dashboard: dict[str, Any]) -> None:
    by_title: dict[str, list[tuple[str, str, dict[str, str]]]] = {}
    for title, row in _metric_rows(dashboard):
        by_title.setdefault(title, []).append(_parts(row))

    def names(fragment: str) -> set[str]:
        (title,) = [title for title in by_title if fragment in title]
        return {name for _, name, _ in by_title[title]}

    def values(fragment: str, dimension: str) -> set[str]:
        (title,) = [title for title in by_title if fragment in title]
        return {dimensions[dimension] for _, _, dimensions in by_title[title]}

    assert {"CopiesCreated", "CopiesUpdated", "CopiesRefused", "CopiesFailed"} <= names("Copies per minute")
    assert names("Copy latency") == {"CopyLatency"}
    assert names("Webhook ack") == {"Duration"}
    assert values("Webhook ack", "FunctionName") == {"<PaymentWebhookFunction>"}
    assert names("Payment end-to-end lag") == {"PaymentEndToEndLag"}
    assert values("skipped by reason", "reason") == set(get_args(SkipReason))
    assert names("429s and 5xx") >= {"QuickBooksThrottled", "QuickBooksServerErrors", "ProductiveThrottled"}
    assert names("Token refresh outcomes") == {"TokensRefreshed", "ConnectionsNeedReconnect", "TokenRefreshFailures"}
    assert values("Connections by status", "status") == {status.value for status in ConnectionStatus}


def test_the_dashboard_shows_every_queue_and_every_alarm(
    dashboard: dict[str, Any], sam_template: dict[str, Any], alarms: dict[str, dict[str, Any]]
) -> None:
    queues = {
        dimensions["QueueName"]
        for _, row in _metric_rows(dashboard)
        for namespace, _, dimensions in [_parts(row)]
        if namespace == "AWS/SQS"
    }
    assert queues == {f"<{queue_id}.QueueName>" for queue_id in resources_of_type(sam_template, QUEUE_TYPE)}
    (alarm_widget,) = [widget for widget in dashboard["widgets"] if widget["type"] == "alarm"]
    assert set(alarm_widget["properties"]["alarms"]) == {f"<{alarm_id}.Arn>" for alarm_id in alarms}


def test_dashboard_widgets_fit_the_grid_without_overlapping(dashboard: dict[str, Any]) -> None:
    taken: set[tuple[int, int]] = set()
    for widget in dashboard["widgets"]:
        assert widget["x"] >= 0, widget
        assert widget["x"] + widget["width"] <= 24, widget
        cells = {
            (x, y)
            for x in range(widget["x"], widget["x"] + widget["width"])
            for y in range(widget["y"], widget["y"] + widget["height"])
        }
        assert not cells & taken, widget
        taken |= cells


# --------------------------------------------------------------------------- the runbook


def _runbook_sections() -> list[str]:
    return re.findall(r"^## (\w+)\s*$", RUNBOOK.read_text(), flags=re.MULTILINE)


def test_the_runbook_has_one_section_per_alarm(alarms: dict[str, dict[str, Any]]) -> None:
    sections = [section for section in _runbook_sections() if section.endswith("Alarm")]
    assert sorted(sections) == sorted(alarms)
    text = RUNBOOK.read_text()
    for alarm_id in alarms:
        section = text.split(f"## {alarm_id}\n", 1)[1].split("\n## ", 1)[0]
        for part in ("**What it means**", "**Where to look**", "**What to do**"):
            assert part in section, (alarm_id, part)


def test_the_readme_points_at_the_runbook_and_redrive() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    operations = readme.split("## Operations", 1)[1].split("\n## ", 1)[0]
    assert "docs/runbook.md" in operations
    assert "make redrive QUEUE=payment-events" in operations
    assert Path(REPO_ROOT / "docs" / "runbook.md").is_file()
