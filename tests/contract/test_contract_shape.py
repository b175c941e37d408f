"""What the committed contract promises a client generator, read from openapi/openapi.json:
errors as the server sends them, every status it may answer, one language type, files as
bytes and a CSV import a generator can send."""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CONTRACT = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"
PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
METHODS = ("get", "put", "post", "delete", "patch")

pytestmark = pytest.mark.contract


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(CONTRACT.read_text(encoding="utf-8"))
    return loaded


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield f"{method.upper()} {path}", op


# An import's 422 is a Problem with the refused run's report under `report`.
IMPORT_REFUSALS = {
    "POST /api/v1/rounds/{round_id}/imports": ("ImportProblemDetails", "ImportReport"),
    "POST /api/v1/rounds/{round_id}/tallies/import": ("ImportProblemDetails", "ImportReport"),
    "POST /api/v1/areas/classifications/import": (
        "ClassificationImportProblemDetails",
        "ClassificationImportReport",
    ),
}


def test_every_error_is_a_problem_and_nothing_else(doc: dict[str, Any]) -> None:
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    assert "ValidationError" not in doc["components"]["schemas"]
    for name, op in operations(doc):
        for status, response in op["responses"].items():
            if status == "422" and name in IMPORT_REFUSALS:
                continue
            if status.startswith(("4", "5")):
                assert response["content"] == PROBLEM, f"{name} {status}"


def test_an_import_refusal_documents_its_report(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    ops = dict(operations(doc))
    for name, (details, report) in IMPORT_REFUSALS.items():
        content = ops[name]["responses"]["422"]["content"]
        assert content == {
            "application/problem+json": {"schema": {"$ref": f"#/components/schemas/{details}"}}
        }, name
        properties = schemas[details]["properties"]
        # Every field of Problem, with the same types: a client reading Problem reads it too.
        for field, spec in schemas["Problem"]["properties"].items():
            assert properties[field] == spec, (name, field)
        assert schemas[details]["required"] == schemas["Problem"]["required"]
        assert {"$ref": f"#/components/schemas/{report}"} in properties["report"]["anyOf"]


def test_every_operation_documents_503_and_body_errors(doc: dict[str, Any]) -> None:
    for name, op in operations(doc):
        unavailable = op["responses"]["503"]
        assert "Retry-After" in unavailable["headers"], name
        if "requestBody" in op:
            assert {"400", "413", "422"} <= op["responses"].keys(), name


def test_one_language_type(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    assert schemas["LanguageCode"]["type"] == "string"
    found = []
    for schema_name, schema in schemas.items():
        language = schema.get("properties", {}).get("language")
        if language is not None and schema_name == "ImportMapping":
            # An import mapping's `language` says where each row's code comes from; the codes
            # it names are LanguageCodes.
            mapping = schemas["LanguageMapping"]["properties"]
            assert language["$ref"] == "#/components/schemas/LanguageMapping"
            assert {"$ref": "#/components/schemas/LanguageCode"} in mapping["fixed"]["anyOf"]
            assert mapping["values"]["additionalProperties"] == {
                "$ref": "#/components/schemas/LanguageCode"
            }
        elif language is not None:
            found.append(schema_name)
            ref = {"$ref": "#/components/schemas/LanguageCode"}
            # Optional where nothing need be asked (the area overview's label language).
            assert language.get("$ref") == ref["$ref"] or language.get("anyOf") == [
                ref,
                {"type": "null"},
            ], schema_name
    assert {"ResponseSubmit", "BulkResponse", "ShareLinkCreate", "ShareLink"} <= set(found)


def test_exports_are_binary_in_every_media_type(doc: dict[str, Any]) -> None:
    exports = [(n, op) for n, op in operations(doc) if op["tags"] == ["exports"]]
    assert len(exports) == 3
    for name, op in exports:
        content = op["responses"]["200"]["content"]
        assert set(content) == {
            "text/csv",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }, name
        for media in content.values():
            assert media["schema"] == {"type": "string", "format": "binary"}, name


def test_the_csv_import_can_be_sent_as_a_form(doc: dict[str, Any]) -> None:
    body = doc["paths"]["/api/v1/areas/import"]["post"]["requestBody"]["content"]
    assert set(body) == {"text/csv", "multipart/form-data"}
    form = body["multipart/form-data"]["schema"]
    assert form["required"] == ["file"]
    assert form["properties"]["file"] == {
        "type": "string",
        "format": "binary",
        "description": "The CSV or XLSX file.",
    }


def test_the_bulk_upload_says_why_its_key_is_required(doc: dict[str, Any]) -> None:
    op = doc["paths"]["/api/v1/rounds/{round_id}/responses/bulk"]["post"]
    (key,) = [p for p in op["parameters"] if p["name"].lower() == "idempotency-key"]
    assert key["required"] is True
    assert "Required:" in key["description"] and "twice" in key["description"]
    assert "Idempotent-Replayed" in op["responses"]["200"]["headers"]
