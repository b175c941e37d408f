"""Files of past responses for the import tests, written from answers the test knows.

The LimeSurvey question codes are spelled out here (as the LimeSurvey sample's README lists
them), not derived with the code under test, so a wrong preset is caught."""

import csv
import io
import json
import random
from collections import Counter
from datetime import date
from typing import Any

import httpx

from tests.conftest import Org
from tests.helpers import STANDARD, create_area, ok, publish_standard

ITEMS = {item["key"]: item for item in STANDARD["items"]}
LS_CODES = {
    "trygg_ute_kvall": "tryggUteKvall",
    "trygg_gemensamma_utr": "tryggGemensammaUtr",
    "trygg_bostad": "tryggBostad",
    "oro_brott_omrade": "oroBrottOmrade",
    "avstatt_pga_oro": "avstattPgaOro",
    "utsatt_brott_12m": "utsattBrott12m",
    "anmalt_polis": "anmaltPolis",
    "problem_nedskrapning": "problemNedskrapning",
    "problem_klotter": "problemKlotter",
    "problem_belysning": "problemBelysning",
    "problem_grupper": "problemGrupper",
    "problem_narkotika": "problemNarkotika",
    "problem_trafik": "problemTrafik",
    "problem_brak": "problemBrak",
    "sammanhallning": "sammanhallning",
    "kollektiv_formaga": "kollektivFormaga",
    "fortroende_polis": "fortroendePolis",
    "fortroende_vard": "fortroendeVard",
    "trivsel": "trivsel",
    "bo_kvar": "boKvar",
    "utveckling_12m": "utveckling12m",
    "kannedom_fritidsbanken": "kannedomFritidsbank",
    "fritext_plats": "fritextPlats",
    "kon": "kon",
    "aldersgrupp": "aldersgrupp",
    "boendetid": "boendetid",
    "barn_i_hushallet": "barnIHushallet",
}
LS_OWN = ["id", "submitdate", "lastpage", "startlanguage", "seed", "token", "ipaddr", "startdate"]
CRIMES = {1, 2, 3, 4, 5}


def codes_of(key: str) -> list[int]:
    return [o["code"] for o in ITEMS[key]["options"]]


def random_answers(rng: random.Random) -> dict[str, Any]:
    """One plausible respondent of the standard questionnaire (show_if respected)."""
    answers: dict[str, Any] = {}
    for key, item in ITEMS.items():
        if key == "anmalt_polis" and not CRIMES & set(answers.get("utsatt_brott_12m", [])):
            continue
        if rng.random() < 0.1:
            continue  # not answered
        if item["kind"] == "text":
            if rng.random() < 0.3:
                answers[key] = rng.choice(["Mörkt vid gången", "Trappan; hiss", 'Säg "hej"'])
        elif item["kind"] == "multi_choice":
            answers[key] = [6] if rng.random() < 0.6 else sorted(rng.sample([1, 2, 3, 4, 5], 2))
        else:
            answers[key] = rng.choice(codes_of(key))
    return answers


def respondents(seed: int, areas: list[str], per_area: int) -> list[tuple[str, dict[str, Any]]]:
    rng = random.Random(seed)
    rows = [(area, random_answers(rng)) for area in areas for _ in range(per_area)]
    rng.shuffle(rows)
    return rows


def limesurvey_csv(rows: list[tuple[str, dict[str, Any]]], *, languages: list[str]) -> bytes:
    """A LimeSurvey 'question code / answer code' export: UTF-8 with BOM, `;`, all quoted;
    LimeSurvey's own columns (id, timestamps, token, IP address) first; the area in `omrade`."""
    heading = [*LS_OWN, "omrade"]
    for key in ITEMS:
        if key == "utsatt_brott_12m":
            heading += [f"{LS_CODES[key]}[SQ00{i}]" for i in range(1, 7)]
        else:
            heading.append(LS_CODES[key])
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(heading)
    for number, (area, answers) in enumerate(rows, start=1):
        cells = [
            str(number),
            f"2023-03-{number % 28 + 1:02d} 08:{number % 60:02d}:21",
            "9",
            languages[number % len(languages)],
            "",
            f"tok{number:05d}secret",
            f"10.0.{number // 256}.{number % 256}",
            "2023-03-01 08:00:00",
            area,
        ]
        for key, item in ITEMS.items():
            value = answers.get(key)
            if key == "utsatt_brott_12m":
                cells += ["Y" if value and code in value else "" for code in range(1, 7)]
            elif value is None:
                cells.append("")
            elif item["kind"] == "text":
                cells.append(value)
            else:
                cells.append(f"A{codes_of(key).index(value) + 1}")
        writer.writerow(cells)
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")


def item_columns_xlsx(rows: list[tuple[str, dict[str, Any]]], keys: list[str]) -> bytes:
    """A plain workbook: `area` and one column per item key, option codes as numbers."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["area", *keys])
    for area, answers in rows:
        cells: list[Any] = [area]
        for key in keys:
            value = answers.get(key)
            if isinstance(value, list):
                cells.append(";".join(map(str, value)))
            else:
                cells.append(value)
        sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def counts(rows: list[tuple[str, dict[str, Any]]], area: str, key: str) -> Counter[int]:
    """Answers per option code of one item in one area (ticks, for multiple choice)."""
    found: Counter[int] = Counter()
    for row_area, answers in rows:
        value = answers.get(key)
        if row_area != area or value is None:
            continue
        found.update(value if isinstance(value, list) else [value])
    return found


def historical_round(
    org: Org, period: str, area_codes: list[str], *, version_id: int | None = None
) -> dict[str, Any]:
    """A historical round of the standard questionnaire over new areas with these codes."""
    if version_id is None:
        version_id = publish_standard(org.admin)["id"]
    areas = [create_area(org.admin, code, name=f"Område {code}") for code in area_codes]
    year = int(period[:4])
    body = {
        "name": f"Trygghetsmätning {period}",
        "questionnaire_version_id": version_id,
        "period": period,
        "area_ids": [a["id"] for a in areas],
        "open_date": date(year, 3, 1).isoformat(),
        "close_date": date(year, 4, 15).isoformat(),
        "historical": True,
    }
    return ok(org.admin.post("/api/v1/rounds", json=body), 201)


def post_import(
    client: httpx.Client,
    round_id: int,
    content: bytes,
    mapping: dict[str, Any] | str,
    *,
    dry_run: bool = False,
    name: str = "export.csv",
) -> httpx.Response:
    text = mapping if isinstance(mapping, str) else json.dumps(mapping)
    return client.post(
        f"/api/v1/rounds/{round_id}/imports",
        params={"dry_run": str(dry_run).lower()},
        files={"file": (name, content, "text/csv")},
        data={"mapping": text},
    )


def area_items(results: dict[str, Any], code: str) -> dict[str, dict[str, Any]]:
    """The items of one area in a results payload, by key."""
    area = next(a for a in results["areas"] if a["code"] == code)
    return {item["key"]: item for item in area["items"]}


def distribution(item: dict[str, Any]) -> dict[int, int]:
    return {o["code"]: o["count"] for o in item["distribution"] if o["count"]}
