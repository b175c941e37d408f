"""The committed contract in openapi/openapi.json must match the app, and be usable."""

import json
from pathlib import Path

from survey_api.main import openapi_document

COMMITTED = Path(__file__).resolve().parents[1] / "openapi" / "openapi.json"
METHODS = ("get", "post", "put", "patch", "delete")


def operations() -> list[tuple[str, str, dict]]:  # type: ignore[type-arg]
    doc = openapi_document()
    return [
        (path, method, op)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


def test_committed_contract_matches_the_app() -> None:
    committed = json.loads(COMMITTED.read_text(encoding="utf-8"))
    assert committed == openapi_document(), (
        "openapi/openapi.json is out of date: run `survey-api openapi` and commit it"
    )


def test_operation_ids_are_unique_readable_snake_case() -> None:
    ids = [op["operationId"] for _, _, op in operations()]
    assert len(ids) == len(set(ids))
    for op_id in ids:
        assert op_id.replace("_", "").isalpha() and op_id.islower(), op_id


def test_every_operation_is_described_and_documents_its_errors() -> None:
    for path, method, op in operations():
        assert op.get("summary") or op.get("description"), f"{method} {path} has no description"
        errors = [s for s in op["responses"] if s.startswith(("4", "5"))]
        assert errors, f"{method} {path} documents no error responses"
        if path.startswith("/api/v1") and method != "get" or "security" in op:
            assert "401" in op["responses"], f"{method} {path} does not document 401"


def test_json_request_bodies_carry_examples() -> None:
    doc = openapi_document()
    schemas = doc["components"]["schemas"]
    for path, method, op in operations():
        content = op.get("requestBody", {}).get("content", {})
        for media, spec in content.items():
            if media != "application/json":
                assert "example" in spec or "examples" in spec, f"{method} {path} {media}"
                continue
            ref = spec["schema"].get("$ref", "")
            schema = schemas.get(ref.rsplit("/", 1)[-1], spec["schema"])
            has_example = "examples" in spec or "example" in spec or "examples" in schema
            assert has_example, f"{method} {path} request body has no example"


def test_error_responses_are_problem_json() -> None:
    for path, method, op in operations():
        for status, response in op["responses"].items():
            if status.startswith("4") and status != "422" or status == "413":
                assert "application/problem+json" in response.get("content", {}), (
                    f"{method} {path} {status}"
                )
