"""Local AWS: a moto server on a free loopback port with the template's resources in it.

Every AWS::DynamoDB::Table, AWS::SecretsManager::Secret and AWS::SQS::Queue of template.yaml is created
from its own properties (no second, hand-kept list), in dependency order (a queue's RedrivePolicy
names its dead-letter queue). Other resource types get local placeholder names so intrinsics that
mention them still resolve.

    with LocalAws(secret_values={"IntuitAppSecret": {...}}) as aws:
        aws.endpoint_url            # http://127.0.0.1:<port>
        aws.physical_ids["Table"]   # what !Ref Table returns locally
        aws.client("dynamodb").describe_table(TableName=aws.physical_ids["Table"])

moto keeps its state per process, not per server. The first LocalAws started in a process resets
moto (an empty account) and the last one stopped resets it again; while one runs, another may start
(each has its own server but they see the same account): it then gives its resources unique names
(a "-<n>" suffix) and deletes them when it stops. Environment patches are process-global: stop
instances in the reverse order of starting them.

DynamoDB and Secrets Manager requests are served one at a time (per process, across servers). AWS
applies each request atomically -- a conditional write is checked and applied as one step -- but moto
does not: two concurrent conditional writes could both pass their condition (two holders of one token
refresh lease), and concurrent writes to one item or secret could corrupt moto's state. SQS is left
concurrent, since its long polls would block everything else.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import secrets
import string
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from local.template import (
    LOCAL_PSEUDO_PARAMETERS,
    EnvironmentPatch,
    Names,
    load_template,
    parameter_values,
    references,
    resolve,
)

REGION = "us-east-1"
ACCOUNT_ID = LOCAL_PSEUDO_PARAMETERS["AWS::AccountId"]

#: Credentials that cannot reach a real account.
FAKE_CREDENTIALS: dict[str, str] = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_SECURITY_TOKEN": "testing",
}

TABLE_TYPE = "AWS::DynamoDB::Table"
SECRET_TYPE = "AWS::SecretsManager::Secret"
QUEUE_TYPE = "AWS::SQS::Queue"
CREATED_TYPES = (TABLE_TYPE, SECRET_TYPE, QUEUE_TYPE)

# CloudFormation properties of AWS::SQS::Queue that are SQS attributes under the same name
_QUEUE_ATTRIBUTES = (
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "DelaySeconds",
    "FifoQueue",
    "FifoThroughputLimit",
    "KmsDataKeyReusePeriodSeconds",
    "KmsMasterKeyId",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "RedriveAllowPolicy",
    "RedrivePolicy",
    "SqsManagedSseEnabled",
    "VisibilityTimeout",
)


@dataclass
class LocalResource:
    logical_id: str
    type: str
    physical_id: str  # what !Ref returns: table name, secret ARN, queue URL, ...
    attributes: dict[str, str] = field(default_factory=dict)  # what !GetAtt returns
    created: bool = False  # False: a placeholder name only (functions, APIs, log groups...)


#: X-Amz-Target prefixes of the services whose requests moto must apply one at a time.
_ATOMIC_TARGETS = ("DynamoDB_", "secretsmanager.")
_atomic_lock = threading.Lock()  # moto's state is per process, so one lock for every server


class RequestCounter:
    """How many requests a moto server has served (the cold-start bench counts a first request's calls)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._served = 0

    def add(self) -> None:
        with self._lock:
            self._served += 1

    @property
    def served(self) -> int:
        with self._lock:
            return self._served


def _atomic_requests(app: Any, counter: RequestCounter) -> Any:
    """WSGI middleware: serve the requests of _ATOMIC_TARGETS under one lock, body included; count them all."""

    def serve(environ: dict[str, Any], start_response: Any) -> Any:
        counter.add()
        if not str(environ.get("HTTP_X_AMZ_TARGET", "")).startswith(_ATOMIC_TARGETS):
            return app(environ, start_response)
        with _atomic_lock:
            answer = app(environ, start_response)
            try:
                return [b"".join(answer)]
            finally:
                close = getattr(answer, "close", None)
                if close is not None:
                    close()

    return serve


def _transactions_copy_only_their_items() -> None:
    """moto rolls a failed TransactWriteItems back from a deep copy of every table it names, taken once per
    item. The local table holds every earlier test's items, so over a suite that copy grew into most of the
    time moto spent (a 120-invoice copy job: 28 s alone, up to 125 s late in the suite). Keep moto's own
    transaction code, but copy only the items the transaction names and put those back when it fails:
    the same all-or-nothing outcome. Installed once per process."""
    import copy

    from moto.dynamodb import models as dynamodb_models
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    if getattr(DynamoDBBackend.transact_write_items, "copies_only_its_items", False):
        return

    class TablesAsTheyAre:
        """moto.dynamodb.models' `copy` module, but a Table is "copied" as itself."""

        @staticmethod
        def deepcopy(value: Any, memo: Any = None) -> Any:
            return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    moto_transact = DynamoDBBackend.transact_write_items

    def transact_write_items(backend: Any, transact_items: list[dict[str, Any]]) -> None:
        saved = []
        for entry in transact_items[:100] if isinstance(transact_items, list) else ():
            if not isinstance(entry, dict) or len(entry) != 1:
                continue  # moto refuses it before it writes anything
            operation = next(iter(entry.values()))
            table = backend.tables.get(operation.get("TableName")) if isinstance(operation, dict) else None
            if table is None:
                continue
            try:
                key = operation.get("Key") or {
                    name: operation["Item"][name] for name in (table.hash_key_attr, table.range_key_attr) if name
                }
                hash_value, range_value = backend.get_keys_value(table, key)
            except Exception:  # noqa: S112 - a malformed key: moto refuses that item itself
                continue
            saved.append((table, hash_value, range_value, copy.deepcopy(table.get_item(hash_value, range_value))))
        try:
            moto_transact(backend, transact_items)
        except BaseException:
            for table, hash_value, range_value, item in reversed(saved):  # the first copy of a key is its original
                _put_back(table, hash_value, range_value, item)
            raise

    transact_write_items.copies_only_its_items = True  # type: ignore[attr-defined]
    dynamodb_models.copy = TablesAsTheyAre  # type: ignore[assignment,attr-defined]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign,assignment]


def _tables_sort_by_plain_values() -> None:
    """moto sorts every item of a table by its key at every Scan page and every Query (it filters after
    sorting), comparing its own attribute objects in Python: as the suite's table grew, one consistent
    scan of it took seconds. Sort by the keys' plain values instead, which is how those objects compare:
    the same order at a fraction of the cost. Installed once per process."""
    from moto.dynamodb.models.table import Table

    if getattr(Table.all_items, "sorts_by_plain_values", False):
        return

    def plain_key(item: Any) -> Any:
        if item.range_key is None:
            return item.hash_key.cast_value
        return (item.hash_key.cast_value, item.range_key.cast_value)

    def all_items(table: Any) -> list[Any]:
        if table.range_key_attr:
            items = [item for hash_set in table.items.values() for item in hash_set.values()]
        else:
            items = list(table.items.values())
        return sorted(items, key=plain_key)

    all_items.sorts_by_plain_values = True  # type: ignore[attr-defined]
    Table.all_items = all_items  # type: ignore[method-assign,assignment]


def _attribute_values_written_as_they_are() -> None:
    """moto writes each response through a serializer driven by the API model: for every attribute value of
    every item it looks up each of the ten members an AttributeValue may have, which made one scan of the
    suite's table (1,700 items) take 3 s. moto's attribute values are DynamoDB's JSON already, but for
    binary values, which are bytes: write them as they are, base64-encoding those as the model's serializer
    does. Installed once per process."""
    from moto.core.serialize import BaseJSONSerializer

    model_serialize = BaseJSONSerializer._serialize_type_structure
    if getattr(model_serialize, "writes_attribute_values_as_they_are", False):
        return

    def serialize_structure(serializer: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if (
            key
            and shape.name == "AttributeValue"
            and serializer.service_model.service_name == "dynamodb"
            and isinstance(value, dict)
            and len(value) == 1
        ):
            serialized[serializer.get_serialized_name(shape, key)] = _attribute_value_json(value, serializer._base64)
            return
        model_serialize(serializer, serialized, value, shape, key)

    serialize_structure.writes_attribute_values_as_they_are = True  # type: ignore[attr-defined]
    BaseJSONSerializer._serialize_type_structure = serialize_structure  # type: ignore[method-assign,assignment]


def _attribute_value_json(value: dict[str, Any], base64: Any) -> dict[str, Any]:
    """One attribute value of moto's result ({type: value}) as DynamoDB's JSON."""
    ((kind, inner),) = value.items()
    if kind == "B":
        return {kind: base64(inner)}
    if kind == "BS":
        return {kind: [base64(member) for member in inner]}
    if kind == "M":
        return {kind: {name: _attribute_value_json(member, base64) for name, member in inner.items()}}
    if kind == "L":
        return {kind: [_attribute_value_json(member, base64) for member in inner]}
    return {kind: inner}


def _put_back(table: Any, hash_value: Any, range_value: Any, item: Any) -> None:
    """An item of a moto table as it was before a transaction (None: there was none)."""
    if table.range_key_attr is None:
        if item is None:
            table.items.pop(hash_value, None)
        else:
            table.items[hash_value] = item
    elif item is None:
        table.items[hash_value].pop(range_value, None)
    else:
        table.items[hash_value][range_value] = item


def _moto_server(host: str, port: int, counter: RequestCounter) -> Any:
    """moto's threaded server on host:port (0: a free port), with _atomic_requests around its application."""
    from moto.backends import list_of_moto_modules
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from moto.server import ThreadedMotoServer
    from werkzeug.serving import make_server

    _transactions_copy_only_their_items()
    _tables_sort_by_plain_values()
    _attribute_values_written_as_they_are()
    service_packages = frozenset(list_of_moto_modules())

    class Dispatcher(DomainDispatcherApplication):
        """moto's dispatcher, but the list of its service packages is read once, not from the disk at
        every request (a directory listing and a stat per package)."""

        def get_backend_for_host(self, host: str | None) -> Any:
            if host is None or host == "moto_api" or host in service_packages:
                return host
            return next((name for name, pattern in self.backend_url_patterns if pattern.match(f"http://{host}")), None)

    class AtomicMotoServer(ThreadedMotoServer):
        def _server_entry(self) -> None:
            app = _atomic_requests(Dispatcher(create_backend_app), counter)
            self._server = make_server(self._ip_address, self._port, app, True, request_handler=MotoRequestHandler)
            self._server_ready_event.set()
            self._server.serve_forever()

    return AtomicMotoServer(ip_address=host, port=port, verbose=False)


def reachable_host(bound: str) -> str:
    """The address to connect to for a server bound to `bound`: a wildcard address means this machine."""
    return "127.0.0.1" if bound in ("0.0.0.0", "::", "") else bound


class LocalAws:
    """moto server + the template's tables, secrets and queues. See the module docstring."""

    _lock = threading.Lock()
    _running: list[LocalAws] = []
    _starts = 0

    def __init__(
        self,
        template_path: Path | str | None = None,
        *,
        parameters: Mapping[str, str] | None = None,
        secret_values: Mapping[str, str | Mapping[str, Any]] | None = None,
        stack_name: str = "qbosync-local",
        region: str = REGION,
        set_environment: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        """`secret_values`: logical id -> the secret's local value (a JSON object or a string).
        Secrets without one get their template value: SecretString as written, or for
        GenerateSecretString its SecretStringTemplate with the generated key and every empty field
        filled with random values (so rotation paths such as a "previous" key can be exercised).
        `set_environment`: put fake credentials, the region and AWS_ENDPOINT_URL into os.environ
        while running (restored by stop()).
        `host`/`port`: where moto listens; loopback and a free port unless asked (local/sam_local binds
        another address only on request, for Docker's containers)."""
        self.template = load_template(template_path)
        self.parameters = parameter_values(self.template, parameters)
        self.parameters["AWS::Region"] = region
        self.parameters["AWS::StackName"] = stack_name
        self.secret_values = dict(secret_values or {})
        unknown = set(self.secret_values) - {
            logical_id for logical_id, r in self.template["Resources"].items() if r["Type"] == SECRET_TYPE
        }
        if unknown:
            raise KeyError(f"secret_values names no secret of the template: {sorted(unknown)}")
        self.base_stack_name = stack_name
        self.stack_name = stack_name
        self.name_suffix = ""
        self.region = region
        self.set_environment = set_environment
        self.host = host
        self.port = port
        self.resources: dict[str, LocalResource] = {}
        self._server: Any = None
        self._endpoint_url: str | None = None
        self._env_patch: EnvironmentPatch | None = None
        self.requests = RequestCounter()  # every request this server has served, each restart included
        self._clients_lock = threading.Lock()
        self._clients_session: Any = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> LocalAws:
        if self._server is not None:
            return self
        werkzeug_logger = logging.getLogger("werkzeug")  # moto's server logs every request at INFO
        if werkzeug_logger.level == logging.NOTSET:
            werkzeug_logger.setLevel(logging.WARNING)
        with LocalAws._lock:
            alone = not LocalAws._running
            LocalAws._starts += 1
            self.name_suffix = "" if alone else f"-{LocalAws._starts}"
            LocalAws._running.append(self)
        self.stack_name = self.base_stack_name + self.name_suffix
        self.parameters["AWS::StackName"] = self.stack_name
        self.resources = {}
        try:
            self._server = _moto_server(self.host, self.port, self.requests)
            self._server.start()
            host, port = self._server.get_host_and_port()
            self._endpoint_url = f"http://{reachable_host(host)}:{port}"
            if alone:
                self._reset_moto()
            if self.set_environment:
                self._env_patch = EnvironmentPatch(self.environment).apply()
            self._create_resources()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self._env_patch is not None:
            self._env_patch.restore()
            self._env_patch = None
        if self._server is not None:
            with LocalAws._lock:
                if self in LocalAws._running:
                    LocalAws._running.remove(self)
                last = not LocalAws._running
            with contextlib.suppress(Exception):
                if last:
                    self._reset_moto()
                else:
                    self._delete_resources()
            self._server.stop()
            wsgi_server = getattr(self._server, "_server", None)
            if wsgi_server is not None:
                wsgi_server.server_close()  # release the listening socket
            self._server = None
            self._endpoint_url = None
        with LocalAws._lock:
            if self in LocalAws._running:
                LocalAws._running.remove(self)

    def __enter__(self) -> LocalAws:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------ access

    @property
    def endpoint_url(self) -> str:
        if self._endpoint_url is None:
            raise RuntimeError("LocalAws is not running")
        return self._endpoint_url

    @property
    def environment(self) -> dict[str, str]:
        """What a process needs to talk to this local AWS with plain boto3."""
        return {
            **FAKE_CREDENTIALS,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "AWS_ENDPOINT_URL": self.endpoint_url,
        }

    @property
    def physical_ids(self) -> dict[str, str]:
        """Logical id -> what !Ref returns locally (table name, secret ARN, queue URL...)."""
        return {logical_id: resource.physical_id for logical_id, resource in self.resources.items()}

    @property
    def names(self) -> Names:
        """Everything local.template.resolve needs to resolve this template's intrinsics locally."""
        return Names(
            refs=self.physical_ids,
            attributes={logical_id: dict(r.attributes) for logical_id, r in self.resources.items()},
            parameters=dict(self.parameters),
        )

    def session(self) -> Any:
        """A boto3 Session with the fake credentials and the local region."""
        import boto3

        return boto3.Session(
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=FAKE_CREDENTIALS["AWS_SESSION_TOKEN"],
            region_name=self.region,
        )

    def client(self, service_name: str) -> Any:
        """A new boto3 client of this local AWS (endpoint set explicitly, whatever os.environ says). The
        clients share one session, so botocore reads each service's model once, not once per client: the
        tests and the local tools ask for thousands of clients. Sessions are not thread-safe, hence the lock."""
        with self._clients_lock:
            if self._clients_session is None:
                self._clients_session = self.session()
            return self._clients_session.client(service_name, endpoint_url=self.endpoint_url)

    def secret_value(self, logical_id: str) -> str:
        secret_id = self._resource(logical_id, SECRET_TYPE).physical_id
        return str(self.client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"])

    def secret_json(self, logical_id: str) -> dict[str, Any]:
        value = json.loads(self.secret_value(logical_id))
        if not isinstance(value, dict):
            raise ValueError(f"secret {logical_id} is not a JSON object")
        return value

    def put_secret_value(self, logical_id: str, value: str | Mapping[str, Any]) -> None:
        secret_id = self._resource(logical_id, SECRET_TYPE).physical_id
        text = value if isinstance(value, str) else json.dumps(dict(value))
        self.client("secretsmanager").put_secret_value(SecretId=secret_id, SecretString=text)

    def _resource(self, logical_id: str, resource_type: str) -> LocalResource:
        resource = self.resources.get(logical_id)
        if resource is None or resource.type != resource_type or not resource.created:
            raise KeyError(f"no local {resource_type} {logical_id!r}")
        return resource

    # ------------------------------------------------------------------ creation

    def _reset_moto(self) -> None:
        host, port = self._server.get_host_and_port()
        connection = http.client.HTTPConnection(reachable_host(host), port, timeout=10)
        try:
            connection.request("POST", "/moto-api/reset")
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"moto reset failed with HTTP {response.status}")
        finally:
            connection.close()

    def _create_resources(self) -> None:
        all_resources: dict[str, Any] = self.template["Resources"]
        for logical_id, resource in all_resources.items():
            if resource["Type"] not in CREATED_TYPES:
                self.resources[logical_id] = self._placeholder(logical_id, resource["Type"])
        pending = {
            logical_id: resource for logical_id, resource in all_resources.items() if resource["Type"] in CREATED_TYPES
        }
        while pending:
            ready = [
                logical_id
                for logical_id, resource in pending.items()
                if not (references(resource.get("Properties", {})) & set(pending))
            ]
            if not ready:
                raise ValueError(f"circular references between {sorted(pending)}")
            for logical_id in ready:
                resource = pending.pop(logical_id)
                props = resolve(resource.get("Properties", {}), self.names)
                create = {
                    TABLE_TYPE: self._create_table,
                    SECRET_TYPE: self._create_secret,
                    QUEUE_TYPE: self._create_queue,
                }[resource["Type"]]
                self.resources[logical_id] = create(logical_id, props)

    def _physical_name(self, logical_id: str) -> str:
        return f"{self.stack_name}-{logical_id}"

    def _explicit_name(self, name: str | None) -> str | None:
        """A name written in the template, made unique while another LocalAws shares moto."""
        if not name:
            return None
        if name.endswith(".fifo"):
            return name[: -len(".fifo")] + self.name_suffix + ".fifo"
        return name + self.name_suffix

    def _delete_resources(self) -> None:
        for resource in reversed(list(self.resources.values())):
            if not resource.created:
                continue
            with contextlib.suppress(Exception):
                if resource.type == TABLE_TYPE:
                    self.client("dynamodb").delete_table(TableName=resource.physical_id)
                elif resource.type == SECRET_TYPE:
                    self.client("secretsmanager").delete_secret(
                        SecretId=resource.physical_id, ForceDeleteWithoutRecovery=True
                    )
                elif resource.type == QUEUE_TYPE:
                    self.client("sqs").delete_queue(QueueUrl=resource.physical_id)

    def _placeholder(self, logical_id: str, resource_type: str) -> LocalResource:
        name = self._physical_name(logical_id)
        service = resource_type.split("::")[1].lower() if resource_type.count("::") == 2 else "local"
        arn = f"arn:aws:{service}:{self.region}:{ACCOUNT_ID}:{name}"
        if resource_type in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
            arn = f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:function:{name}"
        return LocalResource(logical_id, resource_type, name, {"Arn": arn})

    def _create_table(self, logical_id: str, props: dict[str, Any]) -> LocalResource:
        client = self.client("dynamodb")
        name = self._explicit_name(props.get("TableName")) or self._physical_name(logical_id)
        billing_mode = props.get("BillingMode", "PROVISIONED")
        request: dict[str, Any] = {
            "TableName": name,
            "KeySchema": props["KeySchema"],
            "AttributeDefinitions": props["AttributeDefinitions"],
            "BillingMode": billing_mode,
        }
        throughput = props.get("ProvisionedThroughput", {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5})
        if billing_mode == "PROVISIONED":
            request["ProvisionedThroughput"] = throughput
        for index_kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
            indexes = []
            for declared in props.get(index_kind, []):
                index = dict(declared)
                if index_kind == "GlobalSecondaryIndexes" and billing_mode == "PROVISIONED":
                    index.setdefault("ProvisionedThroughput", throughput)
                indexes.append(index)
            if indexes:
                request[index_kind] = indexes
        if "StreamSpecification" in props:
            request["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
        sse = props.get("SSESpecification")
        if sse:
            request["SSESpecification"] = {
                "Enabled": bool(sse.get("SSEEnabled")),
                **({"SSEType": sse["SSEType"]} if "SSEType" in sse else {}),
                **({"KMSMasterKeyId": sse["KMSMasterKeyId"]} if "KMSMasterKeyId" in sse else {}),
            }
        description = client.create_table(**request)["TableDescription"]
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            client.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
            )
        pitr = props.get("PointInTimeRecoverySpecification", {})
        if pitr.get("PointInTimeRecoveryEnabled"):
            client.update_continuous_backups(
                TableName=name,
                PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
            )
        attributes = {"Arn": description["TableArn"]}
        if description.get("LatestStreamArn"):
            attributes["StreamArn"] = description["LatestStreamArn"]
        return LocalResource(logical_id, TABLE_TYPE, name, attributes, created=True)

    def _secret_string(self, logical_id: str, props: Mapping[str, Any]) -> str:
        if logical_id in self.secret_values:
            value = self.secret_values[logical_id]
            return value if isinstance(value, str) else json.dumps(dict(value))
        if "SecretString" in props:
            return str(props["SecretString"])
        spec = props.get("GenerateSecretString", {})
        length = int(spec.get("PasswordLength", 32))
        alphabet = string.ascii_letters + string.digits
        exclude = str(spec.get("ExcludeCharacters", ""))
        alphabet = "".join(c for c in alphabet if c not in exclude)

        def generate() -> str:
            return "".join(secrets.choice(alphabet) for _ in range(length))

        if "SecretStringTemplate" not in spec:
            return generate()
        value = json.loads(spec["SecretStringTemplate"])
        value[spec["GenerateStringKey"]] = generate()
        for key, item in value.items():
            if item == "":
                value[key] = generate()
        return json.dumps(value)

    def _create_secret(self, logical_id: str, props: dict[str, Any]) -> LocalResource:
        name = self._explicit_name(props.get("Name")) or self._physical_name(logical_id)
        request: dict[str, Any] = {"Name": name, "SecretString": self._secret_string(logical_id, props)}
        if props.get("Description"):
            request["Description"] = props["Description"]
        arn = self.client("secretsmanager").create_secret(**request)["ARN"]
        # !Ref of a secret is its ARN; GetAtt Id is the ARN too
        return LocalResource(logical_id, SECRET_TYPE, arn, {"Id": arn, "Name": name}, created=True)

    def _create_queue(self, logical_id: str, props: dict[str, Any]) -> LocalResource:
        client = self.client("sqs")
        name = self._explicit_name(props.get("QueueName")) or self._physical_name(logical_id)
        if props.get("FifoQueue") and not name.endswith(".fifo"):
            name += ".fifo"
        attributes: dict[str, str] = {}
        for key in _QUEUE_ATTRIBUTES:
            if key in props:
                value = props[key]
                if isinstance(value, bool):
                    attributes[key] = "true" if value else "false"
                elif isinstance(value, dict | list):
                    attributes[key] = json.dumps(value)
                else:
                    attributes[key] = str(value)
        url = client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return LocalResource(
            logical_id, QUEUE_TYPE, url, {"Arn": arn, "QueueName": name, "QueueUrl": url}, created=True
        )
