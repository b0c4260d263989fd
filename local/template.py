"""Reading template.yaml for the local stack and the infrastructure tests.

The template is the single source of truth: the local AWS resources, the gateway's routes, the
handlers' environment and the tests all come from here. `yaml_parse` (from samtranslator) turns the
short intrinsic tags (!Ref, !Sub, !GetAtt...) into their long JSON forms ({"Ref": ...}).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from samtranslator.yaml_helper import yaml_parse

REPO_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = REPO_ROOT / "template.yaml"

FUNCTION_TYPE = "AWS::Serverless::Function"
LAYER_TYPE = "AWS::Serverless::LayerVersion"
HTTP_API_TYPE = "AWS::Serverless::HttpApi"

#: Pseudo parameters as the local stack answers them (moto's default account).
LOCAL_PSEUDO_PARAMETERS: dict[str, str] = {
    "AWS::AccountId": "123456789012",
    "AWS::Region": "us-east-1",
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "qbosync-local",
    "AWS::StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/qbosync-local/local",
    "AWS::NoValue": "",
}

_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


def load_template(path: Path | str | None = None) -> dict[str, Any]:
    """The template as a dict (intrinsics in their long form)."""
    text = Path(path or TEMPLATE_PATH).read_text(encoding="utf-8")
    template = yaml_parse(text)
    if not isinstance(template, dict) or "Resources" not in template:
        raise ValueError(f"{path or TEMPLATE_PATH} is not a CloudFormation/SAM template")
    return template


def resources_of_type(template: Mapping[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    """Logical id -> resource, for every resource of one type, in template order."""
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource.get("Type") == resource_type
    }


def parameter_values(template: Mapping[str, Any], overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """Parameter defaults with overrides applied, plus the local pseudo parameters."""
    values = dict(LOCAL_PSEUDO_PARAMETERS)
    for name, spec in template.get("Parameters", {}).items():
        if "Default" in spec:
            values[name] = str(spec["Default"])
    for name, value in (overrides or {}).items():
        if name not in template.get("Parameters", {}):
            raise KeyError(f"template has no parameter {name!r}")
        values[name] = str(value)
    return values


# --------------------------------------------------------------------------- intrinsics


@dataclass(frozen=True)
class Names:
    """How logical ids resolve locally: `refs` is what !Ref returns (table name, queue URL,
    secret ARN...), `attributes` what !GetAtt returns (`attributes["Table"]["Arn"]`),
    `parameters` the parameter values (and pseudo parameters)."""

    refs: Mapping[str, str]
    attributes: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    parameters: Mapping[str, str] = field(default_factory=lambda: dict(LOCAL_PSEUDO_PARAMETERS))

    def ref(self, name: str) -> str:
        if name in self.parameters:
            return self.parameters[name]
        if name in self.refs:
            return self.refs[name]
        raise KeyError(f"cannot resolve Ref {name!r} locally")

    def get_att(self, logical_id: str, attribute: str) -> str:
        try:
            return self.attributes[logical_id][attribute]
        except KeyError:
            raise KeyError(f"cannot resolve GetAtt {logical_id}.{attribute} locally") from None


def placeholder_names(template: Mapping[str, Any]) -> Names:
    """Names for reading the template without a stack (building docs, measuring imports): each
    resource's Ref is its logical id, parameters take their defaults."""
    refs = {logical_id: logical_id for logical_id in template["Resources"]}
    return Names(refs=refs, parameters=parameter_values(template))


def resolve(value: Any, names: Names) -> Any:
    """Resolve Ref, Fn::GetAtt, Fn::Sub, Fn::Join, Fn::Select and Fn::If-free values recursively."""
    if isinstance(value, list):
        return [resolve(item, names) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Ref":
            return names.ref(argument)
        if key == "Fn::GetAtt":
            logical_id, attribute = argument.split(".", 1) if isinstance(argument, str) else argument
            return names.get_att(logical_id, attribute)
        if key == "Fn::Sub":
            return _resolve_sub(argument, names)
        if key == "Fn::Join":
            delimiter, items = argument
            return delimiter.join(str(item) for item in resolve(items, names))
        if key == "Fn::Select":
            index, items = argument
            return resolve(items, names)[int(resolve(index, names))]
    return {key: resolve(item, names) for key, item in value.items()}


def _resolve_sub(argument: Any, names: Names) -> str:
    if isinstance(argument, str):
        text, variables = argument, {}
    else:
        text, raw_variables = argument
        variables = {key: resolve(item, names) for key, item in raw_variables.items()}

    def replace(match: re.Match[str]) -> str:
        expression = match.group(1)
        if expression.startswith("!"):  # ${!Literal} stays as ${Literal}
            return "${" + expression[1:] + "}"
        if expression in variables:
            return str(variables[expression])
        if "." in expression and not expression.startswith("AWS::"):
            logical_id, attribute = expression.split(".", 1)
            return names.get_att(logical_id, attribute)
        return names.ref(expression)

    return _SUB_VARIABLE.sub(replace, text)


def references(value: Any) -> set[str]:
    """Logical ids and parameter names a value refers to (Ref, GetAtt and ${...} in Sub)."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= references(item)
    elif isinstance(value, dict):
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                return {argument}
            if key == "Fn::GetAtt":
                return {argument.split(".", 1)[0] if isinstance(argument, str) else argument[0]}
            if key == "Fn::Sub":
                text, variables = (argument, {}) if isinstance(argument, str) else argument
                for expression in _SUB_VARIABLE.findall(text):
                    if not expression.startswith("!") and expression not in variables:
                        found.add(expression.split(".", 1)[0])
                return found | references(variables)
        for item in value.values():
            found |= references(item)
    return found


# --------------------------------------------------------------------------- functions


@dataclass(frozen=True)
class EventSource:
    name: str
    type: str
    properties: Mapping[str, Any]


@dataclass(frozen=True)
class FunctionSpec:
    """A function with the template's Globals applied."""

    logical_id: str
    code_uri: str
    handler: str
    timeout: int
    memory_size: int
    environment: Mapping[str, Any]  # unresolved: values may still be intrinsics
    events: tuple[EventSource, ...]
    properties: Mapping[str, Any]

    @property
    def module_name(self) -> str:
        """The importable module of the handler: CodeUri functions/x/ + app.handler -> functions.x.app."""
        package = ".".join(part for part in Path(self.code_uri).parts if part not in ("", "."))
        module = self.handler.rsplit(".", 1)[0]
        return f"{package}.{module}" if package else module

    @property
    def handler_name(self) -> str:
        return self.handler.rsplit(".", 1)[1]

    def events_of_type(self, *types: str) -> list[EventSource]:
        return [event for event in self.events if event.type in types]


def global_function_properties(template: Mapping[str, Any]) -> dict[str, Any]:
    return dict(template.get("Globals", {}).get("Function", {}))


def list_functions(template: Mapping[str, Any]) -> list[FunctionSpec]:
    """Every AWS::Serverless::Function with Globals merged in (function values win)."""
    globals_ = global_function_properties(template)
    global_env = globals_.get("Environment", {}).get("Variables", {})
    functions = []
    for logical_id, resource in resources_of_type(template, FUNCTION_TYPE).items():
        props = {**globals_, **resource.get("Properties", {})}
        own_env = resource.get("Properties", {}).get("Environment", {}).get("Variables", {})
        events = tuple(
            EventSource(name=name, type=event["Type"], properties=event.get("Properties", {}))
            for name, event in resource.get("Properties", {}).get("Events", {}).items()
        )
        functions.append(
            FunctionSpec(
                logical_id=logical_id,
                code_uri=str(props["CodeUri"]),
                handler=str(props["Handler"]),
                timeout=int(props.get("Timeout", 3)),
                memory_size=int(props.get("MemorySize", 128)),
                environment={**global_env, **own_env},
                events=events,
                properties=props,
            )
        )
    return functions


def get_function(template: Mapping[str, Any], logical_id: str) -> FunctionSpec:
    for function in list_functions(template):
        if function.logical_id == logical_id:
            return function
    raise KeyError(f"template has no function {logical_id!r}")


@dataclass(frozen=True)
class HttpRoute:
    method: str  # upper case, or ANY
    path: str  # /connections/{connection_id}
    function_id: str
    event_name: str

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"


def http_routes(template: Mapping[str, Any]) -> list[HttpRoute]:
    """The HttpApi routes of every function (route key order as in the template)."""
    routes = []
    for function in list_functions(template):
        for event in function.events_of_type("HttpApi"):
            method = str(event.properties.get("Method", "ANY")).upper()
            path = str(event.properties.get("Path", "$default"))
            if method in ("*", "X-AMAZON-APIGATEWAY-ANY-METHOD"):
                method = "ANY"
            routes.append(HttpRoute(method, path, function.logical_id, event.name))
    return routes


def layer_dirs(template: Mapping[str, Any], root: Path = REPO_ROOT) -> list[Path]:
    """The local directories of the template's layers (what goes on sys.path locally)."""
    return [
        root / str(layer["Properties"]["ContentUri"])
        for layer in resources_of_type(template, LAYER_TYPE).values()
        if isinstance(layer.get("Properties", {}).get("ContentUri"), str)
    ]


def resolved_environment(template: Mapping[str, Any], names: Names, function_id: str | None = None) -> dict[str, str]:
    """The Globals environment (and a function's own variables if `function_id` is given) with
    every intrinsic resolved to local names."""
    if function_id is None:
        variables = global_function_properties(template).get("Environment", {}).get("Variables", {})
    else:
        variables = get_function(template, function_id).environment
    return {name: str(resolve(value, names)) for name, value in variables.items()}


# --------------------------------------------------------------------------- process environment


class EnvironmentPatch:
    """Set variables in os.environ and put the previous values back on `restore()`.

    The environment is process-global: patches must be restored in reverse order of applying."""

    def __init__(self, values: Mapping[str, str | None]):
        self._values = dict(values)
        self._saved: dict[str, str | None] | None = None

    def apply(self) -> EnvironmentPatch:
        if self._saved is not None:
            return self
        self._saved = {name: os.environ.get(name) for name in self._values}
        for name, value in self._values.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        return self

    def restore(self) -> None:
        if self._saved is None:
            return
        for name, value in self._saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved = None

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)
