"""The console's evaluation page when two surveys ask the same question: it offers the surveys,
keeps to one (by default the survey that can be evaluated with the most rounds of the measure),
names it once (in the period note) and shows the API's own figures for the survey chosen, on
both databases."""

import html
from collections.abc import Callable, Iterator
from datetime import date

import pytest
from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker

from survey_api.console.interventions import points
from survey_api.models import Response, SurveyRound, SurveyRoundArea
from survey_api.questionnaires.definition import load_standard_definition
from tests.conftest import LiveServer
from tests.helpers import ok, publish_standard
from tests.staff.conftest import Browser
from tests.staff.test_console_interventions import N, World, make_world, register, signed_in

KUNDENKAT = "kundenkat-standard"
# The kundenkät's respondents unsafe out late (of N), per area and year: Hjällbo improves less
# than in the trygghetsmätning, so the two surveys give different estimates.
UNSAFE_KUNDENKAT = {
    "Hjällbo": {2024: 22, 2026: 19},
    "Hammarkullen": {2024: 19, 2026: 19},
    "Kortedala": {2024: 15, 2026: 14},
}


@pytest.fixture
def world(server: LiveServer, db: sessionmaker[Session]) -> Iterator[World]:
    made = make_world(server, db)
    yield made
    made.api.close()


def _kundenkat_rounds(world: World, db: sessionmaker[Session]) -> None:
    version = publish_standard(world.api, load_standard_definition(KUNDENKAT).to_json())
    with db() as session:
        for year in (2024, 2026):
            survey_round = SurveyRound(
                organisation_id=world.org.id,
                questionnaire_version_id=version["id"],
                name=f"Kundenkät {year}",
                period=str(year),
                open_date=date(year, 10, 1),
                close_date=date(year, 10, 31),
            )
            session.add(survey_round)
            session.flush()
            rows = []
            for name, area_id in world.area_ids.items():
                session.add(SurveyRoundArea(survey_round_id=survey_round.id, area_id=area_id))
                rows += [
                    {
                        "survey_round_id": survey_round.id,
                        "area_id": area_id,
                        "language": "sv",
                        "channel": "paper",
                        "entry": "api",
                        "submitted_date": date(year, 10, 15),
                        "answers": {
                            "trygg_ute_kvall": 3 if i < UNSAFE_KUNDENKAT[name][year] else 1
                        },
                    }
                    for i in range(N)
                ]
            session.execute(insert(Response), rows)
        session.commit()


def test_the_evaluation_page_keeps_to_one_survey_and_lets_the_coordinator_choose(
    browser: Callable[[], Browser], world: World, db: sessionmaker[Session]
) -> None:
    _kundenkat_rounds(world, db)
    client = signed_in(browser, world)
    intervention_id = register(client, world)
    url = f"/console/interventions/{intervention_id}/evaluation"

    def api(**params: str) -> dict[str, object]:
        found = ok(
            world.api.get(
                f"/api/v1/interventions/{intervention_id}/evaluation",
                params={"indicator": "andel_otrygga_kvall", **params},
            )
        )
        assert isinstance(found, dict)
        return found

    default = api()
    # The trygghetsmätning has three rounds with the question, the kundenkät two.
    assert default["questionnaire_key"] == "trygghetsmatning-standard"
    chosen = api(questionnaire=KUNDENKAT)
    assert chosen["questionnaire_key"] == KUNDENKAT
    estimates = [points(e["did"]["estimate"], "sv") for e in (default, chosen)]  # type: ignore[index]
    assert estimates[0] != estimates[1]

    page = client.get(url)
    assert page.status_code == 200, page.text
    text = html.unescape(page.text)
    assert '<select id="questionnaire" name="questionnaire"' in text
    assert '<option value="" selected>' not in text  # the default option is just the first
    assert '<option value="">Enkäten med flest användbara mätomgångar av måttet</option>' in text
    assert f'<option value="{KUNDENKAT}">Kundenkät för hyresgäster</option>' in text
    assert estimates[0] in text and estimates[1] not in text
    # The note names the chosen survey (in words, with the other survey by its name) and says
    # how to choose another; the page does not name the survey a second time.
    note = default["period_note"]["sv"]  # type: ignore[index]
    assert isinstance(note, str) and note in text
    assert note.startswith("Enkät: Trygghetsmätning för hyresgäster, den enkät som har flest ")
    assert "Mätomgångar i Kundenkät för hyresgäster räknas inte med" in note
    assert "välj en annan enkät med questionnaire= eller i konsolen" in note
    assert text.count("Enkät: Trygghetsmätning för hyresgäster") == 1

    picked = client.get(
        url, params={"measure": "indicator:andel_otrygga_kvall", "questionnaire": KUNDENKAT}
    )
    text = html.unescape(picked.text)
    assert picked.status_code == 200 and f'<option value="{KUNDENKAT}" selected>' in text
    assert estimates[1] in text and estimates[0] not in text
    assert chosen["period_note"]["sv"] in text  # type: ignore[index]
    assert text.count("Enkät: Kundenkät för hyresgäster, enligt begäran.") == 1
    assert text.count("Enkät: Kundenkät för hyresgäster") == 1

    # A survey that is not the organisation's is ignored like an unknown period: the default.
    stranger = client.get(url, params={"questionnaire": "no-such-survey"})
    assert stranger.status_code == 200 and estimates[0] in html.unescape(stranger.text)
