"""Schemathesis against the live server, on both databases: no answer may be a 5xx or break the
committed contract (an undocumented status, another content type or headers, a body that does
not match its schema), invalid input must be refused, and auth, methods and deleted resources
must behave.

Every operation is tried with its examples, the coverage phase's boundary and invalid values
and a bounded number of fuzzed requests; then stateful sequences (create, then read, change,
delete) run. The caller is the admin of an organisation that has an area, a published
questionnaire, an open round with an answer and an intervention, and most valid requests name
those, so they get past the 404s to the real work.
"""

import json
import uuid
import zlib
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from survey_api.auth import service as auth_service
from survey_api.organisations import service as organisations_service
from tests.conftest import LiveServer, in_ci
from tests.contract.conftest import INSTALL_HINT
from tests.helpers import create_area, full_answers, ok, publish_standard, standard_definition

try:
    import schemathesis
    from hypothesis import HealthCheck, settings
    from schemathesis.config import SchemathesisConfig
    from schemathesis.engine import events
    from schemathesis.generation import GenerationMode
except ImportError:  # pragma: no cover - depends on the environment
    if in_ci():
        pytest.fail(f"CI must run the contract tests: schemathesis: {INSTALL_HINT}", pytrace=False)
    pytest.skip(f"schemathesis is not installed: {INSTALL_HINT}", allow_module_level=True)

CONTRACT = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"

pytestmark = pytest.mark.contract
# Fuzzed requests per operation (the examples and the coverage phase's cases come on top), and
# stateful sequences: the module takes about a minute per database.
MAX_EXAMPLES = 15
STATEFUL_EXAMPLES = 25
SETTINGS: dict[str, Any] = {
    "checks": {
        # Off: a schema-valid request may still break a rule JSON Schema cannot state (an end
        # date before its start date, a DeSO code outside its municipality, a questionnaire's
        # own rules), and strict input refuses 1.0 where an integer is due (JSON Schema calls
        # it one). Those are documented 422s; every other check runs.
        "positive_data_acceptance": {"enabled": False},
    },
    "generation": {
        "max-examples": MAX_EXAMPLES,
        "database": "none",
        # The tests send the admin key themselves; `ignored_auth` checks requests without it.
        "with-security-parameters": False,
        # Unknown query parameters are ignored, as HTTP APIs do; not a violation to look for.
        "allow-extra-parameters": False,
    },
    "phases": {"stateful": {"max-steps": 6}},
}
HYPOTHESIS = settings(deadline=None, database=None, suppress_health_check=list(HealthCheck))


@schemathesis.serializer("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
def _xlsx_part(ctx: Any, value: Any) -> bytes:
    """A file part the contract declares as CSV or XLSX goes out as the bytes generated for it:
    the server tells the kind from the content, so random bytes try its refusals."""
    return value if isinstance(value, bytes) else str(value).encode("utf-8", "surrogatepass")


schema = schemathesis.openapi.from_dict(
    json.loads(CONTRACT.read_text("utf-8")), config=SchemathesisConfig.from_dict(SETTINGS)
)


@dataclass
class Target:
    """The live server, an admin key and the ids of what the organisation has."""

    base_url: str
    headers: dict[str, str]
    ids: dict[str, int]
    # Operations that end what they name get a thing of their own, so that the seeded round
    # stays open and the seeded intervention stays, for the operations tried after them.
    ids_by_operation: dict[str, dict[str, int]]

    def aim(self, case: Any) -> None:
        """Name existing things in three of four valid requests; the rest keep generated ids
        (mostly 404s). Which ones is decided by the generated ids, so a failure replays."""
        params = case.path_parameters
        if not params or case.meta.generation.mode != GenerationMode.POSITIVE:
            return
        if zlib.crc32(repr(sorted(params.items())).encode()) % 4:
            ids = {**self.ids, **self.ids_by_operation.get(case.operation.label, {})}
            for name in params.keys() & ids.keys():
                params[name] = ids[name]


@pytest.fixture(scope="module")
def target(server: LiveServer, db: sessionmaker[Session]) -> Target:
    """An organisation with data, made once per database."""
    slug = f"contract-{uuid.uuid4().hex[:8]}"
    with db() as session:
        org = organisations_service.create_organisation(session, name=slug, slug=slug)
        keys = {
            role: auth_service.create_api_key(session, org, name=role, role=role)[1]
            for role in ("admin", "integrator")
        }
        session.commit()
    headers = {role: {"Authorization": f"Bearer {key}"} for role, key in keys.items()}
    with (
        httpx.Client(base_url=server.base_url, headers=headers["admin"]) as admin,
        httpx.Client(base_url=server.base_url, headers=headers["integrator"]) as integrator,
    ):
        ids = _seed(admin, integrator)
        doomed = _seed(admin, integrator)
    ending = {
        "POST /api/v1/rounds/{round_id}/close": {"round_id": doomed["round_id"]},
        "DELETE /api/v1/interventions/{intervention_id}": {
            "intervention_id": doomed["intervention_id"]
        },
    }
    return Target(
        base_url=server.base_url, headers=headers["admin"], ids=ids, ids_by_operation=ending
    )


def _seed(admin: httpx.Client, integrator: httpx.Client) -> dict[str, int]:
    version = publish_standard(
        admin, {**standard_definition(), "key": f"seeded-{uuid.uuid4().hex[:8]}"}
    )
    area = create_area(
        admin, f"seeded{uuid.uuid4().hex[:6]}", classifications=[{"year": 2024, "area_type": 1}]
    )
    today = date.today()
    survey_round = ok(
        admin.post(
            "/api/v1/rounds",
            json={
                "name": "Seeded",
                "questionnaire_version_id": version["id"],
                "period": str(today.year),
                "area_ids": [area["id"]],
                "open_date": (today - timedelta(days=5)).isoformat(),
                "close_date": (today + timedelta(days=30)).isoformat(),
            },
        ),
        201,
    )
    answer = {"area_id": area["id"], "language": "sv", "answers": full_answers()}
    ok(integrator.post(f"/api/v1/rounds/{survey_round['id']}/responses", json=answer), 201)
    intervention = ok(
        admin.post(
            "/api/v1/interventions",
            json={
                "name": "Seeded",
                "category": "belysning",
                "area_ids": [area["id"]],
                "start_date": f"{today.year - 1}-01-01",
            },
        ),
        201,
    )
    return {
        "area_id": area["id"],
        "questionnaire_id": version["questionnaire_id"],
        "number": version["number"],
        "round_id": survey_round["id"],
        "intervention_id": intervention["id"],
    }


@schema.parametrize()
@HYPOTHESIS
def test_every_operation_keeps_the_contract(case: Any, target: Target) -> None:
    target.aim(case)
    case.call_and_validate(base_url=target.base_url, headers=target.headers)


def test_sequences_keep_the_contract(target: Target) -> None:
    """Stateful sequences, run by Schemathesis' own engine (as its command line does): links
    inferred from the schema chain a create or a list to reads, changes and deletes."""
    live = schemathesis.openapi.from_dict(
        json.loads(CONTRACT.read_text("utf-8")),
        config=SchemathesisConfig.from_dict(
            {
                **SETTINGS,
                "base-url": target.base_url,
                "headers": target.headers,
                "phases": {
                    "examples": {"enabled": False},
                    "coverage": {"enabled": False},
                    "fuzzing": {"enabled": False},
                    "stateful": {"enabled": True, "max-steps": 6},
                },
                "generation": {**SETTINGS["generation"], "max-examples": STATEFUL_EXAMPLES},
            }
        ),
    )
    problems: list[str] = []
    scenarios = 0
    for event in schemathesis.engine.from_schema(live).execute():
        if isinstance(event, events.ScenarioFinished):
            scenarios += 1
            for nodes in event.recorder.checks.values():
                problems += [
                    f"{n.failure_info.failure.title}: {n.failure_info.failure.message}\n"
                    f"{n.failure_info.code_sample}"
                    for n in nodes
                    if n.failure_info is not None
                ]
        elif isinstance(event, events.NonFatalError):
            problems.append(f"{event.label}: {event.info.format()}")
        elif isinstance(event, events.FatalError):
            raise event.exception
    assert scenarios, "no stateful sequence ran"
    assert not problems, "\n\n".join(dict.fromkeys(problems))
