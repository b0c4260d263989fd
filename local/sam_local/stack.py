"""moto server and both emulators for functions run by `sam local` (local/sam_local/__init__.py).

Unlike local.stack.LocalStack, no handler runs in this process: SAM CLI runs them in Docker, so there is
no in-process gateway and no SQS poller (a queued message is handled by `sam local invoke` with an SQS
event). The redirect URI and the emulator's webhook point at `sam local start-api` on this machine.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from local.aws import LocalAws, reachable_host
from local.lambda_runtime import LOCAL_DEFAULTS
from local.productive_emulator import DemoIds, ProductiveEmulator
from local.qbo_emulator import QboEmulator
from local.sam_local.environment import (
    DEFAULT_DOCKER_HOST,
    env_json,
    for_containers,
    function_environments,
    sam_local_template,
)
from local.stack import (
    APP_SIGNING_SECRET,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_WEBHOOK_VERIFIER_TOKEN,
    INTUIT_APP_SECRET,
    intuit_app_secret,
    qbo_emulator_urls,
)
from local.template import REPO_ROOT, load_template

DEFAULT_OUTPUT_DIR = REPO_ROOT / ".sam-local"
DEFAULT_API_PORT = 3000  # sam local start-api's own default
ENV_JSON = "env.json"
TEMPLATE_JSON = "template.json"
STATE_JSON = "stack.json"  # this machine's view of the running stack, for local.sam_local.sign


@dataclass(frozen=True)
class StackFiles:
    env_json: Path
    template: Path
    state: Path
    build_dir: Path


class SamLocalStack:
    """The servers `sam local` functions talk to, and the files SAM CLI reads.

    bind: the address every server listens on. Loopback by default: Docker Desktop's containers reach it
        through host.docker.internal. Docker Engine on Linux needs an address its containers can reach:
        the docker0 bridge (172.17.0.1) or 0.0.0.0 (every interface: the local network too).
    docker_host: how the containers reach this machine; every URL a function calls uses it.
    api_port: where `sam local start-api` listens (the OAuth redirect URI and the webhook target).
    aws_port, qbo_port, productive_port: fixed ports (0: free ones).
    extra: more variables, each for the functions that read it (e.g. a URL of another local service).
    """

    def __init__(
        self,
        *,
        bind: str = "127.0.0.1",
        docker_host: str = DEFAULT_DOCKER_HOST,
        api_port: int = DEFAULT_API_PORT,
        aws_port: int = 0,
        qbo_port: int = 0,
        productive_port: int = 0,
        output_dir: Path | str = DEFAULT_OUTPUT_DIR,
        architecture: str | None = None,
        extra: dict[str, str] | None = None,
        template_path: Path | str | None = None,
    ) -> None:
        self.bind = bind
        self.docker_host = docker_host
        self.api_url = f"http://127.0.0.1:{api_port}"  # 127.0.0.1: the only http:// redirect Intuit's flow allows here
        self.ports = {"aws": aws_port, "qbo": qbo_port, "productive": productive_port}
        self.output_dir = Path(output_dir)
        self.architecture = architecture
        self.extra = dict(extra or {})
        self.template_path = template_path
        self.template = load_template(template_path)
        self._aws: LocalAws | None = None
        self._qbo: QboEmulator | None = None
        self._productive: ProductiveEmulator | None = None
        self.demo: DemoIds | None = None
        self.environments: dict[str, dict[str, str]] = {}  # as this machine reaches the servers
        self.container_environments: dict[str, dict[str, str]] = {}  # what env.json holds

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> SamLocalStack:
        try:
            self._qbo = QboEmulator(host=self.bind, port=self.ports["qbo"], refresh_rotation="strict")
            self._qbo.start()
            self._productive = ProductiveEmulator(host=self.bind, port=self.ports["productive"])
            self.demo = self._productive.seed_demo()
            self._productive.start()
            redirect_uri = f"{self.api_url}/oauth/callback"
            self._aws = LocalAws(
                self.template_path,
                secret_values={
                    INTUIT_APP_SECRET: intuit_app_secret(
                        DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_WEBHOOK_VERIFIER_TOKEN, redirect_uri
                    )
                },
                set_environment=False,
                host=self.bind,
                port=self.ports["aws"],
            ).start()
            self._qbo.register_app(
                DEFAULT_CLIENT_ID,
                DEFAULT_CLIENT_SECRET,
                redirect_uris=[redirect_uri],
                webhook_verifier_token=DEFAULT_WEBHOOK_VERIFIER_TOKEN,
            )
            self._qbo.set_webhook(DEFAULT_CLIENT_ID, f"{self.api_url}/webhooks/intuit")
            self.environments = function_environments(
                self.template,
                self._aws.names,
                common={**LOCAL_DEFAULTS, **self._aws.environment},
                local_values={
                    **qbo_emulator_urls(self.qbo_url),
                    "PRODUCTIVE_API_BASE_URL": self.productive_url,
                    **self.extra,
                },
            )
            self.container_environments = for_containers(self.environments, self.servers, self.docker_host)
            self.write_files()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        self.files.state.unlink(missing_ok=True)
        for server in (self._aws, self._productive, self._qbo):
            if server is not None:
                server.stop()
        self._aws = self._productive = self._qbo = None

    def __enter__(self) -> SamLocalStack:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------ what runs

    @property
    def aws(self) -> LocalAws:
        if self._aws is None:
            raise RuntimeError("the sam local stack is not running")
        return self._aws

    @property
    def qbo_url(self) -> str:
        if self._qbo is None:
            raise RuntimeError("the sam local stack is not running")
        return self._qbo.base_url.replace(f"//{self.bind}:", f"//{reachable_host(self.bind)}:", 1)

    @property
    def productive_url(self) -> str:
        if self._productive is None:
            raise RuntimeError("the sam local stack is not running")
        return self._productive.base_url.replace(f"//{self.bind}:", f"//{reachable_host(self.bind)}:", 1)

    @property
    def servers(self) -> list[tuple[str, int]]:
        """(host, port) of each server, as this machine reaches it."""
        urls = (self.aws.endpoint_url, self.qbo_url, self.productive_url)
        return [(str(urlsplit(url).hostname), int(urlsplit(url).port or 80)) for url in urls]

    @property
    def files(self) -> StackFiles:
        return StackFiles(
            env_json=self.output_dir / ENV_JSON,
            template=self.output_dir / TEMPLATE_JSON,
            state=self.output_dir / STATE_JSON,
            build_dir=self.output_dir / "build",
        )

    def state(self) -> dict[str, Any]:
        """This machine's view of the running stack (local.sam_local.sign reads it)."""
        return {
            "pid": os.getpid(),
            "api_url": self.api_url,
            "aws_endpoint_url": self.aws.endpoint_url,
            "region": self.aws.region,
            "qbo_url": self.qbo_url,
            "productive_url": self.productive_url,
            "secrets": {
                "app_signing": self.aws.physical_ids[APP_SIGNING_SECRET],
                "intuit_app": self.aws.physical_ids[INTUIT_APP_SECRET],
            },
            "productive_demo": asdict(self.demo) if self.demo else {},
        }

    def write_files(self) -> StackFiles:
        files = self.files
        self.output_dir.mkdir(parents=True, exist_ok=True)
        derived = sam_local_template(self.template, self.container_environments, architecture=self.architecture)
        _write_json(files.template, derived)
        _write_json(files.env_json, env_json(self.container_environments))
        _write_json(files.state, self.state())
        return files


def _write_json(path: Path, value: Any) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(value, indent=2, default=str) + "\n", encoding="utf-8")
    temporary.replace(path)
