"""Questionnaires: drafts are editable, published versions immutable."""

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from survey_api.exceptions import Conflict, NotFound, ValidationFailed
from survey_api.models import Questionnaire, QuestionnaireVersion, utcnow
from survey_api.paging import PageRequest, fetch
from survey_api.questionnaires import comparability
from survey_api.questionnaires.definition import (
    DefinitionError,
    QuestionnaireDefinition,
    parse_definition,
)
from survey_api.questionnaires.schemas import (
    ComparabilityChange,
    ComparabilityEntry,
    ComparabilityReport,
    CreatedQuestionnaire,
    QuestionnairePage,
    QuestionnaireRead,
    VersionRead,
    VersionSummary,
)


def validate_definition(data: Any) -> QuestionnaireDefinition:
    """Parse and check a definition, turning every problem into a located field error."""
    try:
        return parse_definition(data)
    except DefinitionError as exc:
        errors: list[dict[str, Any]] = [{**e, "loc": ["body", *e["loc"]]} for e in exc.errors]
        first = "; ".join(str(e["msg"]) for e in errors[:3])
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        raise ValidationFailed(
            f"the questionnaire definition has {len(errors)} error(s): {first}{more}",
            errors=errors,
        ) from None


# Published versions never change, so their parsed definitions can be kept per process
# (a cache, not shared state: every process fills its own). Keyed by database as well as id:
# one process may serve several databases (the test suite serves SQLite and PostgreSQL), and
# the same version id means different questionnaires in each.
_published_cache: dict[tuple[str, int], QuestionnaireDefinition] = {}
_CACHE_LIMIT = 256


def _cache_key(session: Session, version_id: int) -> tuple[str, int]:
    return str(session.get_bind().engine.url), version_id


def published_definition(session: Session, version_id: int) -> QuestionnaireDefinition:
    """The parsed definition of a published version, loaded from the database once per process."""
    key = _cache_key(session, version_id)
    cached = _published_cache.get(key)
    if cached is not None:
        return cached
    version = session.get(QuestionnaireVersion, version_id)
    if version is None or version.status != "published":
        raise NotFound(f"no published questionnaire version with id {version_id}")
    definition = parse_definition(version.definition)
    if len(_published_cache) >= _CACHE_LIMIT:
        _published_cache.clear()
    _published_cache[key] = definition
    return definition


def definition_of(version: QuestionnaireVersion) -> QuestionnaireDefinition:
    """The parsed definition of any version."""
    session = object_session(version)
    if version.status == "published" and session is not None:
        cached = _published_cache.get(_cache_key(session, version.id))
        if cached is not None:
            return cached
    return parse_definition(version.definition)


def get_questionnaire(
    session: Session, organisation_id: int, questionnaire_id: int
) -> Questionnaire:
    """Load a questionnaire of the organisation or raise NotFound."""
    q = session.get(Questionnaire, questionnaire_id)
    if q is None or q.organisation_id != organisation_id:
        raise NotFound(f"no questionnaire with id {questionnaire_id}")
    return q


def get_version(
    session: Session, organisation_id: int, questionnaire_id: int, number: int
) -> QuestionnaireVersion:
    """Load version `number` of a questionnaire or raise NotFound."""
    get_questionnaire(session, organisation_id, questionnaire_id)
    version = session.scalar(
        select(QuestionnaireVersion).where(
            QuestionnaireVersion.questionnaire_id == questionnaire_id,
            QuestionnaireVersion.number == number,
        )
    )
    if version is None:
        raise NotFound(f"questionnaire {questionnaire_id} has no version {number}")
    return version


def get_version_by_id(
    session: Session, organisation_id: int, version_id: int
) -> QuestionnaireVersion:
    """Load a version by its id, scoped to the organisation."""
    row = session.execute(
        select(QuestionnaireVersion, Questionnaire.organisation_id)
        .join(Questionnaire, Questionnaire.id == QuestionnaireVersion.questionnaire_id)
        .where(QuestionnaireVersion.id == version_id)
    ).first()
    if row is None or row[1] != organisation_id:
        raise NotFound(f"no questionnaire version with id {version_id}")
    version: QuestionnaireVersion = row[0]
    return version


def create_questionnaire(session: Session, organisation_id: int, data: Any) -> CreatedQuestionnaire:
    """Create a questionnaire from a definition; it starts as draft version 1."""
    definition = validate_definition(data)
    existing = session.scalar(
        select(Questionnaire.id).where(
            Questionnaire.organisation_id == organisation_id, Questionnaire.key == definition.key
        )
    )
    if existing is not None:
        raise Conflict(
            f"a questionnaire with key {definition.key!r} exists (id {existing}); "
            "create a new version of it instead"
        )
    questionnaire = Questionnaire(organisation_id=organisation_id, key=definition.key)
    session.add(questionnaire)
    session.flush()
    version = QuestionnaireVersion(
        questionnaire_id=questionnaire.id,
        number=1,
        status="draft",
        definition=definition.to_json(),
    )
    session.add(version)
    session.flush()
    return CreatedQuestionnaire(
        questionnaire=read_questionnaire(session, questionnaire), version=read_version(version)
    )


def new_draft(session: Session, organisation_id: int, questionnaire_id: int) -> VersionRead:
    """Start a new draft as a copy of the latest version (one draft at a time)."""
    get_questionnaire(session, organisation_id, questionnaire_id)
    versions = _versions(session, questionnaire_id)
    latest = versions[-1]
    if latest.status == "draft":
        raise Conflict(f"version {latest.number} is still a draft; edit or publish it first")
    version = QuestionnaireVersion(
        questionnaire_id=questionnaire_id,
        number=latest.number + 1,
        status="draft",
        definition=latest.definition,
    )
    session.add(version)
    session.flush()
    return read_version(version)


def update_draft(
    session: Session, organisation_id: int, questionnaire_id: int, number: int, data: Any
) -> VersionRead:
    """Replace a draft's definition; published versions refuse with 409."""
    questionnaire = get_questionnaire(session, organisation_id, questionnaire_id)
    version = get_version(session, organisation_id, questionnaire_id, number)
    if version.status != "draft":
        raise Conflict(f"version {number} is published and can no longer change; start a new draft")
    definition = validate_definition(data)
    if definition.key != questionnaire.key:
        raise ValidationFailed(
            f"the definition's key {definition.key!r} differs from the questionnaire's "
            f"{questionnaire.key!r}",
            errors=[{"loc": ["body", "key"], "msg": "must stay the same", "type": "key_changed"}],
        )
    version.definition = definition.to_json()
    session.flush()
    return read_version(version)


def publish(
    session: Session, organisation_id: int, questionnaire_id: int, number: int
) -> VersionRead:
    """Publish a draft; from now on it is immutable and rounds can use it."""
    version = get_version(session, organisation_id, questionnaire_id, number)
    if version.status == "published":
        raise Conflict(f"version {number} is already published")
    validate_definition(version.definition)
    version.status = "published"
    version.published_at = utcnow()
    session.flush()
    return read_version(version)


def list_questionnaires(
    session: Session, organisation_id: int, page: PageRequest
) -> QuestionnairePage:
    """A page of the organisation's questionnaires with their versions, oldest first."""
    query = select(Questionnaire).where(Questionnaire.organisation_id == organisation_id)
    questionnaires, total = fetch(session, query, page, order_by=[], id_column=Questionnaire.id)
    return QuestionnairePage.of(read_questionnaires(session, questionnaires), total, page)


def read_questionnaires(
    session: Session, questionnaires: Sequence[Questionnaire]
) -> list[QuestionnaireRead]:
    """API views of several questionnaires, with one query for all their versions."""
    versions: dict[int, list[QuestionnaireVersion]] = defaultdict(list)
    if questionnaires:
        for version in session.scalars(
            select(QuestionnaireVersion)
            .where(QuestionnaireVersion.questionnaire_id.in_([q.id for q in questionnaires]))
            .order_by(QuestionnaireVersion.questionnaire_id, QuestionnaireVersion.number)
        ):
            versions[version.questionnaire_id].append(version)
    return [_to_read(q, versions[q.id]) for q in questionnaires]


def read_questionnaire(session: Session, questionnaire: Questionnaire) -> QuestionnaireRead:
    """The API view of a questionnaire."""
    return _to_read(questionnaire, _versions(session, questionnaire.id))


def _to_read(
    questionnaire: Questionnaire, versions: Sequence[QuestionnaireVersion]
) -> QuestionnaireRead:
    name: dict[str, str] = versions[-1].definition.get("name", {}) if versions else {}
    return QuestionnaireRead(
        id=questionnaire.id,
        key=questionnaire.key,
        name=name,
        versions=[VersionSummary.model_validate(v) for v in versions],
    )


def read_version(version: QuestionnaireVersion) -> VersionRead:
    """The API view of a version."""
    return VersionRead.model_validate(
        {
            **VersionSummary.model_validate(version).model_dump(),
            "questionnaire_id": version.questionnaire_id,
            "definition": version.definition,
        }
    )


def _versions(session: Session, questionnaire_id: int) -> list[QuestionnaireVersion]:
    return list(
        session.scalars(
            select(QuestionnaireVersion)
            .where(QuestionnaireVersion.questionnaire_id == questionnaire_id)
            .order_by(QuestionnaireVersion.number)
        )
    )


def previous_published(
    session: Session, questionnaire_id: int, number: int
) -> QuestionnaireVersion | None:
    """The latest published version numbered below ``number``, if any."""
    return session.scalar(
        select(QuestionnaireVersion)
        .where(
            QuestionnaireVersion.questionnaire_id == questionnaire_id,
            QuestionnaireVersion.number < number,
            QuestionnaireVersion.status == "published",
        )
        .order_by(QuestionnaireVersion.number.desc())
        .limit(1)
    )


def comparability_report(
    session: Session, organisation_id: int, questionnaire_id: int, number: int
) -> ComparabilityReport:
    """Version ``number`` against the previous published version, by the trends' own rule."""
    version = get_version(session, organisation_id, questionnaire_id, number)
    previous = previous_published(session, questionnaire_id, number)
    comparisons = comparability.compare(
        None if previous is None else definition_of(previous), definition_of(version)
    )
    entries = [
        ComparabilityEntry(
            target=c.target,
            key=c.key,
            status=c.status,
            reason=c.reason,
            changes=[
                ComparabilityChange(
                    type=change.type,
                    item=change.item,
                    codes=list(change.codes),
                    before=list(change.before),
                    after=list(change.after),
                    message=change.message,
                )
                for change in c.changes
            ],
        )
        for c in comparisons
    ]
    counts = {
        status: sum(e.status == status for e in entries)
        for status in ("keeps_trend", "breaks", "new", "removed")
    }
    return ComparabilityReport(
        questionnaire_id=questionnaire_id,
        number=number,
        previous_number=None if previous is None else previous.number,
        keeps_trend=counts["keeps_trend"],
        breaks=counts["breaks"],
        new=counts["new"],
        removed=counts["removed"],
        entries=entries,
    )
