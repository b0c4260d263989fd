from __future__ import annotations

from local.openapi import OPENAPI_PATH, render


def test_committed_openapi_document_matches_the_handlers() -> None:
    assert OPENAPI_PATH.read_text(encoding="utf-8") == render(), (
        "openapi.json is out of date: run `make openapi` and commit it"
    )
