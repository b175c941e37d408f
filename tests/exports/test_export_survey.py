"""Export files say which survey they come from: in the file name, and in an XLSX workbook's
document properties; a CSV's columns stay exactly what integrators parse (issue 12)."""

import csv
import io
import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from survey_api.exports import results_rows
from tests.conftest import Org
from tests.helpers import create_area, ok, publish_standard

KUNDENKAT = json.loads(
    (Path(__file__).resolve().parents[2] / "src/survey_api/data/kundenkat-standard.json").read_text(
        encoding="utf-8"
    )
)
KEY = KUNDENKAT["key"]


def _kundenkat_round(org: Org) -> int:
    version = publish_standard(org.analyst, KUNDENKAT)
    area = create_area(org.analyst, "norr")
    body = {
        "name": "Kundenkät 2026",
        "questionnaire_version_id": version["id"],
        "period": "2026",
        "area_ids": [area["id"]],
        "open_date": (date.today() - timedelta(days=3)).isoformat(),
        "close_date": (date.today() + timedelta(days=20)).isoformat(),
    }
    round_id = int(ok(org.analyst.post("/api/v1/rounds", json=body), 201)["id"])
    ok(
        org.integrator.post(
            f"/api/v1/rounds/{round_id}/responses",
            json={"area_id": area["id"], "language": "sv", "answers": {"trygg_ute_kvall": 2}},
        ),
        201,
    )
    return round_id


EXPORTS = [("codebook", {}), ("responses", {}), ("results", {})]


@pytest.mark.parametrize("fmt", ["csv", "csv-excel", "xlsx"])
def test_file_names_carry_the_questionnaire_key_period_and_round(org: Org, fmt: str) -> None:
    round_id = _kundenkat_round(org)
    extension = "xlsx" if fmt == "xlsx" else "csv"
    for kind, params in EXPORTS:
        response = org.admin.get(
            f"/api/v1/rounds/{round_id}/exports/{kind}", params={"format": fmt, **params}
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-disposition"] == (
            f'attachment; filename="{KEY}-2026-round-{round_id}-{kind}.{extension}"'
        )


def test_an_xlsx_workbook_names_its_survey_and_keeps_its_sheets(org: Org) -> None:
    round_id = _kundenkat_round(org)
    response = org.analyst.get(
        f"/api/v1/rounds/{round_id}/exports/results", params={"format": "xlsx"}
    )
    workbook = load_workbook(io.BytesIO(response.content))
    properties = workbook.properties
    assert properties.title == "Kundenkät för hyresgäster: Kundenkät 2026 (2026)"
    assert properties.subject == "Kundenkät för hyresgäster"
    assert properties.keywords == KEY
    assert properties.description is not None
    assert "en: Tenant customer survey" in properties.description
    # The survey is said in the properties, not in the sheet: its header row is unchanged.
    assert workbook.sheetnames == ["results"]
    rows: list[Any] = list(workbook["results"].iter_rows(values_only=True))
    assert list(rows[0]) == results_rows.HEADER


def test_csv_columns_are_unchanged(org: Org) -> None:
    round_id = _kundenkat_round(org)
    results = org.analyst.get(f"/api/v1/rounds/{round_id}/exports/results")
    assert next(csv.reader(io.StringIO(results.text))) == results_rows.HEADER
    responses = org.admin.get(f"/api/v1/rounds/{round_id}/exports/responses")
    header = next(csv.reader(io.StringIO(responses.text)))
    assert header[:6] == ["row", "area", "language", "channel", "entry", "submitted_date"]
    assert header[6:] == [
        f"{item['key']}_{o['code']}" if item["kind"] == "multi_choice" else item["key"]
        for item in KUNDENKAT["items"]
        if item["kind"] != "text"
        for o in (item["options"] if item["kind"] == "multi_choice" else [None])
    ]
