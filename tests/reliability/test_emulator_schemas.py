"""Schemathesis drives requests generated from the public OpenAPI files of the Dify API
(tests/reliability/openapi) through the emulator, valid and invalid ones, and checks
every answer: never a server error, every refusal in the platform's JSON error shape
(`{"code", "message", "status"}`), and every JSON success valid against the schema."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core.transport import Response
from schemathesis.specs.openapi.checks import response_schema_conformance

from .conftest import EmulatorProcess, emulator_process_fixture

OPENAPI = Path(__file__).parent / "openapi"
SCHEMAS = {
    "openapi_chat.1.15.0.json": "app",
    "openapi_chat.2025-05-19.json": "app",
    "openapi_knowledge.2025-07-26.json": "knowledge",
}
EXAMPLES = 8
"""Generated requests per operation (half valid, half not): the report quotes these."""
KEYS = {"app": "app-emulator-key", "knowledge": "dataset-emulator-key"}

emulator_process = emulator_process_fixture()


def load(name: str) -> Any:
    """A schema, with the one defect that makes valid answers fail it fixed: 1.15.0's
    `UserInputFormItem` is a `oneOf` of wrappers that all accept any object, so a form
    item matches all three; `anyOf` is what it means."""
    raw = json.loads((OPENAPI / name).read_text())
    item = raw["components"]["schemas"].get("UserInputFormItem", {})
    if "oneOf" in item:
        item["anyOf"] = item.pop("oneOf")
    return schemathesis.openapi.from_dict(raw)


def operations() -> Iterator[Any]:
    for name, scope in SCHEMAS.items():
        for result in load(name).get_all_operations():
            operation = result.ok()
            label = f"{name.removeprefix('openapi_').removesuffix('.json')}"
            yield pytest.param(
                operation, scope, id=f"{label} {operation.method.upper()} {operation.path}"
            )


@pytest.fixture(scope="module")
def session() -> Iterator[requests.Session]:
    with requests.Session() as opened:
        yield opened


def assert_the_platform_s_answer(case: Any, response: Response) -> None:
    where = f"{case.method} {case.formatted_path} -> {response.status_code}"
    assert response.status_code < 500, f"{where}: {response.content[:300]!r}"
    content_type = response.headers.get("content-type", [""])[0]
    if response.status_code < 400:
        if content_type.startswith("application/json"):
            case.validate_response(response, checks=[response_schema_conformance])
        return
    assert content_type == "application/json", where
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"code", "message", "status"}, where
    assert isinstance(body["code"], str) and isinstance(body["message"], str), where
    assert body["status"] == response.status_code, where


@pytest.mark.parametrize(("operation", "scope"), list(operations()))
def test_every_answer_is_the_platform_s(
    emulator_process: EmulatorProcess, session: requests.Session, operation: Any, scope: str
) -> None:
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )
    headers = {"Authorization": f"Bearer {KEYS[scope]}"}

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.generate],  # report the first failure as found: no shrinking
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases)
    def answer_is_the_platform_s(case: Any) -> None:
        response = case.call(
            base_url=emulator_process.base_url, session=session, headers=headers, timeout=30
        )
        assert_the_platform_s_answer(case, response)

    answer_is_the_platform_s()
