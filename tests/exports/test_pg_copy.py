"""The responses CSV export written by PostgreSQL's COPY is the Python path's file, byte for byte.

On PostgreSQL the CSV formats come from one `COPY (SELECT …) TO STDOUT` (exports/pg_copy.py);
SQLite keeps the Python path (service.response_rows + formats.csv_stream). The round below
holds what makes CSV hard: formula-like text (also with tab, CR and LF in front, as an import
could store it), quotes, separators and newlines inside text, emoji, Arabic, a very long text,
an empty text, a hostile area code, multi-choice columns, unanswered items and numbers from
1e-05 to 1e15. Both databases are checked against values computed here; on PostgreSQL the
download must also equal the Python path's bytes for the same round.
"""

import csv
import io
import random
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from survey_api.db import normalise_url
from survey_api.exports import formats, pg_copy, service
from survey_api.models import Area, Response, SurveyRound
from survey_api.questionnaires import service as questionnaires_service
from tests.conftest import Org
from tests.helpers import create_area, ok, publish_standard, standard_definition

HOSTILE_TEXTS = [
    '=HYPERLINK("http://x","y")',
    "+1+1",
    "-2+3",
    "@SUM(A1)",
    "\t=1",
    "\r=1",
    "\n=2+2",
    "\uff1dSUM(A1)",
    "\uff0b1",
    "\uff0d1",
    "\uff20x",
    'Han sa "hej", sen; gick han',
    "rad ett\nrad två\r\nrad tre",
    "Trygg 🙂 men mörkt 👍🏽",
    "أشعر بعدم الأمان في الليل",
    'lång; "text", ' * 400,
    "\\.",
    "'=redan skyddad",
    " mellanslag först",
    "\u2212minus (U+2212, not a formula)",
    "",
]
NUMBERS: list[int | float] = [
    -2.5,
    3,
    2.0,
    0.1 + 0.2,
    1e-05,
    1.5e-07,
    123456.789,
    1e15,
    -1e15,
    999999999999999.9,
    -0.001,
    0,
]
MULTI = "utsatt_brott_12m"
HOSTILE_AREA_CODE = "@omr=1"


def _questionnaire() -> dict[str, Any]:
    definition = standard_definition()
    section = next(i for i in definition["items"] if i["key"] == "fritext_plats")["section"]
    definition["items"].append(
        {
            "key": "grader_ute",
            "kind": "number",
            "section": section,
            "text": {"sv": "Grader ute?", "en": "Degrees outside?", "ar": "درجة الحرارة؟"},
            "min": -1e15,
            "max": 1e15,
            "integer": False,
        }
    )
    return definition


def _expected_text(value: str) -> str:
    return "'" + value if value[:1] in formats.FORMULA_START else value


def _set_up(org: Org, db: sessionmaker[Session]) -> tuple[int, list[dict[str, Any]]]:
    """A round with answers through the API and, for what the API would trim or refuse,
    rows written straight into the database (as an import or an older version could have).
    Returns the round id and, in response order, what each row should say."""
    version = publish_standard(org.admin, _questionnaire())
    areas = [create_area(org.admin, f"omr{i}") for i in range(2)]
    today = date.today()
    survey_round = ok(
        org.admin.post(
            "/api/v1/rounds",
            json={
                "name": "Export",
                "questionnaire_version_id": version["id"],
                "period": "2026",
                "area_ids": [a["id"] for a in areas],
                "open_date": (today - timedelta(days=10)).isoformat(),
                "close_date": (today + timedelta(days=30)).isoformat(),
            },
        ),
        201,
    )
    round_id = survey_round["id"]
    expected: list[dict[str, Any]] = []
    # Through the API: numbers (JSON floats and ints) and multi-choice answers.
    for i, number in enumerate(NUMBERS):
        answers: dict[str, Any] = {"grader_ute": number, "trivsel": 1 + i % 4}
        if i % 3 == 0:
            answers[MULTI] = [1, 3]
        elif i % 3 == 1:
            answers[MULTI] = [6]
        area = areas[i % 2]
        ok(
            org.integrator.post(
                f"/api/v1/rounds/{round_id}/responses",
                json={
                    "area_id": area["id"],
                    "language": "ar" if i % 2 else "sv",
                    "answers": answers,
                },
            ),
            201,
        )
        expected.append({"area_index": i % 2, "number": number, "text": None, **answers})
    # Straight into the database: text the API would trim (leading tab, CR, LF) or refuse
    # (empty), in entries other than the API's.
    with db() as session:
        for i, value in enumerate(HOSTILE_TEXTS):
            answers = {"fritext_plats": value, "trygg_ute_kvall": 1 + i % 4}
            if i % 2:
                answers[MULTI] = [2]
            session.add(
                Response(
                    survey_round_id=round_id,
                    area_id=areas[1]["id"],
                    language="sv",
                    channel="paper" if i % 2 else "web",
                    entry="link" if i % 2 else "code",
                    submitted_date=today - timedelta(days=i),
                    answers=answers,
                )
            )
            expected.append({"area_index": 1, "number": None, "text": value, **answers})
        # A code no API call can make (the pattern refuses it), to prove the defusing.
        session.execute(
            update(Area).where(Area.id == areas[1]["id"]).values(code=HOSTILE_AREA_CODE)
        )
        session.commit()
    return round_id, expected


def _download(org: Org, round_id: int, fmt: str, include_text: bool) -> bytes:
    params = {"format": fmt, "include_text": "true" if include_text else "false"}
    response = org.admin.get(f"/api/v1/rounds/{round_id}/exports/responses", params=params)
    assert response.status_code == 200, response.text
    return response.content


def _python_path(db: sessionmaker[Session], round_id: int, fmt: str, include_text: bool) -> bytes:
    """The Python path's file for the same round (what SQLite serves)."""
    with db() as session:
        survey_round = session.get(SurveyRound, round_id)
        assert survey_round is not None
        definition = questionnaires_service.published_definition(
            session, survey_round.questionnaire_version_id
        )
        session.expunge(survey_round)
    columns = service.response_columns(definition, include_text)
    return b"".join(
        formats.csv_stream(
            service.response_header(columns),
            service.response_rows(db, survey_round, columns),
            excel=fmt == "csv-excel",
            text_columns=service.response_text_columns(columns),
        )
    )


def _number_text(value: int | float, backend: str, excel: bool) -> str:
    # PostgreSQL reads a number answer as float8 (3 → "3.0"); SQLite's json_extract keeps
    # what the JSON held (3 → "3", 2.0 → "2.0").
    written = str(float(value)) if backend == "postgresql" else str(value)
    return written.replace(".", ",") if excel else written


@pytest.mark.parametrize("fmt", ["csv", "csv-excel"])
def test_responses_csv_says_what_was_answered_with_hostile_text_defused(
    org: Org, db: sessionmaker[Session], backend: str, fmt: str
) -> None:
    round_id, expected = _set_up(org, db)
    excel = fmt == "csv-excel"
    content = _download(org, round_id, fmt, include_text=True)
    assert content.startswith(b"\xef\xbb\xbf") == excel
    body = content.decode("utf-8-sig")
    assert body.endswith("\r\n")
    rows = list(csv.reader(io.StringIO(body, newline=""), delimiter=";" if excel else ","))
    header, data = rows[0], rows[1:]
    assert header[:6] == ["row", "area", "language", "channel", "entry", "submitted_date"]
    assert len(data) == len(expected)
    position = {name: header.index(name) for name in header}
    for number, (row, want) in enumerate(zip(data, expected, strict=True), start=1):
        assert len(row) == len(header)
        assert row[position["row"]] == str(number)
        assert row[position["area"]] == ["omr0", "'" + HOSTILE_AREA_CODE][want["area_index"]]
        if want["text"] is None:
            assert row[position["fritext_plats"]] == ""
        else:
            assert row[position["fritext_plats"]] == _expected_text(want["text"])
        if want["number"] is None:
            assert row[position["grader_ute"]] == ""
        else:
            assert row[position["grader_ute"]] == _number_text(want["number"], backend, excel)
        ticked = set(want.get(MULTI, []))
        flags = [row[position[f"{MULTI}_{code}"]] for code in (1, 2, 3, 6)]
        if ticked:
            assert flags == [str(int(code in ticked)) for code in (1, 2, 3, 6)]
        else:
            assert flags == ["", "", "", ""]  # unanswered: empty, not 0
        for key in ("trivsel", "trygg_ute_kvall"):
            assert row[position[key]] == (str(want[key]) if key in want else "")
    # Every cell that starts like a formula is a number (never text that could run).
    for cell in (c for row in data for c in row):
        if cell[:1] in formats.FORMULA_START:
            float(cell.replace(",", ".") if excel else cell)


@pytest.mark.parametrize("include_text", [True, False])
@pytest.mark.parametrize("fmt", ["csv", "csv-excel"])
def test_postgresql_copy_writes_the_python_paths_bytes(
    org: Org,
    db: sessionmaker[Session],
    backend: str,
    fmt: str,
    include_text: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if backend != "postgresql":
        pytest.skip("the COPY path is PostgreSQL's; SQLite serves the Python path itself")
    round_id, _ = _set_up(org, db)
    python_path = _python_path(db, round_id, fmt, include_text)

    def no_python_path(*args: object, **kwargs: object) -> Iterator[list[object]]:
        raise AssertionError("the PostgreSQL CSV export must not fetch rows into Python")

    monkeypatch.setattr(service, "response_rows", no_python_path)
    downloaded = _download(org, round_id, fmt, include_text)
    assert downloaded == python_path
    # Small chunks: some with quoted fields (newlines inside), some without.
    monkeypatch.setattr(pg_copy, "CHUNK_BYTES", 400)
    assert _download(org, round_id, fmt, include_text) == python_path
    assert downloaded.count(b"\r\n") >= len(NUMBERS) + len(HOSTILE_TEXTS) + 1


def test_postgresql_copy_ignores_the_servers_date_and_float_settings(
    org: Org, db: sessionmaker[Session], database_url: str, backend: str
) -> None:
    """A server (or role) configured with another DateStyle and fewer float digits writes the
    same file: the copy sets both for its own transaction."""
    if backend != "postgresql":
        pytest.skip("the COPY path is PostgreSQL's")
    round_id, _ = _set_up(org, db)
    odd = create_engine(
        normalise_url(database_url),
        connect_args={"options": "-c DateStyle=SQL,DMY -c extra_float_digits=-3"},
    )
    try:
        with db() as session:
            survey_round = session.get(SurveyRound, round_id)
            assert survey_round is not None
            definition = questionnaires_service.published_definition(
                session, survey_round.questionnaire_version_id
            )
        for fmt in ("csv", "csv-excel"):
            excel = fmt == "csv-excel"
            columns = service.response_columns(definition, True)
            head = b"".join(formats.csv_stream(service.response_header(columns), [], excel=excel))
            statement = pg_copy.copy_statement(
                pg_copy.copy_select(survey_round, columns, excel=excel), excel=excel
            )
            written = b"".join(pg_copy.copy_chunks(odd, statement, head))
            assert written == _python_path(db, round_id, fmt, include_text=True)
    finally:
        odd.dispose()


def test_postgresql_copy_of_an_empty_round_is_the_header_alone(
    org: Org, db: sessionmaker[Session], backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if backend != "postgresql":
        pytest.skip("the COPY path is PostgreSQL's")
    version = publish_standard(org.admin)
    area = create_area(org.admin, "tom")
    today = date.today()
    round_id = ok(
        org.admin.post(
            "/api/v1/rounds",
            json={
                "name": "Tom",
                "questionnaire_version_id": version["id"],
                "period": "2026",
                "area_ids": [area["id"]],
                "open_date": (today - timedelta(days=1)).isoformat(),
                "close_date": (today + timedelta(days=30)).isoformat(),
            },
        ),
        201,
    )["id"]
    for fmt in ("csv", "csv-excel"):
        downloaded = _download(org, round_id, fmt, include_text=False)
        assert downloaded == _python_path(db, round_id, fmt, include_text=False)
        assert downloaded.count(b"\r\n") == 1


def test_postgresql_formats_floats_as_python_writes_them(engine: Engine, backend: str) -> None:
    """The number columns' SQL against Python's str(float), over values of every magnitude
    an answer may have (|x| <= 1e15)."""
    if backend != "postgresql":
        pytest.skip("PostgreSQL's float formatting")
    rng = random.Random(11)
    values = [0.0, 1.0, -1.0, 0.5, 1e15, -1e15, 1e-05, 1e-04, 9.999e-05, 0.1 + 0.2, 1 / 3]
    for _ in range(3000):
        magnitude = 10.0 ** rng.uniform(-9, 15)
        value = rng.choice([-1, 1]) * magnitude
        values.append(round(value, rng.randint(0, 6)) if rng.random() < 0.5 else value)
        values.append(float(int(value)))
    # Answers are jsonb, whose numbers have no negative zero: -0.0 never reaches the export.
    values = [v if v != 0 else 0.0 for v in values]
    expression = "x.v"
    plain = pg_copy._number(expression, excel=False)
    comma = pg_copy._number(expression, excel=True)
    with engine.connect() as connection:
        connection.execute(text("SET LOCAL extra_float_digits = 1"))
        rows = connection.execute(
            text(f"SELECT x.v, {plain}, {comma} FROM unnest(CAST(:values AS float8[])) AS x(v)"),
            {"values": values},
        ).all()
    assert len(rows) == len(values)
    for value, written, written_excel in rows:
        assert written == str(value), value
        assert written_excel == str(value).replace(".", ","), value


def test_postgresql_copy_stopped_half_way_gives_its_connection_back(
    org: Org,
    db: sessionmaker[Session],
    engine: Engine,
    backend: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A client that goes away mid-download: the COPY is cancelled and the pooled connection
    returns, usable."""
    if backend != "postgresql":
        pytest.skip("the COPY path is PostgreSQL's")
    round_id, _ = _set_up(org, db)
    with db() as session:
        survey_round = session.get(SurveyRound, round_id)
        assert survey_round is not None
        definition = questionnaires_service.published_definition(
            session, survey_round.questionnaire_version_id
        )
    columns = service.response_columns(definition, True)
    statement = pg_copy.copy_statement(
        pg_copy.copy_select(survey_round, columns, excel=False), excel=False
    )
    monkeypatch.setattr(pg_copy, "CHUNK_BYTES", 1)  # one row per chunk
    before = engine.pool.checkedout()  # type: ignore[attr-defined]
    chunks = pg_copy.copy_chunks(engine, statement, b"head\r\n")
    assert next(chunks).startswith(b"head\r\n")
    assert engine.pool.checkedout() == before + 1  # type: ignore[attr-defined]
    chunks.close()
    assert engine.pool.checkedout() == before  # type: ignore[attr-defined]
    with db() as session:
        count = session.execute(
            select(Response.id).where(Response.survey_round_id == round_id)
        ).all()
    assert len(count) == len(NUMBERS) + len(HOSTILE_TEXTS)
