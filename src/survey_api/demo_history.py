"""The demo's past, brought in the way a housing company brings its own (issue 10).

The demo's areas get their official classifications for the oldest year from a national-style
file keyed by DeSO code (most of whose rows are other companies' areas). The oldest year's
answers arrive as a survey vendor's report tables (answer counts per area, item
and option) and the next as a LimeSurvey export of the standard questionnaire. Both are written
as the files a company would have and go through the same import services as the API and the
console, so the demo shows historical rounds of both kinds in results, trends and the
intervention evaluation's pre-trend.
"""

import csv
import io
from collections import Counter
from typing import Any

from sqlalchemy.orm import Session

from survey_api.imports import classifications as classification_import
from survey_api.imports import mapping as import_mapping
from survey_api.imports import responses as response_import
from survey_api.imports import tallies as tallies_import
from survey_api.imports.files import spool
from survey_api.questionnaires.definition import QuestionnaireDefinition

#: One respondent of a past year: the area's code, the language, and the answers.
PastAnswer = tuple[str, str, dict[str, Any]]


def limesurvey_export(
    definition: QuestionnaireDefinition, rows: list[PastAnswer], *, year: int
) -> bytes:
    """A LimeSurvey CSV export ("question codes", "answer codes") of these answers, with
    LimeSurvey's own columns (id, submitdate, token…) that the import never stores."""
    columns = ["id", "submitdate", "lastpage", "startlanguage", "seed", "token", "omrade"]
    for item in definition.items:
        code = import_mapping.limesurvey_code(item.key)
        if item.kind == "multi_choice":
            columns += [f"{code}[SQ{i:03d}]" for i in range(1, len(item.options) + 1)]
        else:
            columns.append(code)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for number, (area_code, language, answers) in enumerate(rows, start=1):
        submitted = f"{year}-03-{1 + number % 28:02d} 19:{number % 60:02d}:11"
        row = [str(number), submitted, "9", language, str(1000 + number), "", area_code]
        for item in definition.items:
            value = answers.get(item.key)
            if item.kind == "multi_choice":
                ticked = set(value or ())
                row += ["Y" if option.code in ticked else "" for option in item.options]
            elif item.kind in ("scale", "single_choice"):
                position = {o.code: i for i, o in enumerate(item.options, start=1)}
                row.append("" if value is None else f"A{position[value]}")
            else:
                row.append("" if value is None else str(value))
        writer.writerow(row)
    return out.getvalue().encode("utf-8")


def answer_counts(definition: QuestionnaireDefinition, rows: list[PastAnswer]) -> bytes:
    """A vendor's report table of these answers: per area, item and option the number of
    answers, and per area the number of respondents (the ``*`` row); text items left out."""
    counts: Counter[tuple[str, str, str]] = Counter()
    respondents: Counter[str] = Counter()
    for area_code, _language, answers in rows:
        respondents[area_code] += 1
        for item in definition.items:
            value = answers.get(item.key)
            if value is None or item.kind in ("text", "number"):
                continue
            if item.kind == "multi_choice":
                counts[(area_code, item.key, "*")] += 1  # answered the item
                for code in value:
                    counts[(area_code, item.key, str(code))] += 1
            else:
                counts[(area_code, item.key, str(value))] += 1
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(["area", "item", "option", "count"])
    for area_code, n in respondents.items():
        writer.writerow([area_code, "*", "", n])
    for (area_code, key, option), n in sorted(counts.items()):
        writer.writerow([area_code, key, option, n])
    return out.getvalue().encode("utf-8")


def import_limesurvey(
    session: Session,
    organisation_id: int,
    round_id: int,
    definition: QuestionnaireDefinition,
    rows: list[PastAnswer],
    *,
    year: int,
) -> int:
    """Import the answers as a LimeSurvey export through the `limesurvey_standard` mapping;
    returns the rows stored."""
    export = limesurvey_export(definition, rows, year=year)
    source = spool(io.BytesIO(export), f"limesurvey-export-{year}.csv")
    report = response_import.import_responses(
        session,
        organisation_id,
        round_id,
        source,
        import_mapping.preset("limesurvey_standard"),
        dry_run=False,
        file_name=source.name,
    )
    return report.rows_stored


def import_counts(
    session: Session,
    organisation_id: int,
    round_id: int,
    definition: QuestionnaireDefinition,
    rows: list[PastAnswer],
) -> int:
    """Import only the answer counts of these answers; returns the count rows stored."""
    source = spool(io.BytesIO(answer_counts(definition, rows)), "rapporttabeller.csv")
    report = tallies_import.import_tallies(
        session, organisation_id, round_id, source, dry_run=False, file_name=source.name
    )
    return report.rows_stored


def official_classifications(
    year: int, areas: list[tuple[str, int, str]], others: int = 40
) -> bytes:
    """A national-style file of area types and police classes for one year, keyed by DeSO
    code: the given (DeSO code, area type, police class) rows and ``others`` rows for DeSO
    areas of other municipalities, as Delmos' and the police's published lists have them."""
    police_words = {
        "none": "",
        "utsatt": "Utsatt område",
        "risk": "Riskområde",
        "sarskilt_utsatt": "Särskilt utsatt område",
    }
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(["code_kind", "code", "code_version", "year", "area_type", "police_class"])
    for number in range(others):
        other = f"0180C{1000 + number:04d}"
        writer.writerow(["deso", other, "2025", year, 1 + number % 5, ""])
    for deso_code, area_type, police in areas:
        writer.writerow(["deso", deso_code, "2025", year, area_type, police_words[police]])
    return out.getvalue().encode("utf-8")


def import_official_classifications(
    session: Session, organisation_id: int, year: int, areas: list[tuple[str, int, str]]
) -> int:
    """Import one year's official classifications for the given DeSO areas; returns the
    area-years stored."""
    source = spool(io.BytesIO(official_classifications(year, areas)), f"omradestyper-{year}.csv")
    report = classification_import.import_classifications(
        session, organisation_id, source, dry_run=False
    )
    return report.rows_stored
