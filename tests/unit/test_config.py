"""Each function's settings: what is required and named in the error, the defaults, and that a
function's model and its environment in template.yaml name exactly the same variables."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import cast

import pytest

from local.template import list_functions, load_template, placeholder_names, resolved_environment
from qbosync.config import (
    FUNCTION_SETTINGS,
    LOCAL_OVERRIDES,
    ConfigurationError,
    ConnectionsSettings,
    CopyInvoiceSettings,
    FunctionName,
    FunctionSettings,
    PaymentWebhookSettings,
)

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template()
FUNCTIONS = {Path(function.code_uri).name: function for function in list_functions(TEMPLATE)}


def environment_of(function: str) -> dict[str, str]:
    """The function's variables as the template sets them (placeholder resource names)."""
    return resolved_environment(TEMPLATE, placeholder_names(TEMPLATE), FUNCTIONS[function].logical_id)


def model_of(function: str) -> type[FunctionSettings]:
    return FUNCTION_SETTINGS[cast(FunctionName, function)]


def required(function: str) -> list[str]:
    model = model_of(function)
    return sorted(field.alias or name for name, field in model.model_fields.items() if field.is_required())


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_each_function_reads_exactly_its_variables_in_the_template(function: str) -> None:
    model = model_of(function)
    assert model.variables() - LOCAL_OVERRIDES == set(FUNCTIONS[function].environment)
    model.from_env(environment_of(function))  # and the template's values are valid


def test_every_settings_model_belongs_to_a_function_of_the_template() -> None:
    assert set(FUNCTION_SETTINGS) == set(FUNCTIONS)


def test_local_overrides_are_never_required() -> None:
    for function in FUNCTION_SETTINGS:
        assert not LOCAL_OVERRIDES & set(required(function)), function


@pytest.mark.parametrize(
    ("function", "variable"), [(function, name) for function in sorted(FUNCTIONS) for name in required(function)]
)
def test_a_missing_variable_is_named(function: str, variable: str) -> None:
    env = environment_of(function)
    del env[variable]
    with pytest.raises(ConfigurationError, match=f"^environment variable {variable} is not set$"):
        model_of(function).from_env(env)


def test_a_blank_variable_counts_as_unset() -> None:
    env = {**environment_of("payment_webhook"), "PAYMENT_EVENTS_QUEUE_URL": "  "}
    with pytest.raises(ConfigurationError, match="PAYMENT_EVENTS_QUEUE_URL is not set"):
        PaymentWebhookSettings.from_env(env)
    settings = ConnectionsSettings.from_env({**environment_of("connections"), "QBO_ENVIRONMENT": ""})
    assert settings.qbo_environment == "sandbox"


def test_every_problem_is_named_at_once() -> None:
    with pytest.raises(ConfigurationError) as raised:
        PaymentWebhookSettings.from_env({})
    for variable in required("payment_webhook"):
        assert f"{variable} is not set" in str(raised.value)


def test_qbo_environment_must_be_sandbox_or_production() -> None:
    env = {**environment_of("connections"), "QBO_ENVIRONMENT": "prod"}
    with pytest.raises(ConfigurationError, match=r"QBO_ENVIRONMENT is invalid: .* 'sandbox' or 'production'"):
        ConnectionsSettings.from_env(env)


@pytest.mark.parametrize("hosts", ["app.productive.io, not a host", "https://app.productive.io", ",", "*.", "a_b.io"])
def test_allowed_return_url_hosts_must_be_host_names(hosts: str) -> None:
    env = {**environment_of("connections"), "ALLOWED_RETURN_URL_HOSTS": hosts}
    with pytest.raises(ConfigurationError, match="ALLOWED_RETURN_URL_HOSTS is invalid: not a list of host names"):
        ConnectionsSettings.from_env(env)


def test_allowed_return_url_hosts_default_and_wildcards() -> None:
    env = environment_of("connections")
    del env["ALLOWED_RETURN_URL_HOSTS"]
    default = ConnectionsSettings.from_env(env).return_urls
    assert default.exact == frozenset({"app.productive.io"})
    assert not default.suffixes
    custom = ConnectionsSettings.from_env({**env, "ALLOWED_RETURN_URL_HOSTS": "app.productive.io,*.example.com"})
    assert custom.return_urls.suffixes == (".example.com",)


def test_the_powertools_service_is_the_package() -> None:
    env = {**environment_of("payment_webhook"), "POWERTOOLS_SERVICE_NAME": "other"}
    with pytest.raises(ConfigurationError, match="POWERTOOLS_SERVICE_NAME is invalid"):
        PaymentWebhookSettings.from_env(env)


def test_intuit_and_productive_urls_default_to_the_real_ones() -> None:
    env = environment_of("copy_invoice")
    del env["PRODUCTIVE_API_BASE_URL"]
    sandbox = CopyInvoiceSettings.from_env({**env, "QBO_ENVIRONMENT": "sandbox"})
    assert sandbox.qbo_api_base_url == "https://sandbox-quickbooks.api.intuit.com"
    assert sandbox.qbo_app_url == "https://app.sandbox.qbo.intuit.com"
    assert sandbox.productive_api_base_url == "https://api.productive.io/api/v2"
    assert sandbox.qbo_token_url == "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
    assert sandbox.qbo_authorize_url == "https://appcenter.intuit.com/connect/oauth2"
    assert sandbox.qbo_revoke_url == "https://developer.api.intuit.com/v2/oauth2/tokens/revoke"
    production = CopyInvoiceSettings.from_env({**env, "QBO_ENVIRONMENT": "production"})
    assert production.qbo_api_base_url == "https://quickbooks.api.intuit.com"
    assert production.qbo_app_url == "https://app.qbo.intuit.com"


def test_overrides_win_and_urls_lose_their_trailing_slash() -> None:
    env = {
        **environment_of("copy_invoice"),
        "QBO_ENVIRONMENT": "production",
        "QBO_API_BASE_URL": "http://127.0.0.1:9000/",
        "QBO_APP_URL": "http://127.0.0.1:9000/app//",
        "QBO_TOKEN_URL": "http://127.0.0.1:9000/token",
        "PRODUCTIVE_API_BASE_URL": " http://127.0.0.1:9001/api/v2/ ",
    }
    settings = CopyInvoiceSettings.from_env(env)
    assert settings.qbo_api_base_url == "http://127.0.0.1:9000"
    assert settings.qbo_app_url == "http://127.0.0.1:9000/app"
    assert settings.qbo_token_url == "http://127.0.0.1:9000/token"
    assert settings.productive_api_base_url == "http://127.0.0.1:9001/api/v2"


def test_a_handler_with_a_missing_variable_fails_its_cold_start_by_name() -> None:
    """The handler checks its function's environment when it is imported, before any request."""
    env = {
        **{name: value for name, value in os.environ.items() if not name.startswith(("POWERTOOLS_", "QBO_"))},
        **environment_of("payment_webhook"),
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "layers" / "qbosync")]),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    env.pop("PAYMENT_EVENTS_QUEUE_URL")
    done = subprocess.run(
        [sys.executable, "-c", "import functions.payment_webhook.app"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode != 0
    assert "ConfigurationError: environment variable PAYMENT_EVENTS_QUEUE_URL is not set" in done.stderr
