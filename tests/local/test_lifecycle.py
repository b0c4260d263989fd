"""Starting, stopping and restarting the local stack's parts; process-global state is put back.

Restarts are checked in a fresh interpreter: a restart is a cold start of the handlers, which must
not disturb a stack other tests in this process may be running."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from local.gateway import LocalGateway
from local.template import REPO_ROOT
from tests.local.conftest import FIXTURE_TEMPLATE


def test_gateway_environment_is_restored_on_stop() -> None:
    assert "FIXTURE_STAGE" not in os.environ
    gateway = LocalGateway(FIXTURE_TEMPLATE, parameters={"Stage": "other"})
    gateway.start()
    try:
        assert os.environ["FIXTURE_STAGE"] == "other"
        assert os.environ["FIXTURE_GREETING"] == "hello-other"
    finally:
        gateway.stop()
    assert "FIXTURE_STAGE" not in os.environ
    with pytest.raises(RuntimeError):
        _ = gateway.url


def test_conflicting_environment_is_refused(tmp_path: Path) -> None:
    text = FIXTURE_TEMPLATE.read_text().replace(
        "          FIXTURE_ECHO_ONLY: echo\n", "          FIXTURE_ECHO_ONLY: echo\n          FIXTURE_STAGE: other\n"
    )
    path = tmp_path / "template.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match="FIXTURE_STAGE"):
        LocalGateway(path).environment()


def _run_in_fresh_interpreter(script: str) -> str:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "QBO_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "layers/qbosync")])
    completed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-5000:]
    return completed.stdout


def test_gateway_restart_is_a_cold_start() -> None:
    out = _run_in_fresh_interpreter(
        """
        import sys
        from local.gateway import LocalGateway
        template = "tests/local/fixture_template.yaml"
        with LocalGateway(template) as first:
            first.run_schedule("TickFunction")
            old = sys.modules["tests.local.fixture_app.app"]
            assert len(old.TICKS) == 1
        with LocalGateway(template) as second:
            second.run_schedule("TickFunction")
            new = sys.modules["tests.local.fixture_app.app"]
            assert new is not old, "the handler module was not imported afresh"
            assert len(new.TICKS) == 1
        print("ok")
        """
    )
    assert out.strip().endswith("ok")


def test_local_stack_starts_twice_in_one_process_and_cleans_up() -> None:
    pytest.importorskip("local.qbo_emulator")
    out = _run_in_fresh_interpreter(
        """
        import json, os, uuid
        import httpx
        from local.stack import LocalStack

        os.environ["QBO_EMULATOR_TZ"] = "Pacific/Kiritimati"  # the emulator companies' zone
        before = dict(os.environ)
        seen = []
        for _ in range(2):
            with LocalStack() as stack:
                assert stack.emulator.timezone(stack.emulator.US_REALM) == "Pacific/Kiritimati"
                assert os.environ["AWS_ENDPOINT_URL"] == stack.aws.endpoint_url
                assert os.environ["TABLE_NAME"] == stack.aws.physical_ids["Table"]
                assert os.environ["QBO_TOKEN_URL"] == stack.emulator.base_url + "/oauth2/v1/tokens/bearer"
                assert stack.intuit_app["redirect_uri"] == stack.api_url + "/oauth/callback"
                path = f"/connections/{uuid.uuid4()}"
                unsigned = httpx.get(stack.api_url + path)
                assert unsigned.status_code == 401, unsigned.text
                signed = httpx.get(stack.api_url + path, headers=stack.sign("GET", path))
                # 404 proves the handler read this stack's signing secret and table, not a stale one
                assert signed.status_code == 404, signed.text
                assert signed.json()["error"]["code"].endswith("not_found"), signed.text
                missing = httpx.get(stack.api_url + "/no/such/route")
                assert missing.status_code == 404 and missing.json() == {"message": "Not Found"}
                table = stack.aws.client("dynamodb")
                name = stack.aws.physical_ids["Table"]
                assert table.scan(TableName=name)["Count"] == 0, "the account is not clean"
                table.put_item(TableName=name, Item={"pk": {"S": "left"}, "sk": {"S": "over"}})
                seen.append((stack.api_url, stack.aws.endpoint_url, stack.signing_secret))
        assert dict(os.environ) == before, "environment not restored"
        assert seen[0][2] != seen[1][2]
        print("ok")
        """
    )
    assert out.strip().endswith("ok")
