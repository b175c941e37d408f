"""Survey rounds (mätomgångar): open and closed by their dates, or closed early."""

from collections.abc import Collection, Mapping
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from survey_api.areas import service as areas_service
from survey_api.exceptions import Conflict, Forbidden, NotFound, ValidationFailed
from survey_api.models import (
    Questionnaire,
    QuestionnaireVersion,
    Response,
    SurveyRound,
    SurveyRoundArea,
    utcnow,
)
from survey_api.organisations import service as organisations_service
from survey_api.paging import PageRequest, fetch
from survey_api.questionnaires import service as questionnaires_service
from survey_api.responses import pending
from survey_api.results import suppression
from survey_api.rounds import periods
from survey_api.rounds.schemas import (
    RoundQuestionnaire,
    RoundStatus,
    SurveyRoundCreate,
    SurveyRoundPage,
    SurveyRoundRead,
    SurveyRoundUpdate,
)
from survey_api.webhooks import events as webhook_events

# Round dates are Swedish calendar dates: a round that closes on 15 April is open until
# midnight in Sweden, whatever the server's time zone.
SWEDEN = ZoneInfo("Europe/Stockholm")


def today() -> date:
    """Today's date in Sweden."""
    return datetime.now(SWEDEN).date()


def is_historical(survey_round: SurveyRound) -> bool:
    """Whether the round is a past survey brought in by import (never open to tenants)."""
    return survey_round.source != "collected"


def status_of(survey_round: SurveyRound, on: date | None = None) -> RoundStatus:
    """scheduled before open_date, open until close_date (inclusive), closed after or early;
    historical for an imported past survey, whatever its dates."""
    if is_historical(survey_round):
        return "historical"
    on = on or today()
    if survey_round.closed_at is not None or on > survey_round.close_date:
        return "closed"
    if on < survey_round.open_date:
        return "scheduled"
    return "open"


def status_is(status: RoundStatus, on: date) -> ColumnElement[bool]:
    """status_of as an SQL condition, so a status filter can be counted and paged in SQL."""
    historical = SurveyRound.source != "collected"
    if status == "historical":
        return historical
    closed = and_(~historical, or_(SurveyRound.closed_at.is_not(None), SurveyRound.close_date < on))
    if status == "closed":
        return closed
    if status == "scheduled":
        return and_(~historical, ~closed, SurveyRound.open_date > on)
    return and_(~historical, ~closed, SurveyRound.open_date <= on)


def get_round(session: Session, organisation_id: int, round_id: int) -> SurveyRound:
    """Load a round of the organisation or raise NotFound."""
    survey_round = session.get(SurveyRound, round_id)
    if survey_round is None or survey_round.organisation_id != organisation_id:
        raise NotFound(f"no survey round with id {round_id}")
    return survey_round


def require_open(survey_round: SurveyRound) -> None:
    """Raise Conflict unless the round accepts responses today."""
    status = status_of(survey_round)
    if status == "historical":
        raise Conflict(
            f"survey round {survey_round.id} is historical: it takes imported answers "
            f"(POST /rounds/{survey_round.id}/imports), not responses"
        )
    if status == "closed":
        raise Conflict(f"survey round {survey_round.id} is closed and accepts no more responses")
    if status == "scheduled":
        raise Conflict(
            f"survey round {survey_round.id} opens on {survey_round.open_date.isoformat()}"
        )


def area_ids_of(session: Session, round_id: int) -> list[int]:
    """The ids of the areas taking part in a round."""
    return list(
        session.scalars(
            select(SurveyRoundArea.area_id)
            .where(SurveyRoundArea.survey_round_id == round_id)
            .order_by(SurveyRoundArea.area_id)
        )
    )


def require_area(session: Session, round_id: int, area_id: int) -> None:
    """Raise unless the area takes part in the round."""
    found = session.scalar(
        select(SurveyRoundArea.area_id).where(
            SurveyRoundArea.survey_round_id == round_id, SurveyRoundArea.area_id == area_id
        )
    )
    if found is None:
        raise NotFound(f"area {area_id} does not take part in survey round {round_id}")


def create_round(
    session: Session, organisation_id: int, data: SurveyRoundCreate, *, role: str
) -> SurveyRound:
    """Create a round over a published version and some of the organisation's areas; a
    historical round (a past survey to import) only by an admin."""
    if data.historical and role != "admin":
        raise Forbidden(f"only an admin may create a historical round; this key's role is {role!r}")
    version = questionnaires_service.get_version_by_id(
        session, organisation_id, data.questionnaire_version_id
    )
    if version.status != "published":
        raise Conflict(
            f"questionnaire version {version.id} is a draft; publish it before using it in a round"
        )
    areas_service.areas_by_ids(session, organisation_id, data.area_ids)
    if data.historical and data.close_date >= today():
        raise ValidationFailed(
            "a historical round is a past survey: its close_date must be before today "
            f"({today().isoformat()})",
            errors=[
                {
                    "loc": ["body", "close_date"],
                    "type": "historical_in_past",
                    "msg": "a historical round must have closed before today",
                }
            ],
        )
    survey_round = SurveyRound(
        organisation_id=organisation_id,
        questionnaire_version_id=version.id,
        name=data.name,
        period=data.period,
        open_date=data.open_date,
        close_date=data.close_date,
        area_links_enabled=data.area_links_enabled and not data.historical,
        source="imported" if data.historical else "collected",
    )
    session.add(survey_round)
    session.flush()
    session.add_all(
        SurveyRoundArea(survey_round_id=survey_round.id, area_id=a) for a in data.area_ids
    )
    session.flush()
    if status_of(survey_round) == "open":
        # Open at once: announced in this transaction (a later open date: by the dispatcher).
        webhook_events.emit_round_opened(session, survey_round)
    return survey_round


def close_round(session: Session, organisation_id: int, round_id: int) -> SurveyRound:
    """Close a round now, before its close date."""
    survey_round = get_round(session, organisation_id, round_id)
    if is_historical(survey_round):
        raise Conflict(f"survey round {round_id} is historical: it was never open")
    if survey_round.closed_at is not None:
        raise Conflict(f"survey round {round_id} was already closed")
    survey_round.closed_at = utcnow()
    session.flush()
    # Code answers still waiting for a batch join the results now (responses/pending.py).
    pending.release_all(session, round_id)
    # In this transaction, so integrators hear of it iff the close commits; a round already
    # closed by its date has its round.closed from the dispatcher (once per round).
    webhook_events.emit_round_closed(session, survey_round)
    return survey_round


def update_round(
    session: Session, organisation_id: int, round_id: int, data: SurveyRoundUpdate
) -> SurveyRound:
    """Change a round's settings (area links on or off)."""
    survey_round = get_round(session, organisation_id, round_id)
    if is_historical(survey_round) and data.area_links_enabled:
        raise Conflict(
            f"survey round {round_id} is historical: it is never open to tenants, so it has "
            "no area links to turn on"
        )
    survey_round.area_links_enabled = data.area_links_enabled
    session.flush()
    return survey_round


def questionnaires_of_versions(
    session: Session, version_ids: Collection[int]
) -> dict[int, RoundQuestionnaire]:
    """Per questionnaire version id: the questionnaire it belongs to (id, key, and the name as
    that version's definition states it), in one query whatever their number."""
    found: dict[int, RoundQuestionnaire] = {}
    if not version_ids:
        return found
    for version_id, questionnaire_id, key, status in session.execute(
        select(
            QuestionnaireVersion.id,
            Questionnaire.id,
            Questionnaire.key,
            QuestionnaireVersion.status,
        )
        .join(Questionnaire, Questionnaire.id == QuestionnaireVersion.questionnaire_id)
        .where(QuestionnaireVersion.id.in_(set(version_ids)))
    ):
        # A round's version is published (immutable), so its parsed definition is cached.
        name = (
            dict(questionnaires_service.published_definition(session, version_id).name)
            if status == "published"
            else {}
        )
        found[version_id] = RoundQuestionnaire(id=questionnaire_id, key=key, name=name)
    return found


def questionnaire_by_key(session: Session, organisation_id: int, key: str) -> Questionnaire:
    """The organisation's questionnaire with this key, or NotFound naming those that exist."""
    found = session.scalar(
        select(Questionnaire).where(
            Questionnaire.organisation_id == organisation_id, Questionnaire.key == key
        )
    )
    if found is None:
        keys = session.scalars(
            select(Questionnaire.key)
            .where(Questionnaire.organisation_id == organisation_id)
            .order_by(Questionnaire.key)
        )
        raise NotFound(
            f"no questionnaire of yours has key {key!r} (yours: {', '.join(keys) or 'none'})"
        )
    return found


def list_rounds(
    session: Session,
    organisation_id: int,
    page: PageRequest,
    *,
    period: str | None = None,
    status: RoundStatus | None = None,
    questionnaire: str | None = None,
) -> SurveyRoundPage:
    """A page of the organisation's rounds, newest period first (in time, whatever the kinds
    of period, see periods.newest_first); optionally filtered by
    period, status or questionnaire key (an unknown key is NotFound)."""
    query = select(SurveyRound).where(SurveyRound.organisation_id == organisation_id)
    if period is not None:
        query = query.where(SurveyRound.period == period)
    if questionnaire is not None:
        questionnaire_id = questionnaire_by_key(session, organisation_id, questionnaire).id
        query = query.where(
            SurveyRound.questionnaire_version_id.in_(
                select(QuestionnaireVersion.id).where(
                    QuestionnaireVersion.questionnaire_id == questionnaire_id
                )
            )
        )
    # One "today" for the filter and the statuses shown, even across midnight.
    on = today()
    if status is not None:
        query = query.where(status_is(status, on))
    rounds, total = fetch(
        session,
        query,
        page,
        order_by=periods.newest_first_order(SurveyRound.period),
        id_column=SurveyRound.id,
    )
    return SurveyRoundPage.of(read_rounds(session, rounds, on=on), total, page)


def total_suppressed(total: int, area_counts: Mapping[int, int], k: int) -> bool:
    """Whether a round's response total must be hidden.

    The areas' own counts are shown suppressed below k (0 included) wherever they appear
    (results, overview), so the total is shown only when it cannot reveal a hidden area: it is
    at least k, and the hidden areas add up to at least k (or there are none). Otherwise
    total − Σ(shown areas) would publish a small cell: with one hidden area, its very count.
    """
    if suppression.primary_suppressed(total, k):
        return True
    hidden = [n for n in area_counts.values() if suppression.primary_suppressed(n, k)]
    return bool(hidden) and suppression.primary_suppressed(sum(hidden), k)


def read_rounds(
    session: Session, rounds: list[SurveyRound], *, on: date | None = None
) -> list[SurveyRoundRead]:
    """API views of rounds (their status on `on`, default today), with a fixed number of
    queries whatever their number; counts suppressed as :func:`total_suppressed` says."""
    if not rounds:
        return []
    ids = [r.id for r in rounds]
    areas: dict[int, list[int]] = {i: [] for i in ids}
    for round_id, area_id in session.execute(
        select(SurveyRoundArea.survey_round_id, SurveyRoundArea.area_id)
        .where(SurveyRoundArea.survey_round_id.in_(ids))
        .order_by(SurveyRoundArea.area_id)
    ):
        areas[round_id].append(area_id)
    per_area: dict[int, dict[int, int]] = {i: {} for i in ids}
    for round_id, area_id, count in session.execute(
        select(Response.survey_round_id, Response.area_id, func.count())
        .where(Response.survey_round_id.in_(ids))
        .group_by(Response.survey_round_id, Response.area_id)
    ):
        per_area[round_id][area_id] = int(count)
    min_cells = {
        organisation_id: organisations_service.min_cell_size(session, organisation_id)
        for organisation_id in {r.organisation_id for r in rounds}
    }
    waiting = pending.waiting_counts(session, ids)
    shown: dict[int, tuple[int | None, int | None]] = {}
    for r in rounds:
        k = min_cells[r.organisation_id]
        # Every area of the round counts, those without a response as 0.
        area_counts = {a: per_area[r.id].get(a, 0) for a in areas[r.id]}
        total = sum(per_area[r.id].values())
        waiting_now = waiting.get(r.id, 0)
        shown[r.id] = (
            None if total_suppressed(total, area_counts, k) else total,
            None if suppression.primary_suppressed(waiting_now, k) else waiting_now,
        )
    versions = {
        v.id: v
        for v in session.execute(
            select(
                QuestionnaireVersion.id,
                QuestionnaireVersion.questionnaire_id,
                QuestionnaireVersion.number,
            ).where(QuestionnaireVersion.id.in_({r.questionnaire_version_id for r in rounds}))
        )
    }
    questionnaires = questionnaires_of_versions(session, versions)
    return [
        SurveyRoundRead(
            id=r.id,
            name=r.name,
            questionnaire_version_id=r.questionnaire_version_id,
            questionnaire_id=versions[r.questionnaire_version_id].questionnaire_id,
            questionnaire_version_number=versions[r.questionnaire_version_id].number,
            questionnaire=questionnaires[r.questionnaire_version_id],
            period=r.period,
            area_ids=areas[r.id],
            open_date=r.open_date,
            close_date=r.close_date,
            closed_at=r.closed_at,
            status=status_of(r, on),
            source=r.source,
            area_links_enabled=r.area_links_enabled,
            min_cell_size=min_cells[r.organisation_id],
            response_count=shown[r.id][0],
            response_count_suppressed=shown[r.id][0] is None,
            pending_responses=shown[r.id][1],
            pending_responses_suppressed=shown[r.id][1] is None,
        )
        for r in rounds
    ]
