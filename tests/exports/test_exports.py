"""Codebook and anonymised-response exports, in the three formats."""

import csv
import io

from openpyxl import load_workbook

from tests.conftest import Org
from tests.helpers import full_answers, ok, open_round


def _submit(org: Org, round_id: int, area_id: int, answers: dict, language: str = "sv") -> None:  # type: ignore[type-arg]
    ok(
        org.integrator.post(
            f"/api/v1/rounds/{round_id}/responses",
            json={"area_id": area_id, "language": language, "answers": answers},
        ),
        201,
    )


def test_codebook_lists_every_item_and_option_with_labels_in_each_language(org: Org) -> None:
    r = open_round(org.analyst, n_areas=1)
    response = org.integrator.get(f"/api/v1/rounds/{r.id}/exports/codebook")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    # The file's name says its survey, period and round (issue 12).
    assert (
        f'filename="trygghetsmatning-standard-2026-round-{r.id}-codebook.csv"'
        in response.headers["content-disposition"]
    )
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert {"text_sv", "text_en", "text_ar"} <= set(rows[0])
    trygg = [row for row in rows if row["item"] == "trygg_ute_kvall" and row["option_code"]]
    assert [row["option_code"] for row in trygg] == ["1", "2", "3", "4", "5", "8", "9"]
    assert trygg[0]["text_sv"] == "Mycket trygg" and trygg[0]["favourable"] == "1"
    vet_inte = [row for row in trygg if row["option_code"] == "9"][0]
    assert vet_inte["substantive"] == "0" and vet_inte["score"] == ""


def test_responses_export_is_admin_only_and_leaves_out_free_text_by_default(org: Org) -> None:
    r = open_round(org.analyst, n_areas=2)
    _submit(org, r.id, r.area_ids[0], full_answers())
    _submit(org, r.id, r.area_ids[1], {"trivsel": 4, "utsatt_brott_12m": [6]}, "ar")
    assert org.analyst.get(f"/api/v1/rounds/{r.id}/exports/responses").status_code == 403
    response = org.admin.get(f"/api/v1/rounds/{r.id}/exports/responses")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 2
    assert "fritext_plats" not in rows[0]
    assert [row["row"] for row in rows] == ["1", "2"]  # numbered, not identified
    first, second = rows
    assert first["area"] == "area0" and first["trygg_ute_kvall"] == "2"
    assert first["entry"] == "api"  # entered through the API, not a code or an area link
    assert (
        first["utsatt_brott_12m_1"],
        first["utsatt_brott_12m_2"],
        first["utsatt_brott_12m_3"],
    ) == ("1", "0", "1")
    assert second["language"] == "ar" and second["utsatt_brott_12m_6"] == "1"
    assert second["trygg_ute_kvall"] == ""
    with_text = org.admin.get(
        f"/api/v1/rounds/{r.id}/exports/responses", params={"include_text": "true"}
    )
    text_rows = list(csv.DictReader(io.StringIO(with_text.text)))
    assert text_rows[0]["fritext_plats"] == full_answers()["fritext_plats"]


def test_swedish_excel_dialect_has_bom_semicolons_and_decimal_commas(org: Org) -> None:
    r = open_round(org.analyst, n_areas=1)
    response = org.integrator.get(
        f"/api/v1/rounds/{r.id}/exports/codebook", params={"format": "csv-excel"}
    )
    assert response.content.startswith("\ufeff".encode())
    text = response.content.decode("utf-8-sig")
    header = text.splitlines()[0]
    assert header.startswith("item;kind;section")
    rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    assert any(row["item"] == "trygg_ute_kvall" for row in rows)


def test_xlsx_export_opens_as_a_workbook(org: Org) -> None:
    r = open_round(org.analyst, n_areas=1)
    _submit(org, r.id, r.area_ids[0], full_answers())
    response = org.admin.get(f"/api/v1/rounds/{r.id}/exports/responses", params={"format": "xlsx"})
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.content), read_only=True)
    sheet = workbook["responses"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:6] == ("row", "area", "language", "channel", "entry", "submitted_date")
    assert len(rows) == 2 and rows[1][1] == "area0"


def test_unknown_format_is_a_clear_422(org: Org) -> None:
    r = open_round(org.analyst, n_areas=1)
    response = org.admin.get(f"/api/v1/rounds/{r.id}/exports/codebook", params={"format": "pdf"})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert "format" in response.json()["detail"]
