"""What `sam local` needs besides Docker: env.json and the template it runs (local/sam_local/__init__.py).

Both come from template.yaml and the functions' settings models (qbosync.config.FUNCTION_SETTINGS), never
from a list kept here: a variable added to the template, or to a function's model with a local value,
reaches env.json by itself.

SAM CLI passes a function only the variables its template declares (an env.json value for any other
name is dropped; samcli/local/lambdafn/env_vars.py), and the QBO_* URL overrides, AWS_ENDPOINT_URL and
the fake credentials are nowhere in template.yaml on purpose. So `sam_local_template` is template.yaml
with those names declared empty on each function that gets them, for SAM CLI only.
"""

from __future__ import annotations

import copy
import ipaddress
import platform
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from local.template import (
    FUNCTION_TYPE,
    LAYER_TYPE,
    REPO_ROOT,
    FunctionSpec,
    Names,
    list_functions,
    resolve,
    resources_of_type,
)
from qbosync.config import FUNCTION_SETTINGS, EnvironmentSettings

#: The name the Lambda containers reach this machine by (Docker Desktop knows it; with Docker Engine on
#: Linux, `--add-host host.docker.internal:host-gateway` on the sam command line adds it).
DEFAULT_DOCKER_HOST = "host.docker.internal"

#: URLs the user's browser follows on this machine, never the function: they keep this machine's address.
BROWSER_URLS = frozenset({"QBO_AUTHORIZE_URL", "QBO_APP_URL"})

ARCHITECTURES = {"x86_64": "x86_64", "amd64": "x86_64", "arm64": "arm64", "aarch64": "arm64"}


def host_architecture() -> str:
    """This machine's Lambda architecture (x86_64 or arm64): its containers run without emulation."""
    return ARCHITECTURES.get(platform.machine().lower(), "x86_64")


def settings_model(function: FunctionSpec) -> type[EnvironmentSettings]:
    """The settings model of a template function (its CodeUri directory names it)."""
    directory = Path(function.code_uri).name
    try:
        return FUNCTION_SETTINGS[directory]  # type: ignore[index]
    except KeyError:
        raise KeyError(f"{function.logical_id}: qbosync.config.FUNCTION_SETTINGS has no {directory!r}") from None


def function_environments(
    template: Mapping[str, Any],
    names: Names,
    *,
    common: Mapping[str, str],
    local_values: Mapping[str, str],
) -> dict[str, dict[str, str]]:
    """Logical id -> the variables of each function of the template, as the local stack has them:
    `common` (credentials, region, endpoint: every function), then the template's own variables
    resolved to the local resources, then each of `local_values` that the function's settings model
    or template entry reads (the emulators' URLs). A local value no function reads is an error."""
    environments: dict[str, dict[str, str]] = {}
    unread = set(local_values)
    for function in list_functions(template):
        readable = settings_model(function).variables() | set(function.environment)
        environment = dict(common)
        environment.update({name: str(resolve(value, names)) for name, value in function.environment.items()})
        for name, value in local_values.items():
            if name in readable:
                environment[name] = value
                unread.discard(name)
        environments[function.logical_id] = environment
    if unread:
        raise KeyError(f"no function of the template reads {', '.join(sorted(unread))}")
    return environments


def docker_host_is_address(docker_host: str) -> bool:
    try:
        ipaddress.ip_address(docker_host)
    except ValueError:
        return False
    return True


def for_containers(
    environments: Mapping[str, Mapping[str, str]],
    servers: Iterable[tuple[str, int]],
    docker_host: str,
) -> dict[str, dict[str, str]]:
    """The environments with every URL of one of `servers` ((host, port) as this machine reaches them)
    pointing at `docker_host` instead, the name the containers reach this machine by; BROWSER_URLS
    stay as they are."""
    local_servers = {(host.lower(), port) for host, port in servers}
    loopback = {"127.0.0.1", "localhost"}
    for host, port in list(local_servers):
        if host in loopback:
            local_servers |= {(name, port) for name in loopback}

    def rewrite(name: str, value: str) -> str:
        if name in BROWSER_URLS or not value.startswith(("http://", "https://")):
            return value
        parts = urlsplit(value)
        if (str(parts.hostname).lower(), parts.port) not in local_servers:
            return value
        host = f"[{docker_host}]" if ":" in docker_host else docker_host
        return urlunsplit(parts._replace(netloc=f"{host}:{parts.port}"))

    return {
        function_id: {name: rewrite(name, value) for name, value in environment.items()}
        for function_id, environment in environments.items()
    }


def env_json(environments: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, str]]:
    """The --env-vars file: one object per function, keyed by its logical id (SAM CLI also looks up a
    "Parameters" object for every function; not used, so each function gets exactly its own)."""
    return {function_id: dict(sorted(environment.items())) for function_id, environment in environments.items()}


def sam_local_template(
    template: Mapping[str, Any],
    environments: Mapping[str, Mapping[str, str]],
    *,
    architecture: str | None = None,
    root: Path = REPO_ROOT,
) -> dict[str, Any]:
    """template.yaml for `sam build` / `sam local` only (never deployed): each function declares every
    variable of its environment (empty; env.json gives the values), code paths are absolute (so the
    file can live anywhere), and functions and layers are built for `architecture` (default: this
    machine's, so the Lambda images run without CPU emulation)."""
    derived = copy.deepcopy(dict(template))
    arch = architecture or host_architecture()
    derived["Description"] = "qbosync for sam local (generated by local/sam_local; never deploy it)"
    global_function = derived.setdefault("Globals", {}).setdefault("Function", {})
    global_variables = global_function.get("Environment", {}).get("Variables", {})
    if "Architectures" in global_function:
        global_function["Architectures"] = [arch]
    functions = {function.logical_id: function for function in list_functions(template)}
    for logical_id, resource in resources_of_type(derived, FUNCTION_TYPE).items():
        properties = resource.setdefault("Properties", {})
        properties["CodeUri"] = str((root / functions[logical_id].code_uri).resolve()) + "/"
        if "Architectures" in properties:
            properties["Architectures"] = [arch]
        variables = properties.setdefault("Environment", {}).setdefault("Variables", {})
        for name in environments.get(logical_id, {}):
            if name not in variables and name not in global_variables:
                variables[name] = ""
    for resource in resources_of_type(derived, LAYER_TYPE).values():
        properties = resource.setdefault("Properties", {})
        if isinstance(properties.get("ContentUri"), str):
            properties["ContentUri"] = str((root / properties["ContentUri"]).resolve()) + "/"
        if "CompatibleArchitectures" in properties:
            properties["CompatibleArchitectures"] = [arch]
        metadata = resource.get("Metadata", {})
        if "BuildArchitecture" in metadata:
            metadata["BuildArchitecture"] = arch
    return derived
