"""The main flow an analyst and an integrator follow, end to end over HTTP."""

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from survey_api.models import Response
from tests.conftest import Org
from tests.helpers import full_answers, ok, open_round


def test_submit_a_full_response_and_read_it_back(org: Org, db: sessionmaker[Session]) -> None:
    survey_round = open_round(org.analyst)
    receipt = ok(
        org.integrator.post(
            f"/api/v1/rounds/{survey_round.id}/responses",
            json={
                "area_id": survey_round.area_ids[0],
                "language": "ar",
                "channel": "phone",
                "answers": full_answers(),
            },
        ),
        201,
    )
    with db() as session:
        stored = session.scalars(select(Response).where(Response.id == receipt["id"])).one()
    assert stored.answers == full_answers()
    assert (stored.language, stored.channel, stored.area_id) == (
        "ar",
        "phone",
        survey_round.area_ids[0],
    )
    # One response is a small cell: the round's total hides it like a results cell.
    read = ok(org.analyst.get(f"/api/v1/rounds/{survey_round.id}"))
    assert (read["response_count"], read["response_count_suppressed"]) == (None, True)
