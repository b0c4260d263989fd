"""local/aws.py: moto on loopback with the resources of the real template (and of the fixture
template, for queues with a redrive policy and the SQS poller)."""

from __future__ import annotations

import json
import os
import sys
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from bench.cold_start import RemoteCalls, measure
from local.aws import LocalAws
from local.gateway import LocalGateway
from local.template import load_template, resolve, resolved_environment
from qbosync.adapters.dynamodb_common import is_conditional_failure
from tests.local.conftest import FIXTURE_TEMPLATE

INTUIT_APP = {
    "client_id": "client-123",
    "client_secret": "secret-456",
    "webhook_verifier_token": "verifier-789",
    "redirect_uri": "http://127.0.0.1:1/oauth/callback",
}


@pytest.fixture(scope="module")
def aws() -> Iterator[LocalAws]:
    with LocalAws(secret_values={"IntuitAppSecret": INTUIT_APP}) as running:
        yield running


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def test_endpoint_and_environment(aws: LocalAws) -> None:
    assert aws.endpoint_url.startswith("http://127.0.0.1:")
    assert os.environ["AWS_ENDPOINT_URL"] == aws.endpoint_url
    assert os.environ["AWS_ACCESS_KEY_ID"] == "testing"
    assert os.environ["AWS_DEFAULT_REGION"] == "us-east-1"


def test_the_server_counts_every_request_it_serves(aws: LocalAws) -> None:
    client = boto3.client("dynamodb")
    before = aws.requests.served
    client.get_item(TableName=aws.physical_ids["Table"], Key={"pk": {"S": "none"}, "sk": {"S": "none"}})
    boto3.client("sqs").list_queues()
    with pytest.raises(ClientError):
        boto3.client("secretsmanager").get_secret_value(SecretId="no-such-secret")
    assert aws.requests.served - before == 3  # a request answered with an error counts too


def test_the_cold_start_floor_makes_two_timed_calls_and_prices_a_warm_one(aws: LocalAws) -> None:
    floor = {
        "table": aws.physical_ids["Table"],
        "key": {"pk": {"S": "none"}, "sk": {"S": "none"}},
        "secret_id": aws.physical_ids["IntuitAppSecret"],
    }
    sample, _ = measure({"floor": floor}, {}, lambda: RemoteCalls(aws=aws.requests.served))
    assert sample.calls == RemoteCalls(aws=2)
    assert 0 < sample.warm_call_seconds < sample.total_seconds


def test_table_is_created_from_the_template(aws: LocalAws, template: dict[str, Any]) -> None:
    declared = template["Resources"]["Table"]["Properties"]
    client = boto3.client("dynamodb")  # plain boto3: the environment points it at moto
    table = client.describe_table(TableName=aws.physical_ids["Table"])["Table"]
    assert table["KeySchema"] == declared["KeySchema"]
    assert sorted(table["AttributeDefinitions"], key=str) == sorted(declared["AttributeDefinitions"], key=str)
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    indexes = {index["IndexName"]: index for index in table["GlobalSecondaryIndexes"]}
    assert set(indexes) == {declared_index["IndexName"] for declared_index in declared["GlobalSecondaryIndexes"]}
    for declared_index in declared["GlobalSecondaryIndexes"]:
        index = indexes[declared_index["IndexName"]]
        assert index["KeySchema"] == declared_index["KeySchema"]
        assert index["Projection"] == declared_index["Projection"]
    assert indexes["gsi1"]["Projection"] == {"ProjectionType": "ALL"}
    assert table["SSEDescription"]["Status"] == "ENABLED"
    ttl = client.describe_time_to_live(TableName=aws.physical_ids["Table"])["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}
    backups = client.describe_continuous_backups(TableName=aws.physical_ids["Table"])
    pitr = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert pitr["PointInTimeRecoveryStatus"] == "ENABLED"
    assert aws.resources["Table"].attributes["Arn"] == table["TableArn"]


def test_table_and_index_work(aws: LocalAws) -> None:
    table = boto3.resource("dynamodb").Table(aws.physical_ids["Table"])
    table.put_item(Item={"pk": "A#1", "sk": "META", "gsi1pk": "DUE", "gsi1sk": "2026-01-01", "expires_at": 1})
    assert table.get_item(Key={"pk": "A#1", "sk": "META"})["Item"]["gsi1pk"] == "DUE"
    found = table.query(
        IndexName="gsi1",
        KeyConditionExpression="gsi1pk = :due",
        ExpressionAttributeValues={":due": "DUE"},
    )["Items"]
    assert [item["pk"] for item in found] == ["A#1"]


def test_intuit_app_secret_has_the_callers_value(aws: LocalAws) -> None:
    client = boto3.client("secretsmanager")
    by_arn = client.get_secret_value(SecretId=aws.physical_ids["IntuitAppSecret"])
    name = aws.resources["IntuitAppSecret"].attributes["Name"]
    assert name == "qbosync/dev/intuit-app" + aws.name_suffix  # Name from the template, Stage=dev
    by_name = client.get_secret_value(SecretId=name)
    assert json.loads(by_arn["SecretString"]) == json.loads(by_name["SecretString"]) == INTUIT_APP


def test_signing_secret_is_generated(aws: LocalAws) -> None:
    value = aws.secret_json("AppSigningSecret")
    assert set(value) == {"current", "previous"}
    assert len(value["current"]) == len(value["previous"]) == 64
    assert value["current"] != value["previous"]
    assert value["current"].isalnum()


def test_notify_signing_secret_is_generated(aws: LocalAws) -> None:
    value = aws.secret_json("NotifySigningSecret")
    assert set(value) == {"current", "previous"}
    assert len(value["current"]) == 64
    assert value["current"] != aws.secret_json("AppSigningSecret")["current"]


def test_put_secret_value(aws: LocalAws) -> None:
    aws.put_secret_value("IntuitAppSecret", {**INTUIT_APP, "redirect_uri": "http://x/cb"})
    try:
        assert aws.secret_json("IntuitAppSecret")["redirect_uri"] == "http://x/cb"
    finally:
        aws.put_secret_value("IntuitAppSecret", INTUIT_APP)


def _race_for_a_lease(table: str, clients: list[Any]) -> list[int]:
    """Every client tries to take one fresh item's lease at once; returns who got it."""
    key = {"pk": {"S": f"LEASE#{uuid.uuid4()}"}, "sk": {"S": "LEASE"}}
    clients[0].put_item(TableName=table, Item=key)
    barrier = threading.Barrier(len(clients))
    winners: list[int] = []
    refusals: list[ClientError] = []

    def take(index: int) -> None:
        barrier.wait()
        try:
            clients[index].update_item(
                TableName=table,
                Key=key,
                UpdateExpression="SET lease_owner = :me",
                ConditionExpression="attribute_exists(pk) AND attribute_not_exists(lease_owner)",
                ExpressionAttributeValues={":me": {"S": str(index)}},
            )
        except ClientError as error:
            refusals.append(error)
        else:
            winners.append(index)

    threads = [threading.Thread(target=take, args=(index,)) for index in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(is_conditional_failure(refusal) for refusal in refusals), refusals
    stored = clients[0].get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]
    assert stored["lease_owner"]["S"] in {str(index) for index in winners}
    clients[0].delete_item(TableName=table, Key=key)
    return winners


def test_a_conditional_write_has_one_winner_however_many_race(aws: LocalAws) -> None:
    """DynamoDB checks a condition and writes as one step (the token refresh lease relies on it).
    A tiny thread switch interval makes a non-atomic check-then-write lose this race every few rounds."""
    clients = [aws.client("dynamodb") for _ in range(12)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        winners = [_race_for_a_lease(aws.physical_ids["Table"], clients) for _ in range(10)]
    finally:
        sys.setswitchinterval(interval)
    assert [len(round_winners) for round_winners in winners] == [1] * 10


def test_dead_letter_queue(aws: LocalAws) -> None:
    url = aws.physical_ids["TokenRefreshDeadLetterQueue"]
    attributes = boto3.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["SqsManagedSseEnabled"] == "true"
    assert attributes["MessageRetentionPeriod"] == "1209600"
    assert attributes["QueueArn"] == aws.resources["TokenRefreshDeadLetterQueue"].attributes["Arn"]


def test_every_table_secret_and_queue_of_the_template_exists(aws: LocalAws, template: dict[str, Any]) -> None:
    wanted = {
        logical_id
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] in ("AWS::DynamoDB::Table", "AWS::SecretsManager::Secret", "AWS::SQS::Queue")
    }
    assert {logical_id for logical_id, r in aws.resources.items() if r.created} == wanted


def test_globals_environment_resolves_to_local_names(aws: LocalAws, template: dict[str, Any]) -> None:
    env = resolved_environment(template, aws.names)
    assert env["TABLE_NAME"] == aws.physical_ids["Table"]
    assert env["INTUIT_APP_SECRET_ID"] == aws.physical_ids["IntuitAppSecret"]
    env = resolved_environment(template, aws.names, "ConnectionsFunction")  # Globals and its own
    assert env["TABLE_NAME"] == aws.physical_ids["Table"]
    assert env["APP_SIGNING_SECRET_ID"].startswith("arn:aws:secretsmanager:us-east-1:123456789012:secret:")
    assert env["CONNECTION_SECRET_PREFIX"] == "qbosync/dev/connections/"
    assert env["QBO_ENVIRONMENT"] == "sandbox"
    index_arn = resolve({"Fn::Sub": "${Table.Arn}/index/*"}, aws.names)
    assert index_arn == f"arn:aws:dynamodb:us-east-1:123456789012:table/{aws.physical_ids['Table']}/index/*"


def test_a_second_instance_gets_its_own_resources(aws: LocalAws) -> None:
    endpoint = os.environ["AWS_ENDPOINT_URL"]
    with LocalAws(parameters={"Stage": "prod"}) as second:
        assert second.endpoint_url != aws.endpoint_url
        assert second.physical_ids["Table"] != aws.physical_ids["Table"]
        assert second.secret_json("IntuitAppSecret")["client_id"] == "SET_OUT_OF_BAND"  # the template's value
        second_table = second.physical_ids["Table"]
        second_secret = second.physical_ids["AppSigningSecret"]
        assert second_secret != aws.physical_ids["AppSigningSecret"]
    assert os.environ["AWS_ENDPOINT_URL"] == endpoint  # put back
    with pytest.raises(ClientError):
        aws.client("secretsmanager").get_secret_value(SecretId=second_secret)
    client = aws.client("dynamodb")
    assert second_table not in client.list_tables()["TableNames"]  # the second one cleaned up after itself
    assert aws.physical_ids["Table"] in client.list_tables()["TableNames"]  # and left ours alone


def test_unknown_secret_values_are_refused() -> None:
    with pytest.raises(KeyError, match="NoSuchSecret"):
        LocalAws(secret_values={"NoSuchSecret": "x"})


# --------------------------------------------------------------------------- fixture template: queues


@pytest.fixture
def fixture_aws(aws: LocalAws) -> Iterator[LocalAws]:
    with LocalAws(FIXTURE_TEMPLATE) as running:
        yield running


def test_redrive_policy_points_at_the_dead_letter_queue(fixture_aws: LocalAws) -> None:
    attributes = fixture_aws.client("sqs").get_queue_attributes(
        QueueUrl=fixture_aws.physical_ids["WorkQueue"], AttributeNames=["All"]
    )["Attributes"]
    assert json.loads(attributes["RedrivePolicy"]) == {
        "deadLetterTargetArn": fixture_aws.resources["WorkDeadLetterQueue"].attributes["Arn"],
        "maxReceiveCount": 2,
    }
    assert attributes["VisibilityTimeout"] == "30"


def test_sqs_poller_honours_batch_size_and_partial_failures(fixture_aws: LocalAws) -> None:
    sqs = fixture_aws.client("sqs")
    queue = fixture_aws.physical_ids["WorkQueue"]
    dlq = fixture_aws.physical_ids["WorkDeadLetterQueue"]
    with LocalGateway(FIXTURE_TEMPLATE, names=fixture_aws.names) as gateway:
        (poller,) = gateway.sqs_pollers(sqs_client=sqs, failure_visibility_timeout=0)
        assert poller.batch_size == 3
        assert poller.report_batch_item_failures is True
        for body in ("ok-1", "fail-1", "ok-2", "ok-3"):
            sqs.send_message(QueueUrl=queue, MessageBody=body)
        module = gateway.handler("WorkerFunction").__module__
        processed = __import__(module, fromlist=["PROCESSED"]).PROCESSED
        processed.clear()

        assert poller.poll_once() == 3  # BatchSize
        assert poller.poll_once() >= 1
        assert sorted(processed) == ["ok-1", "ok-2", "ok-3"]
        # the failed message came back; after maxReceiveCount receives the queue moves it to the DLQ
        poller.drain(max_batches=5)
        moved = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10).get("Messages", [])
        assert [message["Body"] for message in moved] == ["fail-1"]
        assert sorted(processed) == ["ok-1", "ok-2", "ok-3"]


def test_sqs_poller_keeps_the_whole_batch_when_the_handler_raises(fixture_aws: LocalAws) -> None:
    sqs = fixture_aws.client("sqs")
    queue = fixture_aws.physical_ids["WorkQueue"]
    with LocalGateway(FIXTURE_TEMPLATE, names=fixture_aws.names) as gateway:
        (poller,) = gateway.sqs_pollers(sqs_client=sqs, failure_visibility_timeout=0)
        sqs.send_message(QueueUrl=queue, MessageBody="crash")
        sqs.send_message(QueueUrl=queue, MessageBody="ok-after-crash")
        assert poller.poll_once() == 2
        left = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages"])
        assert left["Attributes"]["ApproximateNumberOfMessages"] == "2"


def test_an_extra_instance_deletes_its_resources_on_stop(aws: LocalAws) -> None:
    """(A clean account on every start when no other instance runs is checked in a fresh process
    by test_lifecycle.)"""
    with LocalAws(FIXTURE_TEMPLATE) as extra:
        url = extra.physical_ids["WorkQueue"]
    with pytest.raises(ClientError):
        aws.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])


def test_async_invoke_retries_then_sends_the_event_to_the_dead_letter_queue(fixture_aws: LocalAws) -> None:
    sqs = fixture_aws.client("sqs")
    with LocalGateway(FIXTURE_TEMPLATE, names=fixture_aws.names) as gateway:
        ticks = __import__(gateway.handler("TickFunction").__module__, fromlist=["TICKS"]).TICKS
        ticks.clear()
        assert gateway.invoke_async("TickFunction", {"ok": True}, sqs_client=sqs) is True
        assert gateway.invoke_async("TickFunction", {"fail": True}, sqs_client=sqs) is False
        assert ticks == [{"ok": True}, {"fail": True}, {"fail": True}]  # 1 + MaximumRetryAttempts
    (message,) = sqs.receive_message(
        QueueUrl=fixture_aws.physical_ids["WorkDeadLetterQueue"], MessageAttributeNames=["All"]
    )["Messages"]
    assert json.loads(message["Body"]) == {"fail": True}
    assert message["MessageAttributes"]["ErrorMessage"]["StringValue"] == "tick failed"


def test_a_failed_transaction_leaves_every_item_as_it_was(aws: LocalAws) -> None:
    """moto's rollback, with the local server copying only the items a transaction names."""
    client = boto3.client("dynamodb")
    table = aws.physical_ids["Table"]
    pk = f"TX#{uuid.uuid4()}"

    def key(sk: str) -> dict[str, Any]:
        return {"pk": {"S": pk}, "sk": {"S": sk}}

    def item(sk: str) -> dict[str, Any] | None:
        return client.get_item(TableName=table, Key=key(sk), ConsistentRead=True).get("Item")

    client.put_item(TableName=table, Item={**key("kept"), "n": {"N": "1"}, "blob": {"B": b"\x00\xff"}})
    client.put_item(TableName=table, Item={**key("deleted"), "n": {"N": "2"}})
    before = {"kept": item("kept"), "deleted": item("deleted")}
    writes = [
        {"Put": {"TableName": table, "Item": {**key("new"), "n": {"N": "3"}}}},
        {
            "Update": {
                "TableName": table,
                "Key": key("kept"),
                "UpdateExpression": "SET n = :n, extra = :n",
                "ExpressionAttributeValues": {":n": {"N": "9"}},
            }
        },
        {"Delete": {"TableName": table, "Key": key("deleted")}},
    ]
    refused = {
        "Put": {
            "TableName": table,
            "Item": {**key("guard"), "n": {"N": "4"}},
            "ConditionExpression": "attribute_exists(pk)",
        }
    }
    with pytest.raises(ClientError) as cancelled:
        client.transact_write_items(TransactItems=[*writes, refused])
    assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
    twice = {"ConditionCheck": {"TableName": table, "Key": key("kept"), "ConditionExpression": "attribute_exists(pk)"}}
    with pytest.raises(ClientError) as invalid:
        client.transact_write_items(TransactItems=[*writes, twice])
    assert invalid.value.response["Error"]["Code"] == "ValidationException"
    assert item("new") is None
    assert item("guard") is None
    assert {"kept": item("kept"), "deleted": item("deleted")} == before

    client.transact_write_items(TransactItems=writes)  # and without the refused one, all of it
    assert item("new") == {**key("new"), "n": {"N": "3"}}
    assert item("kept") == {**key("kept"), "n": {"N": "9"}, "extra": {"N": "9"}, "blob": {"B": b"\x00\xff"}}
    assert item("deleted") is None


def test_scans_and_queries_page_through_every_item_once_in_key_order(aws: LocalAws) -> None:
    """The local server sorts a table's items by their keys' plain values (numbers as numbers): pages
    of a scan and of a query still follow on from each other with nothing lost or repeated."""
    client = boto3.client("dynamodb")
    numbers = [100, 9, 10, -3, 2.5, 1000]
    numbered = f"numbered-{uuid.uuid4().hex[:8]}"
    client.create_table(
        TableName=numbered,
        KeySchema=[{"AttributeName": "n", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "n", "AttributeType": "N"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for n in numbers:
        client.put_item(TableName=numbered, Item={"n": {"N": str(n)}})
    table = aws.physical_ids["Table"]
    pk = f"SORT#{uuid.uuid4()}"
    sort_keys = ["b", "a#10", "a#9", "c", "a"]
    for sk in sort_keys:
        client.put_item(TableName=table, Item={"pk": {"S": pk}, "sk": {"S": sk}})

    def every_page(operation: str, **request: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        while True:
            page = getattr(client, operation)(Limit=2, **request)
            items += page["Items"]
            if "LastEvaluatedKey" not in page:
                return items
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    scanned = every_page("scan", TableName=numbered, ConsistentRead=True)
    assert [float(item["n"]["N"]) for item in scanned] == sorted(numbers)
    queried = every_page(
        "query", TableName=table, KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": {"S": pk}}
    )
    assert [item["sk"]["S"] for item in queried] == sorted(sort_keys)
    ours = every_page(
        "scan",
        TableName=table,
        ConsistentRead=True,
        FilterExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": pk}},
    )
    assert [item["sk"]["S"] for item in ours] == sorted(sort_keys)
    client.delete_table(TableName=numbered)


def test_every_kind_of_attribute_value_comes_back_as_it_was_written(aws: LocalAws) -> None:
    """The local server writes moto's attribute values as DynamoDB's JSON directly (binary ones
    base64-encoded): what GetItem, Query and Scan answer is what PutItem stored."""
    client = boto3.client("dynamodb")
    table = aws.physical_ids["Table"]
    pk = f"KINDS#{uuid.uuid4()}"
    item: dict[str, dict[str, Any]] = {
        "pk": {"S": pk},
        "sk": {"S": "item"},
        "empty_string": {"S": ""},
        "number": {"N": "-12.5"},
        "blob": {"B": b"\x00\xffbytes"},
        "strings": {"SS": ["a", "b"]},
        "numbers": {"NS": ["1", "2.5"]},
        "blobs": {"BS": [b"\x01", b"\x02\x03"]},
        "yes": {"BOOL": True},
        "no": {"BOOL": False},
        "nothing": {"NULL": True},
        "empty_map": {"M": {}},
        "empty_list": {"L": []},
        "nested": {
            "M": {
                "list": {"L": [{"S": "x"}, {"N": "3"}, {"B": b"\x04"}, {"M": {"deep": {"BS": [b"\x05"]}}}]},
                "flag": {"BOOL": False},
            }
        },
    }
    client.put_item(TableName=table, Item=item)

    def as_sets(value: dict[str, Any]) -> dict[str, Any]:
        """Sets come back in any order."""
        return {name: sorted(v) if name in ("SS", "NS", "BS") else v for name, v in value.items()}

    def same(answered: dict[str, Any]) -> None:
        assert {name: as_sets(v) for name, v in answered.items()} == {name: as_sets(v) for name, v in item.items()}

    same(client.get_item(TableName=table, Key={"pk": item["pk"], "sk": item["sk"]}, ConsistentRead=True)["Item"])
    (queried,) = client.query(
        TableName=table, KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": {"S": pk}}
    )["Items"]
    same(queried)
    (scanned,) = client.scan(
        TableName=table, FilterExpression="pk = :pk", ExpressionAttributeValues={":pk": {"S": pk}}
    )["Items"]
    same(scanned)
