"""Fixtures for the template tests: the SAM template as written, and as CloudFormation after the
SAM transform (done offline by samtranslator, as CloudFormation would do it at deploy time)."""

from __future__ import annotations

import copy
import os
from typing import Any

import pytest

from local.template import FUNCTION_TYPE, LAYER_TYPE, load_template


class _NoManagedPolicies:
    """The translator asks for managed-policy ARNs only when a template names them by name."""

    def load(self) -> dict[str, str]:
        return {}


@pytest.fixture(scope="session")
def sam_template() -> dict[str, Any]:
    return load_template()


def transform_template(sam: dict[str, Any], parameters: dict[str, str]) -> dict[str, Any]:
    from samtranslator.translator.transform import transform

    sam = copy.deepcopy(sam)
    for resource in sam["Resources"].values():  # the translator wants uploaded (s3://) artefacts
        if resource["Type"] == FUNCTION_TYPE:
            resource["Properties"]["CodeUri"] = "s3://placeholder/function.zip"
        elif resource["Type"] == LAYER_TYPE:
            resource["Properties"]["ContentUri"] = "s3://placeholder/layer.zip"
    saved = os.environ.get("AWS_DEFAULT_REGION")
    os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
    try:
        result: dict[str, Any] = transform(sam, parameters, _NoManagedPolicies())
    finally:
        if saved is None:
            del os.environ["AWS_DEFAULT_REGION"]
        else:
            os.environ["AWS_DEFAULT_REGION"] = saved
    return result


@pytest.fixture(scope="session")
def cfn(sam_template: dict[str, Any]) -> dict[str, Any]:
    return transform_template(sam_template, {"Stage": "dev"})
