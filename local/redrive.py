"""Move a queue's dead-lettered messages back to it once the cause is fixed (docs/runbook.md "Redrive").

    make redrive QUEUE=payment-events                      # the local stack (make local-stack)
    make redrive QUEUE=copy-jobs STACK=qbosync-prod        # AWS, with your AWS credentials
    python -m local.redrive --queue payment-events --stack-name qbosync-prod [--region eu-west-1]
    python -m local.redrive --queue payment-events --local [--endpoint-url http://127.0.0.1:5000]

On AWS the source queue is the stack's resource of that name (CloudFormation); locally it is the local
stack's queue at the local AWS endpoint (--endpoint-url, else AWS_ENDPOINT_URL, else the endpoint in the
.sam-local/stack.json that `make local-stack` writes). Its dead-letter queue is the one its RedrivePolicy names, so the
script moves exactly what the deployed queue dead-lettered. It prints how many messages it moved per queue.

Safe to run twice, or twice at once: a message is sent to the source queue first and deleted from the
dead-letter queue after; while one run holds a message it is invisible to any other, and a rerun finds the
dead-letter queue empty. A crash between the send and the delete leaves that one message in both queues
and a rerun sends it again: both consumers absorb a duplicate (payment sync reads the payment's current
state and keeps one Productive payment per QuickBooks payment; a copy job's worker goes on with what is
still pending of the job and replays a batch by its request id). A message the source queue refuses stays
in the dead-letter queue, visible again at once, and the exit status is 1.

SQS's own StartMessageMoveTask does the same on AWS, but moto (the local stack) does not have it; one way
for both keeps the local rehearsal honest.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from local.aws import FAKE_CREDENTIALS, REGION
from local.template import REPO_ROOT, load_template

#: The queues a person redrives, by the name used on the command line -> the template's logical id.
QUEUES: Mapping[str, str] = {"payment-events": "PaymentEventsQueue", "copy-jobs": "CopyJobsQueue"}
LOCAL_STACK_NAME = "qbosync-local"  # local.aws.LocalAws's default stack name
#: What `make local-stack` writes about the running stack (local/sam_local/stack.py, StackFiles.state).
STACK_JSON = REPO_ROOT / ".sam-local" / "stack.json"
#: How long a received message stays invisible to other runs: far longer than one send and delete.
HOLD_SECONDS = 120


@dataclass(frozen=True)
class Moved:
    queue: str
    source_url: str
    dead_letter_url: str
    moved: int
    refused: int


def local_queue_url(sqs: Any, stack_name: str, logical_id: str) -> str:
    """The local stack names a queue `<stack name>-<logical id>` (local.aws.LocalAws)."""
    return str(sqs.get_queue_url(QueueName=f"{stack_name}-{logical_id}")["QueueUrl"])


def stack_queue_url(cloudformation: Any, stack_name: str, logical_id: str) -> str:
    """A deployed queue's URL is its CloudFormation physical id."""
    answer = cloudformation.describe_stack_resource(StackName=stack_name, LogicalResourceId=logical_id)
    return str(answer["StackResourceDetail"]["PhysicalResourceId"])


def dead_letter_queue_url(sqs: Any, source_url: str) -> str:
    """The queue the source's RedrivePolicy sends its failures to."""
    attributes = sqs.get_queue_attributes(QueueUrl=source_url, AttributeNames=["RedrivePolicy"])["Attributes"]
    if "RedrivePolicy" not in attributes:
        raise SystemExit(f"{source_url} has no dead-letter queue (no RedrivePolicy)")
    arn = str(json.loads(attributes["RedrivePolicy"])["deadLetterTargetArn"])
    account, name = arn.split(":")[4:6]
    return str(sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"])


def redrive(sqs: Any, source_url: str, dead_letter_url: str, *, wait_seconds: int = 2) -> tuple[int, int]:
    """Move every message of `dead_letter_url` to `source_url`, ten at a time: send, then delete.
    Returns (moved, refused); it stops at the first batch the source queue refused part of."""
    moved = 0
    while True:
        answer = sqs.receive_message(
            QueueUrl=dead_letter_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=wait_seconds,  # a long poll: an empty answer means the queue is empty
            VisibilityTimeout=HOLD_SECONDS,
            MessageAttributeNames=["All"],
        )
        messages: list[dict[str, Any]] = answer.get("Messages", [])
        if not messages:
            return moved, 0
        entries = []
        for index, message in enumerate(messages):
            entry: dict[str, Any] = {"Id": str(index), "MessageBody": message["Body"]}
            if message.get("MessageAttributes"):
                entry["MessageAttributes"] = message["MessageAttributes"]
            entries.append(entry)
        sent = sqs.send_message_batch(QueueUrl=source_url, Entries=entries)
        accepted = {entry["Id"] for entry in sent.get("Successful", [])}
        done = [(str(i), m["ReceiptHandle"]) for i, m in enumerate(messages) if str(i) in accepted]
        if done:
            sqs.delete_message_batch(
                QueueUrl=dead_letter_url, Entries=[{"Id": i, "ReceiptHandle": handle} for i, handle in done]
            )
            moved += len(done)
        refused = [(str(i), m["ReceiptHandle"]) for i, m in enumerate(messages) if str(i) not in accepted]
        if refused:
            for failure in sent.get("Failed", []):
                reason = f"{failure.get('Code')} {failure.get('Message', '')}"
                print(f"refused by the source queue: {reason}", file=sys.stderr)
            # Visible again at once, for the next run after the cause is fixed.
            sqs.change_message_visibility_batch(
                QueueUrl=dead_letter_url,
                Entries=[{"Id": i, "ReceiptHandle": handle, "VisibilityTimeout": 0} for i, handle in refused],
            )
            return moved, len(refused)


def _local_endpoint(explicit: str | None) -> str:
    if explicit:
        return explicit
    if os.environ.get("AWS_ENDPOINT_URL"):
        return os.environ["AWS_ENDPOINT_URL"]
    if STACK_JSON.is_file():
        found = json.loads(STACK_JSON.read_text()).get("aws_endpoint_url")
        if isinstance(found, str) and found:
            return found
    raise SystemExit(
        "no local AWS endpoint: start the local stack (make local-stack) and pass ENDPOINT=<its AWS endpoint> "
        "(or --endpoint-url, or AWS_ENDPOINT_URL)"
    )


def _check_template(queues: Sequence[str]) -> None:
    """The queue names above still name queues of the template that have a dead-letter queue."""
    resources = load_template()["Resources"]
    for queue in queues:
        resource = resources.get(QUEUES[queue], {})
        if "RedrivePolicy" not in resource.get("Properties", {}):
            raise SystemExit(f"{QUEUES[queue]} is not a queue with a dead-letter queue in template.yaml")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.redrive", description=__doc__.split("\n\n")[0])
    parser.add_argument("--queue", action="append", choices=sorted(QUEUES), required=True, help="repeatable")
    parser.add_argument("--stack-name", help=f"the CloudFormation stack; with --local: {LOCAL_STACK_NAME}")
    parser.add_argument("--local", action="store_true", help="the local stack, not AWS")
    parser.add_argument("--endpoint-url", help="the AWS endpoint (the local stack's, with --local)")
    parser.add_argument("--region", help="AWS region (default: your AWS configuration)")
    parser.add_argument("--wait-seconds", type=int, default=2, choices=range(21), metavar="0-20")
    args = parser.parse_args(argv)
    queues: list[str] = list(dict.fromkeys(args.queue))
    _check_template(queues)

    import boto3

    if args.local:
        session = boto3.Session(
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=FAKE_CREDENTIALS["AWS_SESSION_TOKEN"],
            region_name=args.region or REGION,
        )
        endpoint = _local_endpoint(args.endpoint_url)
        sqs = session.client("sqs", endpoint_url=endpoint)
        stack_name = args.stack_name or LOCAL_STACK_NAME

        def source_url(logical_id: str) -> str:
            return local_queue_url(sqs, stack_name, logical_id)

    else:
        if not args.stack_name:
            parser.error("--stack-name is required on AWS (or --local for the local stack)")
        session = boto3.Session(region_name=args.region)
        sqs = session.client("sqs", endpoint_url=args.endpoint_url)
        cloudformation = session.client("cloudformation", endpoint_url=args.endpoint_url)

        def source_url(logical_id: str) -> str:
            return stack_queue_url(cloudformation, args.stack_name, logical_id)

    results = []
    for queue in queues:
        source = source_url(QUEUES[queue])
        dead_letter = dead_letter_queue_url(sqs, source)
        moved, refused = redrive(sqs, source, dead_letter, wait_seconds=args.wait_seconds)
        results.append(Moved(queue, source, dead_letter, moved, refused))
        line = f"{queue}: moved {moved} message{'s' if moved != 1 else ''} from {_name(dead_letter)} to {_name(source)}"
        print(line + (f"; {refused} refused, left in {_name(dead_letter)}" if refused else ""), flush=True)
    return 1 if any(result.refused for result in results) else 0


def _name(queue_url: str) -> str:
    return Path(urlsplit(queue_url).path).name


if __name__ == "__main__":
    raise SystemExit(main())
