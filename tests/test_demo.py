"""The demo a newcomer clicks through: it loads, and trends, a breakdown and the intervention
evaluation all have something to show, for both standard surveys."""

from pathlib import Path

from sqlalchemy import func, select

from survey_api import migrate
from survey_api.db import make_engine, make_sessionmaker
from survey_api.demo import load_demo
from survey_api.interventions import evaluation
from survey_api.models import Area, Organisation, Response, TallyWatermark
from survey_api.results import service as results_service
from survey_api.results.overview import area_overview
from survey_api.results.service import Target
from survey_api.rounds.service import today


def test_demo_loads_once_and_shows_trends_breakdowns_and_an_evaluation(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.sqlite'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        report = load_demo(session, base_url="http://demo.invalid")
        session.commit()
    assert "sak_" in report and "/r/" in report and "/reports/" in report
    with sessions() as session:
        # Tallies are folded while loading (the first results read has nothing to fold), and
        # no demo answer is dated after today.
        unfolded = session.execute(
            select(Response.survey_round_id, func.max(Response.id), TallyWatermark.last_response_id)
            .outerjoin(TallyWatermark, TallyWatermark.survey_round_id == Response.survey_round_id)
            .group_by(Response.survey_round_id, TallyWatermark.last_response_id)
        ).all()
        # Rounds with stored responses: the trygghetsmätning's LimeSurvey year and two collected
        # years, and the kundenkät's three collected years.
        assert len(unfolded) == 6 and all(row[1] == row[2] for row in unfolded), unfolded
        assert session.scalar(select(func.max(Response.submitted_date))) <= today()
    with sessions() as session:
        assert "already has data" in load_demo(session, base_url="http://demo.invalid")
        org_id = session.query(Organisation.id).scalar()
        assert org_id is not None
        series = results_service.trend(
            session,
            org_id,
            Target("indicator", "andel_otrygga_kvall"),
            area_id=1,
            questionnaire="trygghetsmatning-standard",
        )
        # Four years: answer counts imported, a LimeSurvey export imported, two collected.
        year = today().year
        assert [p.period for p in series.points] == [str(y) for y in range(year - 3, year + 1)]
        assert [p.source for p in series.points] == [
            "imported_tallies",
            "imported",
            "collected",
            "collected",
        ]
        assert all(not p.suppressed for p in series.points) and not series.breaks
        latest_round = series.points[-1].survey_round_id
        results = results_service.round_results(
            session, org_id, latest_round, area_ids=[1], by="aldersgrupp"
        )
        trygg = next(i for i in results.areas[0].items if i.key == "trygg_ute_kvall")
        assert trygg.breakdown and any(g.suppressed for g in trygg.breakdown)
        assert any(not g.suppressed for g in trygg.breakdown)
        # The kundenkät asks the same question, but the evaluation keeps to the survey with
        # the most rounds carrying it, the trygghetsmätning, and never mixes the two.
        result = evaluation.evaluate(
            session, org_id, 1, target=Target("indicator", "andel_otrygga_kvall")
        )
        assert result.questionnaire_key == "trygghetsmatning-standard"
        # Hjällbo improves after trygghetsvärdar start: fewer feel unsafe than the trend says.
        assert result.did is not None and result.did.estimate < 0
        # The two imported years give the pre-trend (the years before the one before the start).
        assert [(t.from_period, t.to_period) for t in result.pre_trend] == [
            (str(year - 3), str(year - 2)),
            (str(year - 2), str(year - 1)),
        ]
        assert all(t.estimate is not None for t in result.pre_trend)
        assert result.comparison_area_ids
    engine.dispose()


def test_the_demo_runs_both_surveys_in_hjallbo(tmp_path: Path) -> None:
    """The kundenkät runs yearly in the same areas as the trygghetsmätning: Hjällbo's overview of
    this year shows both side by side, and its service index has a three-year series."""
    url = f"sqlite:///{tmp_path / 'demo.sqlite'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        report = load_demo(session, base_url="http://demo.invalid")
        session.commit()
    year = today().year
    assert f"3 of the kundenkät ({year - 2}–{year}, closed)" in report
    with sessions() as session:
        org_id = session.query(Organisation.id).scalar()
        assert org_id is not None
        hjallbo = session.scalar(select(Area.id).where(Area.code == "hjallbo"))
        assert hjallbo is not None
        overview = area_overview(session, org_id, hjallbo, str(year), language="sv")
        surveys = {s.questionnaire_key: s for s in overview.surveys}
        assert set(surveys) == {"kundenkat-standard", "trygghetsmatning-standard"}
        customer = surveys["kundenkat-standard"]
        [customer_round] = customer.rounds
        assert customer_round.status == "closed"
        indices = {i.key: i for i in customer_round.indices}
        assert set(indices) == {"serviceindex", "produktindex", "trivselindex", "trygghetsindex"}
        assert all(not i.suppressed and i.index is not None for i in indices.values())
        indicators = {i.key: i for i in customer_round.indicators}
        assert indicators["andel_nojda_totalt"].share is not None
        safety = {i.key: i for i in surveys["trygghetsmatning-standard"].rounds[0].indices}
        assert safety["trygghetsindex"].index is not None
        series = results_service.trend(
            session,
            org_id,
            Target("index", "serviceindex"),
            area_id=hjallbo,
        )
        assert [p.period for p in series.points] == [str(y) for y in range(year - 2, year + 1)]
        assert {p.questionnaire_key for p in series.points} == {"kundenkat-standard"}
        # Read across both surveys, the shared safety question has a point from each.
        both = results_service.trend(
            session, org_id, Target("indicator", "andel_otrygga_kvall"), area_id=hjallbo
        )
        assert [(p.period, p.questionnaire_key) for p in both.points][-2:] == [
            (str(year), "kundenkat-standard"),
            (str(year), "trygghetsmatning-standard"),
        ]
    engine.dispose()
