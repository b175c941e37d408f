"""No export runs what tenants or staff wrote as a spreadsheet formula (OWASP "CSV injection").

Hostile text goes in through the API where people can write it (an area name, questionnaire
labels, a free-text answer) and comes out of all three exports in all three formats: in CSV
every such cell starts with `'` followed by the text unchanged, in XLSX it is a string cell
with the text verbatim and no cell anywhere is a formula; numbers, negative ones too, stay
numbers.
"""

import csv
import io
import re
from datetime import date, timedelta
from typing import Any

import pytest
from openpyxl import load_workbook

from survey_api.exports import formats, service
from survey_api.questionnaires.definition import load_standard_definition
from tests.conftest import Org
from tests.helpers import ok, standard_definition

HOSTILE = [
    '=HYPERLINK("http://x","y")',
    "+1+1",
    "-2+3",
    "@SUM(A1)",
    "\t=1",
    "\r=1",
    "=cmd|' /C calc'!A0",
    "\n=2+2",
    "\uff1dSUM(A1)",  # full-width equals sign
]
# Written here, not imported: this is the contract the exports must keep.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
NEGATIVE = -2.5
EXPORTS = ["responses", "results", "codebook"]
FORMATS = ["csv", "csv-excel", "xlsx"]


def _hostile_questionnaire() -> tuple[dict[str, Any], list[str]]:
    """The standard questionnaire with hostile labels, and a number item that can go negative."""
    definition = standard_definition()
    items = {item["key"]: item for item in definition["items"]}
    options = items["trygg_ute_kvall"]["options"]  # seven options
    for option, text in zip(options, HOSTILE[:7], strict=True):
        option["label"]["sv"] = text
    items["trivsel"]["text"]["en"] = HOSTILE[7]
    definition["indicators"][0]["label"]["ar"] = HOSTILE[8]
    definition["indices"][0]["label"]["sv"] = HOSTILE[0]
    definition["items"].append(
        {
            "key": "grader_ute",
            "kind": "number",
            "section": items["fritext_plats"]["section"],
            "text": {"sv": "Grader ute?", "en": "Degrees outside?", "ar": "درجة الحرارة؟"},
            "min": -50,
            "max": 50,
            "integer": False,
        }
    )
    return definition, HOSTILE


def _set_up(org: Org) -> tuple[int, dict[str, list[str]]]:
    """A round over areas with hostile names, answered with hostile free text; returns the
    round id and the hostile texts as stored, per export."""
    client = org.admin
    definition, labels = _hostile_questionnaire()
    created = ok(client.post("/api/v1/questionnaires", json=definition), 201)
    qid = created["questionnaire"]["id"]
    version = ok(client.post(f"/api/v1/questionnaires/{qid}/versions/1/publish"))

    area_ids: list[int] = []
    names: list[str] = []
    for i, name in enumerate(HOSTILE):
        body = {"code": f"h{i}", "name": name, "municipality_code": "1480", "households": 500}
        area = ok(client.post("/api/v1/areas", json=body), 201)
        area_ids.append(area["id"])
        names.append(area["name"])

    today = date.today()
    survey_round = ok(
        client.post(
            "/api/v1/rounds",
            json={
                "name": "Round 2026",
                "questionnaire_version_id": version["id"],
                "period": "2026",
                "area_ids": area_ids,
                "open_date": (today - timedelta(days=10)).isoformat(),
                "close_date": (today + timedelta(days=30)).isoformat(),
            },
        ),
        201,
    )
    round_id = survey_round["id"]

    texts: list[str] = []
    # All in one area, and at least the minimum cell size (10), so the results have figures.
    # A NUL byte too, kept only if the API takes it (it may refuse text with NUL: 422).
    for text in [*HOSTILE, "=1\x00+1", "Gångtunneln", "Parkeringen"]:
        answers = {"trygg_ute_kvall": 2, "fritext_plats": text, "grader_ute": NEGATIVE}
        response = org.integrator.post(
            f"/api/v1/rounds/{round_id}/responses",
            json={"area_id": area_ids[0], "language": "sv", "answers": answers},
        )
        if "\x00" in text and response.status_code == 422:
            continue
        ok(response, 201)
        if text.startswith(FORMULA_START):
            texts.append(text.strip())  # free text is stored trimmed
    return round_id, {"responses": texts, "results": names, "codebook": labels}


def _download(org: Org, round_id: int, export: str, fmt: str) -> bytes:
    params = {"format": fmt, **({"include_text": "true"} if export == "responses" else {})}
    response = org.admin.get(f"/api/v1/rounds/{round_id}/exports/{export}", params=params)
    assert response.status_code == 200, response.text
    return response.content


def _is_number(cell: str, excel: bool) -> bool:
    try:
        float(cell.replace(",", ".") if excel else cell)
    except ValueError:
        return False
    return True


def _check_csv(content: bytes, excel: bool, hostile: list[str]) -> list[list[str]]:
    text = content.decode("utf-8-sig" if excel else "utf-8")
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";" if excel else ","))
    cells = [cell for row in rows for cell in row]
    live = [c for c in cells if c.startswith(FORMULA_START) and not _is_number(c, excel)]
    assert not live, live
    for value in hostile:
        assert "'" + value in cells, (value, [c for c in cells if c.startswith("'")])
    return rows


def _check_xlsx(content: bytes, hostile: list[str]) -> list[list[Any]]:
    workbook = load_workbook(io.BytesIO(content))
    (sheet,) = workbook.worksheets
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    strings = [c.value for c in cells if c.data_type == "s"]
    for value in hostile:
        # XML reads a carriage return back as a line feed (openpyxl writes it raw) and cannot
        # hold other control characters (the export writes U+FFFD); the text is otherwise
        # verbatim, without the CSV `'`.
        value = value.replace("\r\n", "\n").replace("\r", "\n")
        value = re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f]", "\ufffd", value)
        assert value in strings, (value, strings)
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


@pytest.mark.parametrize("export", EXPORTS)
def test_hostile_text_is_inert_in_every_export_and_format(org: Org, export: str) -> None:
    round_id, hostile = _set_up(org)
    assert len(hostile["responses"]) >= len(HOSTILE) and len(hostile["results"]) >= len(HOSTILE)
    for fmt in FORMATS:
        content = _download(org, round_id, export, fmt)
        if fmt == "xlsx":
            rows = _check_xlsx(content, hostile[export])
        else:
            rows = _check_csv(content, fmt == "csv-excel", hostile[export])
        header, body = rows[0], rows[1:]
        assert body
        if export == "responses":
            numbers = [row[header.index("grader_ute")] for row in body]
            rows_column = [row[header.index("row")] for row in body]
            if fmt == "xlsx":
                assert all(n == NEGATIVE and isinstance(n, float) for n in numbers), numbers
                assert all(isinstance(n, int) for n in rows_column)
            else:
                sep = "," if fmt == "csv-excel" else "."
                assert set(numbers) == {str(NEGATIVE).replace(".", sep)}  # no `'`
                assert rows_column == [str(n) for n in range(1, len(body) + 1)]
        elif export == "results":
            n_values = [row[header.index("n")] for row in body if row[header.index("n")]]
            assert n_values
            shares = [row[header.index("share")] for row in body if row[header.index("share")]]
            if fmt == "xlsx":
                assert all(isinstance(n, int) for n in n_values)
                assert all(isinstance(p, int | float) for p in shares)
            else:
                assert all(str(n).isdigit() for n in n_values)
                assert shares and all(_is_number(str(p), fmt == "csv-excel") for p in shares)


@pytest.mark.parametrize("text", HOSTILE)
def test_defuse_prefixes_text_starting_with_a_formula_character(text: str) -> None:
    assert formats.defuse(text) == "'" + text


@pytest.mark.parametrize("value", ["", "Mycket trygg", "a=1", "'=1", " x", "2026-03-01", None])
def test_defuse_leaves_other_text_alone(value: str | None) -> None:
    assert formats.defuse(value) == value


@pytest.mark.parametrize("value", [-2, -2.5, 0, 3, 1.5, -0.0])
def test_defuse_never_touches_numbers(value: float) -> None:
    assert formats.defuse(value) is value


@pytest.mark.parametrize("excel", [False, True])
def test_csv_keeps_negative_numbers_numeric_and_defuses_text(excel: bool) -> None:
    content = b"".join(
        formats.csv_stream(["=h", "b", "c", "d"], [[-2, -2.5, "-2", None]], excel=excel)
    )
    text = content.decode("utf-8-sig")
    sep = ";" if excel else ","
    assert text.splitlines() == [
        sep.join(["'=h", "b", "c", "d"]),
        sep.join(["-2", "-2,5" if excel else "-2.5", "'-2", ""]),
    ]


def test_xlsx_writes_formula_and_error_lookalikes_as_text_and_numbers_as_numbers() -> None:
    rows = [["=1+1", "#N/A", "@SUM(A1)", "-2", -2, -2.5, "bad\x01char", None]]
    content = b"".join(
        formats.xlsx_stream([("t", ["=h", "b", "c", "d", "e", "f", "g", "h"], rows)])
    )
    sheet = load_workbook(io.BytesIO(content)).active
    header, row = list(sheet.iter_rows())
    assert [(c.value, c.data_type) for c in header[:2]] == [("=h", "s"), ("b", "s")]
    assert [(c.value, c.data_type) for c in row[:7]] == [
        ("=1+1", "s"),
        ("#N/A", "s"),
        ("@SUM(A1)", "s"),
        ("-2", "s"),
        (-2, "n"),
        (-2.5, "n"),
        ("bad\ufffdchar", "s"),  # XML cannot hold U+0001; the file still opens
    ]


def test_responses_export_names_every_column_that_can_hold_text() -> None:
    definition = load_standard_definition()
    columns = service.response_columns(definition, include_text=True)
    header = service.response_header(columns)
    text = [header[i] for i in service.response_text_columns(columns)]
    assert text == ["area", "language", "channel", "entry", "submitted_date", "fritext_plats"]
    without = service.response_columns(definition, include_text=False)
    assert service.response_text_columns(without) == [1, 2, 3, 4, 5]
