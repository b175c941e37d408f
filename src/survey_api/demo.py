"""Demo data: one housing company, six areas, both standard surveys with believable answers.

The trygghetsmätning runs yearly in the spring, four years of it; the kundenkät runs yearly in
the autumn in the same areas, its last three years (the company moved it here from a closed
vendor). The answers come from a simple latent model: each respondent has a feeling of safety
(and, for the kundenkät, of being well served) drawn around their area's level; areas differ,
everything improves slowly, and Hjällbo improves more once trygghetsvärdar start there, shortly
before the current trygghetsmätning, so trends, breakdowns and an intervention evaluation have
something to show. The two oldest trygghetsmätning years are history brought in by import
(demo_history.py): three years ago as answer counts only, two years ago as a LimeSurvey export;
everything else was collected through the service.
"""

import math
import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from survey_api import demo_history
from survey_api.auth import service as auth_service
from survey_api.config import get_settings
from survey_api.invitations import service as invitations_service
from survey_api.models import (
    Area,
    AreaClassification,
    Intervention,
    InterventionArea,
    Organisation,
    Questionnaire,
    QuestionnaireVersion,
    Response,
    SurveyRound,
    SurveyRoundArea,
    utcnow,
)
from survey_api.organisations import service as organisations_service
from survey_api.questionnaires import service as questionnaires_service
from survey_api.questionnaires.definition import (
    Item,
    QuestionnaireDefinition,
    load_standard_definition,
    validate_answers,
)
from survey_api.reports import service as reports_service
from survey_api.results import fold as results_fold
from survey_api.rounds.service import today
from survey_api.staff import service as staff_service
from survey_api.web.tokens import area_link


@dataclass(frozen=True)
class DemoArea:
    code: str
    name: str
    municipality_code: str
    deso_code: str
    households: int
    area_type: int
    police: str
    safety: float  # the area's latent level of feeling safe


DEMO_AREAS = (
    DemoArea("hjallbo", "Hjällbo", "1480", "1480C1010", 2300, 1, "sarskilt_utsatt", -0.65),
    DemoArea("hammarkullen", "Hammarkullen", "1480", "1480C1020", 1900, 1, "utsatt", -0.5),
    DemoArea("gardsten", "Gårdsten", "1480", "1480C1030", 1600, 1, "utsatt", -0.45),
    DemoArea("navestad", "Navestad", "0581", "0581C1040", 1500, 2, "utsatt", -0.3),
    DemoArea("hageby", "Hageby", "0581", "0581C1050", 2100, 2, "risk", -0.05),
    DemoArea("kortedala", "Kortedala", "1480", "1480C1060", 2500, 3, "none", 0.45),
)
# The kundenkät's latent levels: its trygghet items follow the area's feeling of safety; the
# others are that level shifted by how the local office serves (the customer service section)
# and by the state of the buildings and outdoor areas (the apartment, the building); the rest
# (value for money, neighbours, overall) by the mean of the two. Areas differ on each.
SERVICE_SHIFT = {
    "hjallbo": (0.45, 0.1),
    "hammarkullen": (-0.1, 0.3),
    "gardsten": (0.5, 0.6),
    "navestad": (0.1, -0.2),
    "hageby": (-0.45, 0.0),
    "kortedala": (0.0, -0.3),
}
KUNDENKAT_KEY = "kundenkat-standard"
KUNDENKAT_YEARS = 3  # the kundenkät's yearly rounds, the latest this year
RESPONDENTS_PER_AREA = 260
DEMO_STAFF_EMAIL = "admin@demo.example"
TREATED_AREA = "hjallbo"
LANGUAGES = (("sv", 0.6), ("ar", 0.25), ("en", 0.15))
CHANNELS = (("web", 0.7), ("paper", 0.25), ("phone", 0.05))
DEMO_LETTER_TEXTS = {
    "sv": {
        "sender": "Demobostäder AB, områdeskontoret",
        "contact": "Frågor om enkäten? Ring 031-00 00 00 eller mejla enkat@demobostader.example.",
    },
    "en": {
        "sender": "Demobostäder AB, the area office",
        "contact": "Questions? Call +46 31 00 00 00 or e-mail enkat@demobostader.example.",
    },
    "ar": {
        "sender": "شركة ديموبوستادر، مكتب المنطقة",
        "contact": "هل لديك أسئلة؟ اتصل على 00 00 00-031 أو راسلنا على enkat@demobostader.example",
    },
}
WEB_ENTRIES = (("code", 0.75), ("link", 0.25))
COMMENTS = (
    "Gångtunneln vid centrum är mörk på kvällen.",
    "Det är stökigt vid busshållplatsen.",
    "Bättre belysning vid parkeringen skulle hjälpa.",
)


def load_demo(session: Session, *, base_url: str) -> str:
    """Create the demo organisation and its data unless the database already has data."""
    if session.scalar(select(Organisation.id).limit(1)) is not None:
        return (
            "The database already has data; no demo data loaded.\n"
            "Create a key with: survey-api keys create demo --role admin"
        )
    rng = random.Random(20261127)
    definition = load_standard_definition()
    org = organisations_service.create_organisation(session, name="Demobostäder AB", slug="demo")
    _key, secret = auth_service.create_api_key(session, org, name="demo admin", role="admin")
    _staff, staff_password = staff_service.create_user_with_password(
        session, org, DEMO_STAFF_EMAIL, "admin"
    )
    org.letter_texts = DEMO_LETTER_TEXTS
    areas = _areas(session, org.id)
    session.flush()
    demo_history.import_official_classifications(
        session,
        org.id,
        today().year - 3,
        [(a.deso_code, a.area_type, a.police) for a in DEMO_AREAS],
    )
    version = _questionnaire(session, org.id, definition)
    year = today().year
    rounds = []
    for offset in (3, 2, 1, 0):
        survey_round, past = _round(
            session, org.id, version.id, year - offset, areas, rng, definition
        )
        if offset == 3:
            demo_history.import_counts(session, org.id, survey_round.id, definition, past)
        elif offset == 2:
            demo_history.import_limesurvey(
                session, org.id, survey_round.id, definition, past, year=year - offset
            )
        rounds.append(survey_round)
    current = rounds[-1]
    _intervention(session, org.id, areas[TREATED_AREA], current.open_date - timedelta(days=14))
    settings = get_settings()
    # One letter per household in Hjällbo, so its response rate is responses / letters sent.
    treated = areas[TREATED_AREA]
    codes = invitations_service.issue(
        session,
        org.id,
        current.id,
        treated.id,
        treated.households or 0,
        secret=settings.secret_key.get_secret_value(),
        base_url=base_url,
    )
    session.flush()
    # Fold the tallies now, so a newcomer's first results read is as fast as every later one.
    published = questionnaires_service.published_definition(session, version.id)
    for survey_round in rounds:
        results_fold.fold_round(session, survey_round.id, published)
    customer_rounds = _kundenkat(session, org.id, areas, rng)
    for survey_round, customer_version in customer_rounds:
        results_fold.fold_round(
            session,
            survey_round.id,
            questionnaires_service.published_definition(session, customer_version),
        )
    total = sum(len(areas) * RESPONDENTS_PER_AREA for r in rounds if r.source != "imported_tallies")
    total += len(customer_rounds) * len(areas) * RESPONDENTS_PER_AREA
    results_link = reports_service.create_share_link(
        session,
        org.id,
        current.id,
        area_id=treated.id,
        language="sv",
        expires_in_days=90,
        secret=settings.secret_key.get_secret_value(),
        public_base_url=base_url,
    )[0]
    sample = "\n".join(f"  {c.code}  {c.url}" for c in codes.codes[:3])
    return (
        f"Demo data loaded: organisation 'demo', {len(areas)} areas, {len(rounds)} yearly "
        f"rounds of the trygghetsmätning ({rounds[0].period}: imported answer counts only, "
        f"{rounds[1].period}: an imported LimeSurvey export) and {len(customer_rounds)} of the "
        f"kundenkät ({customer_rounds[0][0].period}–{customer_rounds[-1][0].period}, closed), "
        f"{total} responses.\n"
        f"Admin API key (shown once; store it): {secret}\n"
        f"Staff console: {base_url.rstrip('/')}/console/login  e-mail {DEMO_STAFF_EMAIL}, "
        f"password {staff_password} (shown once; change it under 'Byt lösenord')\n"
        f"Open round {current.id} ({current.period}). Invitation codes for Hjällbo:\n{sample}\n"
        f"Area link for Hjällbo (for posters): "
        f"{area_link(settings, current.id, areas[TREATED_AREA].id)}\n"
        f"Tenant code page: {base_url.rstrip('/')}/code\n"
        f"Results page for Hjällbo (a share link, valid 90 days): {results_link}"
    )


def _areas(session: Session, organisation_id: int) -> dict[str, Area]:
    year = today().year
    result = {}
    for a in DEMO_AREAS:
        area = Area(
            organisation_id=organisation_id,
            code=a.code,
            name=a.name,
            municipality_code=a.municipality_code,
            deso_code=a.deso_code,
            deso_version="2025",
            households=a.households,
        )
        session.add(area)
        session.flush()
        for y in range(year - 2, year + 1):  # the oldest year comes by import, see load_demo
            session.add(
                AreaClassification(
                    area_id=area.id, year=y, area_type=a.area_type, police_classification=a.police
                )
            )
        result[a.code] = area
    session.flush()
    return result


def _kundenkat(
    session: Session, organisation_id: int, areas: dict[str, Area], rng: random.Random
) -> list[tuple[SurveyRound, int]]:
    """The kundenkät's yearly autumn rounds in the same areas, all collected and closed; this
    year's closed before the trygghetsvärdar started in Hjällbo (its answers predate them, so
    the overview shows the kundenkät before and the trygghetsmätning after). Returns each round
    with its questionnaire version's id."""
    definition = load_standard_definition(KUNDENKAT_KEY)
    version = _questionnaire(session, organisation_id, definition)
    year = today().year
    result = []
    for age in range(KUNDENKAT_YEARS - 1, -1, -1):
        if age:
            open_date, close_date = date(year - age, 10, 1), date(year - age, 10, 31)
        else:  # this year's: closed, and never dated before the year began
            open_date = max(date(year, 1, 1), today() - timedelta(days=110))
            close_date = max(open_date + timedelta(days=14), today() - timedelta(days=50))
        survey_round = _new_round(
            session,
            organisation_id,
            version.id,
            name=f"Kundenkät {year - age}",
            period=str(year - age),
            dates=(open_date, close_date),
            source="collected",
            areas=areas,
        )
        rows = []
        for demo_area in DEMO_AREAS:
            level = demo_area.safety + 0.06 * (2 - age)
            service, product = SERVICE_SHIFT[demo_area.code]
            shifts = {
                "trygghet": 0.0,
                "service": service,
                "lagenheten": product,
                "huset_utemiljo": product,
            }
            for _ in range(RESPONDENTS_PER_AREA):
                answers = _answers(
                    definition, level + rng.gauss(0, 1), rng, shifts, (service + product) / 2
                )
                rows.append(_response_row(survey_round, areas[demo_area.code], answers, rng))
        session.execute(insert(Response), rows)
        result.append((survey_round, version.id))
    return result


def _questionnaire(
    session: Session, organisation_id: int, definition: QuestionnaireDefinition
) -> QuestionnaireVersion:
    questionnaire = Questionnaire(organisation_id=organisation_id, key=definition.key)
    session.add(questionnaire)
    session.flush()
    version = QuestionnaireVersion(
        questionnaire_id=questionnaire.id,
        number=1,
        status="published",
        definition=definition.to_json(),
        published_at=utcnow(),
    )
    session.add(version)
    session.flush()
    return version


def _round(
    session: Session,
    organisation_id: int,
    version_id: int,
    year: int,
    areas: dict[str, Area],
    rng: random.Random,
    definition: QuestionnaireDefinition,
) -> tuple[SurveyRound, list[demo_history.PastAnswer]]:
    """A yearly round with its answers: stored as collected for the last two years; for
    older years a historical round, its answers returned for the caller to import."""
    current = year == today().year
    historical = today().year - year >= 2
    open_date = today() - timedelta(days=30) if current else date(year, 3, 1)
    close_date = today() + timedelta(days=60) if current else date(year, 4, 30)
    survey_round = _new_round(
        session,
        organisation_id,
        version_id,
        name=f"Trygghetsmätning {year}",
        period=str(year),
        dates=(open_date, close_date),
        source="imported" if historical else "collected",
        areas=areas,
    )
    rows = []
    past: list[demo_history.PastAnswer] = []
    age = today().year - year
    for demo_area in DEMO_AREAS:
        level = demo_area.safety + 0.06 * (2 - age)
        if demo_area.code == TREATED_AREA and age == 0:
            level += 0.55  # trygghetsvärdar started shortly before the current round
        for _ in range(RESPONDENTS_PER_AREA):
            answers = _answers(definition, level + rng.gauss(0, 1), rng)
            if historical:
                past.append((demo_area.code, _pick(LANGUAGES, rng), answers))
                continue
            rows.append(_response_row(survey_round, areas[demo_area.code], answers, rng))
    if rows:
        session.execute(insert(Response), rows)
    return survey_round, past


def _new_round(
    session: Session,
    organisation_id: int,
    version_id: int,
    *,
    name: str,
    period: str,
    dates: tuple[date, date],
    source: str,
    areas: dict[str, Area],
) -> SurveyRound:
    survey_round = SurveyRound(
        organisation_id=organisation_id,
        questionnaire_version_id=version_id,
        name=name,
        period=period,
        open_date=dates[0],
        close_date=dates[1],
        source=source,
        area_links_enabled=source != "imported",
    )
    session.add(survey_round)
    session.flush()
    session.add_all(
        SurveyRoundArea(survey_round_id=survey_round.id, area_id=a.id) for a in areas.values()
    )
    session.flush()
    return survey_round


def _response_row(
    survey_round: SurveyRound, area: Area, answers: dict[str, Any], rng: random.Random
) -> dict[str, Any]:
    channel = _pick(CHANNELS, rng)
    return {
        "survey_round_id": survey_round.id,
        "area_id": area.id,
        "language": _pick(LANGUAGES, rng),
        "channel": channel,
        "entry": _pick(WEB_ENTRIES, rng) if channel == "web" else "api",
        # Never after today: a demo answer from the future would confuse "as of".
        "submitted_date": min(
            survey_round.close_date,
            today(),
            survey_round.open_date + timedelta(days=rng.randrange(40)),
        ),
        "answers": answers,
    }


def _intervention(session: Session, organisation_id: int, area: Area, start: date) -> None:
    intervention = Intervention(
        organisation_id=organisation_id,
        name="Trygghetsvärdar i Hjällbo",
        category="trygghetsvardar",
        start_date=start,
        cost_sek=1_800_000,
        description="Två trygghetsvärdar kvällar och helger, i samverkan med polisen.",
    )
    session.add(intervention)
    session.flush()
    session.add(InterventionArea(intervention_id=intervention.id, area_id=area.id))


def _answers(
    definition: QuestionnaireDefinition,
    safety: float,
    rng: random.Random,
    shifts: dict[str, float] | None = None,
    other_shift: float = 0.0,
) -> dict[str, Any]:
    """One respondent's answers around a latent level; ``shifts`` moves it per section (the
    kundenkät's), ``other_shift`` for the sections not named there."""
    answers: dict[str, Any] = {}
    for item in definition.items:
        if rng.random() < 0.03 and not item.required:
            continue  # skipped
        shift = 0.0 if shifts is None else shifts.get(item.section, other_shift)
        value = _answer(item, safety + shift, rng)
        if value is not None:
            answers[item.key] = value
    for item in definition.items:  # a follow-up is only answered by those it is shown to
        if item.show_if is not None and item.key in answers:
            given = answers.get(item.show_if.item)
            codes = given if isinstance(given, list) else [given]
            if not set(codes) & set(item.show_if.any_of):
                del answers[item.key]
    errors = validate_answers(definition, answers)
    if errors:  # the generator must only make answers a tenant could give
        raise RuntimeError(f"demo generator made an invalid response: {errors}")
    return answers


def _answer(item: Item, safety: float, rng: random.Random) -> Any:
    if item.kind == "scale":
        substantive = [o for o in item.options if o.is_substantive]
        other = [o for o in item.options if not o.is_substantive]
        if other and rng.random() < 0.04:
            return rng.choice(other).code
        ranked = sorted(substantive, key=lambda o: -(o.score or 0))  # best first
        position = safety + rng.gauss(0, 0.7)
        # Thresholds at normal quantiles spread the levels believably from best to worst.
        k = len(ranked)
        cut = [(-1.8 + 2.4 * i / k) for i in range(1, k)]
        level = sum(1 for c in cut if position < c)
        return ranked[min(level, k - 1)].code
    if item.kind == "multi_choice":
        if rng.random() < 1 / (1 + math.exp(1.6 + 0.8 * safety)):
            candidates = [o.code for o in item.options if not o.exclusive]
            return sorted(rng.sample(candidates, rng.choice((1, 1, 2))))
        return [o.code for o in item.options if o.exclusive][:1] or None
    if item.kind == "single_choice":
        return rng.choice(item.options).code
    if item.kind == "text":
        return rng.choice(COMMENTS) if rng.random() < 0.03 else None
    if item.kind == "number":
        low = item.min if item.min is not None else 0
        return int(low)
    return None


def _pick(weighted: tuple[tuple[str, float], ...], rng: random.Random) -> str:
    return rng.choices([v for v, _ in weighted], weights=[w for _, w in weighted])[0]
