"""`make local-stack`: moto server and both emulators for `sam local`, until Ctrl-C.

Writes env.json and the template for SAM CLI (local/sam_local/__init__.py) and prints the exact sam
commands. Listens on 127.0.0.1 unless --bind says otherwise."""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import shlex
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from local.command_line import port
from local.sam_local.environment import ARCHITECTURES, DEFAULT_DOCKER_HOST, docker_host_is_address
from local.sam_local.events import event_files, needs_signature, read_event
from local.sam_local.stack import DEFAULT_API_PORT, DEFAULT_OUTPUT_DIR, SamLocalStack
from local.template import list_functions

SAM = ".venv-sam/bin/sam"
PYTHON = ".venv/bin/python"
READY = "ready"  # the line that says everything is up and the files are written (tests wait for it)


def _ipv4(value: str) -> str:
    try:
        return str(ipaddress.IPv4Address(value))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not an IPv4 address") from None


def _assignment(value: str) -> tuple[str, str]:
    name, sep, setting = value.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"{value!r} is not NAME=VALUE")
    return name, setting


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m local.sam_local", description=__doc__)
    parser.add_argument(
        "--bind",
        type=_ipv4,
        default="127.0.0.1",
        help="the address moto and the emulators listen on (default 127.0.0.1, enough for Docker Desktop; "
        "Docker Engine on Linux: 172.17.0.1, the docker0 bridge, or 0.0.0.0, every interface)",
    )
    parser.add_argument(
        "--docker-host",
        default=DEFAULT_DOCKER_HOST,
        help=f"how the Lambda containers reach this machine; every URL in env.json uses it "
        f"(default {DEFAULT_DOCKER_HOST})",
    )
    parser.add_argument(
        "--api-port", type=port, default=DEFAULT_API_PORT, help="where sam local start-api listens (default 3000)"
    )
    parser.add_argument("--aws-port", type=port, default=0, help="moto server's port (default: a free one)")
    parser.add_argument("--qbo-port", type=port, default=0, help="the QuickBooks emulator's port (default: a free one)")
    parser.add_argument(
        "--productive-port", type=port, default=0, help="the Productive emulator's port (default: a free one)"
    )
    parser.add_argument(
        "--output-dir", type=Path, default=DEFAULT_OUTPUT_DIR, help="where env.json and template.json go (.sam-local)"
    )
    parser.add_argument(
        "--architecture",
        choices=sorted(set(ARCHITECTURES.values())),
        default=None,
        help="the functions' architecture in the sam local template (default: this machine's)",
    )
    parser.add_argument(
        "--set",
        dest="extra",
        type=_assignment,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="another variable for the functions that read it, repeatable",
    )
    return parser.parse_args(argv)


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def commands(stack: SamLocalStack) -> list[str]:
    """The sam command lines for this stack, as printed."""
    files = stack.files
    options = [
        "--template",
        _relative(files.build_dir / "template.yaml"),
        "--env-vars",
        _relative(files.env_json),
    ]
    if not docker_host_is_address(stack.docker_host):
        options += ["--add-host", f"{stack.docker_host}:host-gateway"]
    common = shlex.join(options)
    api_port = stack.api_url.rsplit(":", 1)[1]
    lines = [
        "# build once, and again after changing code (needs python3.13 on PATH, like make build):",
        shlex.join([SAM, "build", "--template", _relative(files.template), "--build-dir", _relative(files.build_dir)]),
        "# the HTTP API on " + stack.api_url + " (the OAuth redirect URI and the webhook target):",
        f"{SAM} local start-api {common} --port {api_port}",
        "# one function, one event (app routes and the webhook are signed with this stack's keys first):",
    ]
    for function in list_functions(stack.template):
        files_of_function = event_files(function)
        if not files_of_function:
            continue
        event = files_of_function[0]
        name = _relative(event)
        invoke = f"{SAM} local invoke {function.logical_id} {common}"
        if needs_signature(read_event(event)):
            sign = [PYTHON, "-m", "local.sam_local.sign", name]
            if stack.output_dir.resolve() != DEFAULT_OUTPUT_DIR.resolve():
                sign += ["--stack-dir", _relative(stack.output_dir)]
            lines.append(f"{shlex.join(sign)} | {invoke} --event -")
        else:
            lines.append(f"{invoke} --event {name}")
    return lines


def describe(stack: SamLocalStack) -> list[str]:
    lines = [
        f"moto server (AWS)        {stack.aws.endpoint_url}",
        f"QuickBooks emulator      {stack.qbo_url}",
        f"Productive emulator      {stack.productive_url}",
        f"listening on             {stack.bind}",
    ]
    if stack.bind == "0.0.0.0":
        lines.append(
            "  every interface (--bind 0.0.0.0): other machines on your network can reach moto, its secrets "
            "and the emulators while this runs"
        )
    elif ipaddress.IPv4Address(stack.bind).is_loopback:
        lines.append(
            "  loopback only: Docker Desktop's containers reach it; for Docker Engine on Linux start with "
            "--bind 172.17.0.1 (the docker0 bridge) or --bind 0.0.0.0"
        )
    lines.append(f"containers reach it as   {stack.docker_host}")
    if stack.demo is not None:
        demo = stack.demo
        connect = {
            "organization_id": demo.organization_id,
            "subsidiary_id": demo.subsidiary_us_id,
            "productive_api_token": demo.api_token,
            "return_url": "https://app.productive.io/",
        }
        lines += [
            f"Productive organization  {stack.demo.organization_id}, subsidiaries {stack.demo.subsidiary_us_id} (US), "
            f"{stack.demo.subsidiary_uk_id} (UK), API token {stack.demo.api_token}",
            f"signed requests          {PYTHON} -m local.sam_local.call POST /connections "
            + shlex.quote(json.dumps(connect)),
        ]
    files = stack.files
    lines += [
        f"wrote                    {_relative(files.env_json)} (every function's variables) and "
        f"{_relative(files.template)} (template.yaml for sam local: those variables declared)",
        "",
        *commands(stack),
        "",
    ]
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    stack = SamLocalStack(
        bind=args.bind,
        docker_host=args.docker_host,
        api_port=args.api_port,
        aws_port=args.aws_port,
        qbo_port=args.qbo_port,
        productive_port=args.productive_port,
        output_dir=args.output_dir,
        architecture=args.architecture,
        extra=dict(args.extra),
    )
    try:
        stack.start()
        for line in describe(stack):
            print(line)
        print(f"{READY}: the local stack for sam local runs (pid {os.getpid()}); Ctrl-C stops it", flush=True)
        while not stopping.wait(0.5):
            pass
    finally:
        stack.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("stopped: moto server and both emulators are down", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
