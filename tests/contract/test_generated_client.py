"""A client generated from the committed openapi/openapi.json works against the server.

openapi-python-client generates a client into a temporary directory; the whole flow of an
integrator then runs through nothing but the generated code: areas (one by one and imported
from CSV), a questionnaire, a round, invitations, responses (by area, by code, in bulk, and a
bulk retry), closing, results, trends, an intervention and its evaluation, every export in
every format, and typed errors (401, 403, 404, 409, 422) parsed as the contract's Problem.
"""

import importlib
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from io import BytesIO
from pathlib import Path
from types import ModuleType
from typing import Any

import openpyxl
import pytest

from tests.conftest import STANDARD_PATH, LiveServer, Org
from tests.contract.conftest import require_tool
from tests.helpers import full_answers

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = ROOT / "openapi" / "openapi.json"
GENERATOR_CONFIG = Path(__file__).with_name("openapi-python-client.yml")
PACKAGE = "survey_api_generated_client"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

pytestmark = pytest.mark.contract


class Generated:
    """The generated package: `gen.api("areas.create_area")`, `gen.model("AreaCreate")`."""

    def __init__(self, package: str) -> None:
        self.package = package
        self.models = importlib.import_module(f"{package}.models")
        self.types = importlib.import_module(f"{package}.types")
        self.client = importlib.import_module(f"{package}.client")

    def api(self, name: str) -> ModuleType:
        return importlib.import_module(f"{self.package}.api.{name}")

    def model(self, name: str) -> Any:
        return getattr(self.models, name)


@pytest.fixture(scope="session")
def gen(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Generated]:
    """The client openapi-python-client generates from the committed contract."""
    require_tool("openapi_python_client", "openapi-python-client (the client generator)")
    out = tmp_path_factory.mktemp("generated")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "openapi_python_client",
            "generate",
            "--path",
            str(CONTRACT),
            "--output-path",
            str(out / PACKAGE),
            "--meta",
            "none",
            "--config",
            str(GENERATOR_CONFIG),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    sys.path.insert(0, str(out))
    try:
        yield Generated(PACKAGE)
    finally:
        sys.path.remove(str(out))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def test_every_operation_is_generated(gen: Generated) -> None:
    """No operation of the contract is skipped by the generator (text/csv alone was)."""
    contract = json.loads(CONTRACT.read_text(encoding="utf-8"))
    for item in contract["paths"].values():
        for op in item.values():
            tag = op["tags"][0].replace(" ", "_").replace("-", "_")
            module = gen.api(f"{tag}.{op['operationId']}")
            assert callable(module.sync_detailed), op["operationId"]


def _problem(gen: Generated, value: object, status: int) -> Any:
    """Assert a parsed Problem with this status and return it."""
    assert isinstance(value, gen.model("Problem")), value
    assert value.status == status, value
    assert value.title and value.detail and value.type_.startswith("https://")
    return value


def test_a_whole_flow_through_the_generated_client(
    gen: Generated, server: LiveServer, org: Org
) -> None:
    Client = gen.client.AuthenticatedClient
    admin = Client(base_url=server.base_url, token=org.keys["admin"], timeout=60)
    integrator = Client(base_url=server.base_url, token=org.keys["integrator"], timeout=60)
    stranger = Client(base_url=server.base_url, token="sak_not_a_key", timeout=60)
    File = gen.types.File
    m = gen.model
    today = date.today()
    suffix = uuid.uuid4().hex[:6]

    # Areas: one created, two imported from CSV (the form a generator can send), then updated.
    area_create = gen.api("areas.create_area").sync
    north = area_create(
        client=admin,
        body=m("AreaCreate")(
            code=f"north{suffix}",
            name="Norr",
            municipality_code="1480",
            households=800,
            classifications=[m("Classification")(year=today.year - 3, area_type=1)],
        ),
    )
    assert isinstance(north, m("AreaRead")), north
    csv = (
        "code,name,municipality_code,households,year,area_type\n"
        f"south{suffix},Söder,1480,700,{today.year - 3},1\n"
        f"east{suffix},Öster,1480,600,{today.year - 3},1\n"
    ).encode()
    import_areas = gen.api("areas.import_areas").sync
    form = m("ImportAreasFilesBody")(
        file=File(payload=BytesIO(csv), file_name="areas.csv", mime_type="text/csv")
    )
    imported = import_areas(client=admin, body=form)
    assert isinstance(imported, m("AreaImportResult")), imported
    assert (imported.created, imported.updated) == (2, 0)
    again = import_areas(client=admin, body=form)
    assert isinstance(again, m("AreaImportResult")), again
    # The same file again finds both areas as they are: unchanged, nothing rewritten.
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    south, east = sorted(imported.areas, key=lambda a: a.code, reverse=True)
    assert gen.api("areas.get_area").sync(area_id=east.id, client=admin).name == "Öster"
    listed = gen.api("areas.list_areas").sync(client=admin)
    listed_areas = listed if isinstance(listed, list) else listed.items
    assert {a.id for a in listed_areas} == {north.id, south.id, east.id}

    # A questionnaire, published.
    definition = json.loads(STANDARD_PATH.read_text(encoding="utf-8"))
    created = gen.api("questionnaires.create_questionnaire").sync(
        client=admin, body=m("QuestionnaireDefinition").from_dict(definition)
    )
    assert isinstance(created, m("CreatedQuestionnaire")), created
    questionnaire_id = created.questionnaire.id
    version = gen.api("questionnaires.publish_questionnaire_version").sync(
        questionnaire_id=questionnaire_id, number=1, client=admin
    )
    assert isinstance(version, m("VersionRead")), version
    assert version.status.value == "published"
    read = gen.api("questionnaires.get_questionnaire_version").sync(
        questionnaire_id=questionnaire_id, number=1, client=admin
    )
    assert read.id == version.id

    # A round open today over the three areas, and an earlier one (for the evaluation).
    create_round = gen.api("survey_rounds.create_round").sync
    area_ids = [north.id, south.id, east.id]
    survey_round = create_round(
        client=admin,
        body=m("SurveyRoundCreate")(
            name="Trygghetsmätning",
            questionnaire_version_id=version.id,
            period=str(today.year),
            area_ids=area_ids,
            open_date=today - timedelta(days=10),
            close_date=today + timedelta(days=30),
        ),
    )
    assert isinstance(survey_round, m("SurveyRoundRead")), survey_round
    assert survey_round.status.value == "open"
    earlier = create_round(
        client=admin,
        body=m("SurveyRoundCreate")(
            name="Förra mätningen",
            questionnaire_version_id=version.id,
            period=str(today.year - 2),
            area_ids=area_ids,
            open_date=date(today.year - 2, 3, 1),
            close_date=date(today.year - 2, 4, 30),
        ),
    )
    assert earlier.status.value == "closed"
    round_id = survey_round.id

    # Invitations: issued, then counted.
    issued = gen.api("invitations.issue_invitations").sync(
        round_id=round_id, client=admin, body=m("InvitationIssue")(area_id=north.id, count=3)
    )
    assert isinstance(issued, m("IssuedInvitations")), issued
    assert len(issued.codes) == 3
    counts = gen.api("invitations.count_invitations").sync(round_id=round_id, client=admin)
    assert isinstance(counts, m("InvitationCounts")), counts
    assert counts.total.issued == 3

    # Responses: by area, with an invitation code, in bulk and the bulk retried.
    submit = gen.api("responses.submit_response").sync
    answers = m("ResponseSubmitAnswers").from_dict(full_answers())
    by_area = submit(
        round_id=round_id,
        client=integrator,
        body=m("ResponseSubmit")(area_id=south.id, language="sv", answers=answers),
    )
    assert isinstance(by_area, m("ResponseReceipt")), by_area
    assert (by_area.area_id, by_area.pending, by_area.entry.value) == (south.id, False, "api")
    by_code = submit(
        round_id=round_id,
        client=integrator,
        body=m("ResponseSubmit")(
            invitation_code=issued.codes[0].code, language="ar", answers=answers
        ),
    )
    assert isinstance(by_code, m("ResponseReceipt")), by_code
    assert (by_code.id, by_code.pending, by_code.area_id) == (None, True, north.id)
    used = submit(
        round_id=round_id,
        client=integrator,
        body=m("ResponseSubmit")(
            invitation_code=issued.codes[0].code, language="sv", answers=answers
        ),
    )
    _problem(gen, used, 409)
    bulk = m("BulkUpload")(
        responses=[
            m("BulkResponse")(
                area_id=area_id,
                language="sv",
                channel=m("BulkResponseChannel")("paper"),
                answers=m("BulkResponseAnswers").from_dict({"trygg_ute_kvall": code}),
            )
            for area_id, code in [(north.id, 1), (south.id, 3), (east.id, 2)]
        ]
    )
    upload = gen.api("responses.upload_responses")
    key = f"scan-{suffix}"
    first = upload.sync_detailed(
        round_id=round_id, client=integrator, body=bulk, idempotency_key=key
    )
    assert first.status_code == 201 and isinstance(first.parsed, m("BulkReceipt")), first
    assert first.parsed.accepted == 3
    retry = upload.sync_detailed(
        round_id=round_id, client=integrator, body=bulk, idempotency_key=key
    )
    assert retry.status_code == 200, retry
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.parsed.response_ids == first.parsed.response_ids

    # Closing, then results and trends.
    closed = gen.api("survey_rounds.close_round").sync(round_id=round_id, client=admin)
    assert isinstance(closed, m("SurveyRoundRead")), closed
    assert closed.status.value == "closed"
    _problem(gen, gen.api("survey_rounds.close_round").sync(round_id=round_id, client=admin), 409)
    results = gen.api("results.get_round_results").sync(round_id=round_id, client=admin)
    assert isinstance(results, m("RoundResults")), results
    assert {a.area_id for a in results.areas} >= set(area_ids)
    trends = gen.api("results.get_trends").sync(
        client=admin, area_id=south.id, indicator="andel_otrygga_kvall"
    )
    assert isinstance(trends, m("TrendSeries")), trends
    assert [p.period for p in trends.points][-1] == str(today.year)

    # An intervention and its evaluation: before = the earlier round, after = this one.
    intervention = gen.api("interventions.create_intervention").sync(
        client=admin,
        body=m("InterventionCreate")(
            name="Trygghetsvärdar",
            category="trygghetsvardar",
            area_ids=[north.id],
            start_date=date(today.year - 1, 1, 1),
        ),
    )
    assert isinstance(intervention, m("InterventionRead")), intervention
    evaluation = gen.api("interventions.evaluate_intervention").sync(
        intervention_id=intervention.id, client=admin, indicator="andel_otrygga_kvall"
    )
    assert isinstance(evaluation, m("InterventionEvaluation")), evaluation
    assert (evaluation.before_period, evaluation.after_period) == (
        str(today.year - 2),
        str(today.year),
    )
    assert evaluation.treated_area_ids == [north.id]
    assert sorted(evaluation.comparison_area_ids) == sorted([south.id, east.id])

    # Every export, in every format, as bytes.
    exports = {
        "export_codebook": {},
        "export_responses": {},
        "export_round_results": {},
    }
    for operation in exports:
        module = gen.api(f"exports.{operation}")
        format_type = getattr(gen.models, f"{_camel(operation)}Format")
        for fmt in ("csv", "csv-excel", "xlsx"):
            file = module.sync(round_id=round_id, client=admin, format_=format_type(fmt))
            assert isinstance(file, File), (operation, fmt, file)
            payload = file.payload.read()
            assert isinstance(payload, bytes) and payload, (operation, fmt)
            if fmt == "xlsx":
                sheet = openpyxl.load_workbook(BytesIO(payload)).active
                assert sheet is not None and sheet.max_row > 1, (operation, fmt)
            else:
                text = payload.decode("utf-8")
                assert text.startswith("\ufeff") == (fmt == "csv-excel"), (operation, fmt)
                assert text.count("\n") > 1
            raw = module.sync_detailed(round_id=round_id, client=admin, format_=format_type(fmt))
            media = raw.headers["content-type"].split(";")[0]
            assert media == (XLSX if fmt == "xlsx" else "text/csv")

    # Typed errors: each parsed as the contract's Problem.
    get_round = gen.api("survey_rounds.get_round")
    _problem(gen, get_round.sync(round_id=round_id, client=stranger), 401)
    forbidden = gen.api("exports.export_responses").sync(round_id=round_id, client=integrator)
    _problem(gen, forbidden, 403)
    _problem(gen, get_round.sync(round_id=2_000_000_000, client=admin), 404)
    invalid = _problem(gen, get_round.sync(round_id=0, client=admin), 422)
    assert [e.loc for e in invalid.errors] == [["path", "round_id"]]
    bad_language = submit(
        round_id=survey_round.id,
        client=integrator,
        body=m("ResponseSubmit")(area_id=south.id, language="x", answers=answers),
    )
    bad = _problem(gen, bad_language, 422)
    assert ["body", "language"] in [e.loc for e in bad.errors]
    for operation, args in [
        ("areas.get_area", {"area_id": 0}),
        ("interventions.get_intervention", {"intervention_id": 0}),
        ("interventions.delete_intervention", {"intervention_id": 0}),
        ("questionnaires.get_questionnaire", {"questionnaire_id": 0}),
        ("questionnaires.get_questionnaire_version", {"questionnaire_id": 0, "number": 0}),
        ("questionnaires.create_questionnaire_draft", {"questionnaire_id": 0}),
        ("invitations.list_area_links", {"round_id": 0}),
        ("invitations.count_invitations", {"round_id": 0}),
    ]:
        _problem(gen, gen.api(operation).sync(client=admin, **args), 422)
    share = gen.api("results.create_share_link").sync(
        round_id=round_id, client=admin, body=m("ShareLinkCreate")(language="ar")
    )
    assert ["body", "language"] in [e.loc for e in _problem(gen, share, 422).errors]


def _camel(snake: str) -> str:
    return "".join(part.title() for part in snake.split("_"))
