"""local/redrive.py against moto server: dead-lettered messages go back to their queue exactly once, the
count is printed, and a second run finds nothing; on AWS the queues come from the CloudFormation stack."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from local import redrive
from local.aws import LocalAws

N = 23  # more than two receive batches of ten


@pytest.fixture(scope="module")
def aws() -> Iterator[LocalAws]:
    with LocalAws(set_environment=False) as running:
        yield running


@pytest.fixture
def sqs(aws: LocalAws) -> Any:
    return aws.client("sqs")


def _drain(sqs: Any, queue_url: str) -> list[str]:
    """Every message body of the queue, each received once (and deleted)."""
    bodies: list[str] = []
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=300).get(
            "Messages", []
        )
        if not messages:
            return bodies
        bodies += [message["Body"] for message in messages]
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
        )


def _dead_letter(sqs: Any, queue_url: str, count: int) -> list[str]:
    bodies = [json.dumps({"test": "redrive", "n": n, "run": uuid.uuid4().hex}) for n in range(count)]
    for start in range(0, count, 10):
        sqs.send_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(i), "MessageBody": body} for i, body in enumerate(bodies[start : start + 10])],
        )
    return bodies


def _local_run(aws: LocalAws, *queues: str) -> list[str]:
    argv = ["--local", "--endpoint-url", aws.endpoint_url, "--stack-name", aws.stack_name, "--wait-seconds", "0"]
    for queue in queues:
        argv += ["--queue", queue]
    return argv


@pytest.mark.parametrize(
    ("queue", "source_id", "dead_letter_id"),
    [
        ("payment-events", "PaymentEventsQueue", "PaymentEventsDeadLetterQueue"),
        ("copy-jobs", "CopyJobsQueue", "CopyJobsDeadLetterQueue"),
    ],
)
def test_every_message_goes_back_exactly_once_and_a_second_run_moves_none(
    aws: LocalAws, sqs: Any, capsys: pytest.CaptureFixture[str], queue: str, source_id: str, dead_letter_id: str
) -> None:
    source, dead_letter = aws.physical_ids[source_id], aws.physical_ids[dead_letter_id]
    bodies = _dead_letter(sqs, dead_letter, N)

    assert redrive.main(_local_run(aws, queue)) == 0
    first = capsys.readouterr().out
    assert redrive.main(_local_run(aws, queue)) == 0
    second = capsys.readouterr().out

    source_name, dead_letter_name = source.rsplit("/", 1)[1], dead_letter.rsplit("/", 1)[1]
    assert first == f"{queue}: moved {N} messages from {dead_letter_name} to {source_name}\n"
    assert second == f"{queue}: moved 0 messages from {dead_letter_name} to {source_name}\n"
    moved = _drain(sqs, source)
    assert sorted(moved) == sorted(bodies)  # each one, once
    assert _drain(sqs, dead_letter) == []


def test_both_queues_in_one_run(aws: LocalAws, sqs: Any, capsys: pytest.CaptureFixture[str]) -> None:
    payments = _dead_letter(sqs, aws.physical_ids["PaymentEventsDeadLetterQueue"], 3)
    jobs = _dead_letter(sqs, aws.physical_ids["CopyJobsDeadLetterQueue"], 1)
    assert redrive.main(_local_run(aws, "payment-events", "copy-jobs")) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" from ")[0] for line in lines] == [
        "payment-events: moved 3 messages",
        "copy-jobs: moved 1 message",
    ]
    assert sorted(_drain(sqs, aws.physical_ids["PaymentEventsQueue"])) == sorted(payments)
    assert _drain(sqs, aws.physical_ids["CopyJobsQueue"]) == jobs


class RefusingOne:
    """An SQS client whose source queue refuses the first message of each batch sent."""

    def __init__(self, sqs: Any) -> None:
        self._sqs = sqs

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sqs, name)

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        refused, *rest = Entries
        answer = self._sqs.send_message_batch(QueueUrl=QueueUrl, Entries=rest) if rest else {"Successful": []}
        failure = {"Id": refused["Id"], "SenderFault": False, "Code": "InternalError", "Message": "try again"}
        return {"Successful": answer.get("Successful", []), "Failed": [failure]}


def test_a_message_the_source_refuses_stays_in_the_dead_letter_queue_visible(aws: LocalAws, sqs: Any) -> None:
    source, dead_letter = aws.physical_ids["PaymentEventsQueue"], aws.physical_ids["PaymentEventsDeadLetterQueue"]
    bodies = _dead_letter(sqs, dead_letter, 4)

    moved, refused = redrive.redrive(RefusingOne(sqs), source, dead_letter, wait_seconds=0)

    assert (moved, refused) == (3, 1)
    in_source = _drain(sqs, source)
    left = _drain(sqs, dead_letter)  # visible at once: no 120 s hold left on it
    assert len(left) == 1
    assert sorted(in_source + left) == sorted(bodies)


def test_the_command_fails_when_a_message_is_refused(
    aws: LocalAws, sqs: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    dead_letter = aws.physical_ids["CopyJobsDeadLetterQueue"]
    bodies = _dead_letter(sqs, dead_letter, 2)
    real = redrive.redrive
    monkeypatch.setattr(redrive, "redrive", lambda client, *a, **k: real(RefusingOne(client), *a, **k))

    assert redrive.main(_local_run(aws, "copy-jobs")) == 1
    output = capsys.readouterr()
    assert "moved 1 message from" in output.out
    assert "1 refused" in output.out
    assert "InternalError" in output.err
    monkeypatch.setattr(redrive, "redrive", real)
    assert redrive.main(_local_run(aws, "copy-jobs")) == 0  # once fixed, the rest goes
    assert "moved 1 message from" in capsys.readouterr().out
    assert sorted(_drain(sqs, aws.physical_ids["CopyJobsQueue"])) == sorted(bodies)


STACK_TEMPLATE = {
    "Resources": {
        "PaymentEventsDeadLetterQueue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "cfn-pe-dlq"}},
        "PaymentEventsQueue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": "cfn-pe",
                "RedrivePolicy": {
                    "deadLetterTargetArn": {"Fn::GetAtt": ["PaymentEventsDeadLetterQueue", "Arn"]},
                    "maxReceiveCount": 5,
                },
            },
        },
    }
}


def test_on_aws_the_queues_come_from_the_stack(
    aws: LocalAws, sqs: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in aws.environment.items():  # the default session, as on AWS, but pointed at moto
        monkeypatch.setenv(name, value)
    stack_name = f"redrive-{uuid.uuid4().hex[:8]}"
    cloudformation = aws.client("cloudformation")
    cloudformation.create_stack(StackName=stack_name, TemplateBody=json.dumps(STACK_TEMPLATE))
    try:
        source = redrive.stack_queue_url(cloudformation, stack_name, "PaymentEventsQueue")
        dead_letter = redrive.dead_letter_queue_url(sqs, source)
        assert dead_letter.endswith("/cfn-pe-dlq")
        bodies = _dead_letter(sqs, dead_letter, 12)

        argv = ["--queue", "payment-events", "--stack-name", stack_name, "--endpoint-url", aws.endpoint_url]
        assert redrive.main([*argv, "--wait-seconds", "0"]) == 0
        assert capsys.readouterr().out == "payment-events: moved 12 messages from cfn-pe-dlq to cfn-pe\n"
        assert sorted(_drain(sqs, source)) == sorted(bodies)
    finally:
        cloudformation.delete_stack(StackName=stack_name)


def test_without_a_stack_or_the_local_stack_it_says_what_it_needs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    with pytest.raises(SystemExit):
        redrive.main(["--queue", "payment-events"])
    assert "--stack-name is required" in capsys.readouterr().err
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setattr(redrive, "STACK_JSON", tmp_path / "stack.json")
    with pytest.raises(SystemExit, match="make local-stack"):
        redrive.main(["--queue", "payment-events", "--local"])


def test_the_local_endpoint_is_found_in_the_running_local_stacks_state(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make local-stack` writes .sam-local/stack.json: where its servers are, as this machine sees them."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    stack_json = tmp_path / "stack.json"
    stack_json.write_text(json.dumps({"aws_endpoint_url": "http://127.0.0.1:4566", "api_url": "http://127.0.0.1:1"}))
    monkeypatch.setattr(redrive, "STACK_JSON", stack_json)
    assert redrive._local_endpoint(None) == "http://127.0.0.1:4566"
    assert redrive._local_endpoint("http://127.0.0.1:9") == "http://127.0.0.1:9"
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:7")
    assert redrive._local_endpoint(None) == "http://127.0.0.1:7"
