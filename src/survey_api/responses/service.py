"""Responses: validated against the published version, stored append-only and anonymously."""

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, exists, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from survey_api.exceptions import IdempotencyKeyReused, NotFound, ValidationFailed
from survey_api.invitations import service as invitations_service
from survey_api.models import IdempotencyRecord, Response, SurveyRound, SurveyRoundArea
from survey_api.questionnaires import service as questionnaires_service
from survey_api.questionnaires.definition import QuestionnaireDefinition, validate_answers
from survey_api.responses import pending
from survey_api.responses.schemas import (
    BulkReceipt,
    BulkResponse,
    BulkUpload,
    Entry,
    ResponseReceipt,
    ResponseSubmit,
)
from survey_api.results import fold as results_fold
from survey_api.rounds import service as rounds_service


def _open_round(
    session: Session, organisation_id: int, round_id: int
) -> tuple[SurveyRound, QuestionnaireDefinition]:
    survey_round = rounds_service.get_round(session, organisation_id, round_id)
    rounds_service.require_open(survey_round)
    definition = questionnaires_service.published_definition(
        session, survey_round.questionnaire_version_id
    )
    return survey_round, definition


# The submit hot path asks rounds_service.get_round's and require_area's questions in one query.
_ROUND_WITH_AREA = select(
    SurveyRound,
    exists()
    .where(
        SurveyRoundArea.survey_round_id == SurveyRound.id,
        SurveyRoundArea.area_id == bindparam("area_id"),
    )
    .label("has_area"),
).where(SurveyRound.id == bindparam("round_id"))


def _open_round_for_area(
    session: Session, organisation_id: int, round_id: int, area_id: int
) -> tuple[SurveyRound, QuestionnaireDefinition, bool]:
    """_open_round, and whether the area takes part in the round, in one round trip."""
    row = session.execute(_ROUND_WITH_AREA, {"round_id": round_id, "area_id": area_id}).first()
    if row is None or row[0].organisation_id != organisation_id:
        raise NotFound(f"no survey round with id {round_id}")  # as rounds_service.get_round
    survey_round, has_area = row
    rounds_service.require_open(survey_round)
    definition = questionnaires_service.published_definition(
        session, survey_round.questionnaire_version_id
    )
    return survey_round, definition, bool(has_area)


# The rounds the submission fast path (responses/fast.py) can take, per database URL: the
# questionnaire version a slow submission found and its parsed definition. The fast statement
# checks in SQL that the round still has that version, so an entry can never be wrong, only
# missing (then the slow path runs and remembers it).
_fast_rounds: dict[tuple[str, int], tuple[int, QuestionnaireDefinition]] = {}
_FAST_ROUNDS_LIMIT = 1024


def remember_for_fast_path(
    session: Session, survey_round: SurveyRound, definition: QuestionnaireDefinition
) -> None:
    """Let later submissions to this round in this process take the fast path."""
    if len(_fast_rounds) >= _FAST_ROUNDS_LIMIT:
        _fast_rounds.clear()
    key = (str(session.get_bind().engine.url), survey_round.id)
    _fast_rounds[key] = (survey_round.questionnaire_version_id, definition)


def fast_path_round(url: str, round_id: int) -> tuple[int, QuestionnaireDefinition] | None:
    """The version id and definition remembered for a round, if a submission found them."""
    return _fast_rounds.get((url, round_id))


def answer_errors(
    definition: QuestionnaireDefinition, language: str, answers: Any, loc: Sequence[str | int]
) -> list[dict[str, Any]]:
    """Every problem with one response, located under `loc`."""
    errors: list[dict[str, Any]] = []
    if language not in definition.languages:
        errors.append(
            {
                "loc": [*loc, "language"],
                "type": "unknown_language",
                "msg": f"language {language!r} is not one of {', '.join(definition.languages)}",
            }
        )
    for e in validate_answers(definition, answers):
        errors.append({**e, "loc": [*loc, *e["loc"]]})
    return errors


def clean_answers(definition: QuestionnaireDefinition, answers: dict[str, Any]) -> dict[str, Any]:
    """Store text answers trimmed; everything else as validated."""
    return {k: v.strip() if isinstance(v, str) else v for k, v in answers.items()}


def submit(
    session: Session, organisation_id: int, round_id: int, data: ResponseSubmit, *, secret: str
) -> ResponseReceipt:
    """Store one response to an open round, redeeming its invitation code if one is given."""
    # With an area and no code (the common case) the area's membership is read with the round.
    has_area: bool | None = None
    if data.area_id is not None and data.invitation_code is None:
        survey_round, definition, has_area = _open_round_for_area(
            session, organisation_id, round_id, data.area_id
        )
    else:
        survey_round, definition = _open_round(session, organisation_id, round_id)
    errors = answer_errors(definition, data.language, data.answers, ["body"])
    if data.area_id is None and data.invitation_code is None:
        errors.append(
            {
                "loc": ["body", "area_id"],
                "type": "missing",
                "msg": "give area_id, or an invitation_code that implies it",
            }
        )
    if errors:
        raise _invalid(errors)
    if data.invitation_code is not None:
        # Redeemed in the same transaction as the answers are kept: a rejected response keeps
        # the code. The answers wait in pending_response (see responses/pending.py).
        area_id = invitations_service.redeem(session, round_id, data.invitation_code, secret=secret)
        if data.area_id is not None and data.area_id != area_id:
            raise _invalid(
                [
                    {
                        "loc": ["body", "area_id"],
                        "type": "area_mismatch",
                        "msg": "the invitation code belongs to another area of this round",
                    }
                ]
            )
        return hold_code_answer(
            session,
            survey_round,
            definition,
            area_id=area_id,
            language=data.language,
            channel=data.channel,
            answers=data.answers,
        )
    else:
        assert data.area_id is not None and has_area is not None
        area_id = data.area_id
        if not has_area:  # as rounds_service.require_area
            raise NotFound(f"area {area_id} does not take part in survey round {round_id}")
        remember_for_fast_path(session, survey_round, definition)
    return store(
        session,
        survey_round,
        definition,
        area_id=area_id,
        language=data.language,
        channel=data.channel,
        entry="api",
        answers=data.answers,
    )


def hold_code_answer(
    session: Session,
    survey_round: SurveyRound,
    definition: QuestionnaireDefinition,
    *,
    area_id: int,
    language: str,
    channel: str,
    answers: dict[str, Any],
) -> ResponseReceipt:
    """Keep an already validated answer sent with a redeemed code until its batch is released
    (also used by the tenant web form)."""
    pending.hold(
        session,
        survey_round,
        area_id=area_id,
        language=language,
        channel=channel,
        answers=clean_answers(definition, answers),
    )
    return ResponseReceipt(
        id=None,
        survey_round_id=survey_round.id,
        area_id=area_id,
        entry="code",
        pending=True,
        submitted_date=rounds_service.today(),
    )


_INSERT_RESPONSE = insert(Response).returning(Response.id)


def store(
    session: Session,
    survey_round: SurveyRound,
    definition: QuestionnaireDefinition,
    *,
    area_id: int,
    language: str,
    channel: str,
    entry: Entry,
    answers: dict[str, Any],
) -> ResponseReceipt:
    """Insert an already validated response that came in by area link or the API (also used
    by the tenant web form). Code answers go through :func:`hold_code_answer` instead."""
    submitted_date = rounds_service.today()
    results_fold.hold_round_for_submission(session, survey_round.id)  # before the id is drawn
    # A Core insert on the session's connection (same transaction): the ORM's bulk-insert
    # machinery adds nothing for one row but costs about a tenth of a millisecond.
    response_id = (
        session.connection()
        .execute(
            _INSERT_RESPONSE,
            {
                "survey_round_id": survey_round.id,
                "area_id": area_id,
                "language": language,
                "channel": channel,
                "entry": entry,
                "submitted_date": submitted_date,
                "answers": clean_answers(definition, answers),
            },
        )
        .scalar_one()
    )
    return ResponseReceipt(
        id=response_id,
        survey_round_id=survey_round.id,
        area_id=area_id,
        entry=entry,
        pending=False,
        submitted_date=submitted_date,
    )


def bulk_upload(
    session: Session,
    organisation_id: int,
    round_id: int,
    data: BulkUpload,
    idempotency_key: str,
) -> tuple[BulkReceipt, bool]:
    """Store a whole batch or nothing; a repeated Idempotency-Key replays the first result.

    Returns the receipt and whether it is a replay.
    """
    request_hash = hashlib.sha256(
        json.dumps(
            {"round": round_id, "body": data.model_dump(mode="json")}, sort_keys=True
        ).encode()
    ).hexdigest()
    replay = _replay(session, organisation_id, idempotency_key, request_hash)
    if replay is not None:
        return replay, True
    survey_round, definition = _open_round(session, organisation_id, round_id)
    round_areas = set(rounds_service.area_ids_of(session, round_id))
    errors: list[dict[str, Any]] = []
    for i, item in enumerate(data.responses):
        loc: list[str | int] = ["body", "responses", i]
        if item.area_id not in round_areas:
            errors.append(
                {
                    "loc": [*loc, "area_id"],
                    "type": "unknown_area",
                    "msg": f"area {item.area_id} does not take part in this round",
                }
            )
        errors.extend(answer_errors(definition, item.language, item.answers, loc))
    if errors:
        bad_rows = sorted({e["loc"][2] for e in errors})
        raise ValidationFailed(
            f"{len(bad_rows)} of {len(data.responses)} responses are invalid "
            f"(indexes {', '.join(map(str, bad_rows[:20]))}); nothing was stored",
            errors=errors,
        )
    # Claim the key first: a concurrent request with the same key blocks here on the unique
    # index until ours commits, then fails and replays our result instead of storing twice.
    record = IdempotencyRecord(
        organisation_id=organisation_id,
        key=idempotency_key,
        request_hash=request_hash,
        status_code=201,
        body={},
    )
    try:
        with session.begin_nested():
            session.add(record)
            session.flush()
    except IntegrityError:
        replay = _replay(session, organisation_id, idempotency_key, request_hash)
        assert replay is not None
        return replay, True
    receipt = BulkReceipt(
        survey_round_id=round_id,
        accepted=len(data.responses),
        response_ids=_insert_many(session, survey_round, definition, data.responses),
    )
    record.body = receipt.model_dump(mode="json")
    session.flush()
    return receipt, False


def _insert_many(
    session: Session,
    survey_round: SurveyRound,
    definition: QuestionnaireDefinition,
    responses: Sequence[BulkResponse],
) -> list[int]:
    submitted_date = rounds_service.today()
    results_fold.hold_round_for_submission(session, survey_round.id)  # before ids are drawn
    ids = session.scalars(
        insert(Response).returning(Response.id, sort_by_parameter_order=True),
        [
            {
                "survey_round_id": survey_round.id,
                "area_id": r.area_id,
                "language": r.language,
                "channel": r.channel,
                "entry": "api",
                "submitted_date": submitted_date,
                "answers": clean_answers(definition, r.answers),
            }
            for r in responses
        ],
    )
    return list(ids)


def _replay(
    session: Session, organisation_id: int, key: str, request_hash: str
) -> BulkReceipt | None:
    record = session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.organisation_id == organisation_id, IdempotencyRecord.key == key
        )
    )
    if record is None:
        return None
    if record.request_hash != request_hash:
        # draft-ietf-httpapi-idempotency-key-header: a reused key with another payload is 422.
        raise IdempotencyKeyReused(
            "this Idempotency-Key was already used with a different request body; "
            "use a new key for a new batch"
        )
    return BulkReceipt.model_validate(record.body)


def _invalid(errors: list[dict[str, Any]]) -> ValidationFailed:
    fields = "; ".join(f"{'.'.join(map(str, e['loc'][1:]))}: {e['msg']}" for e in errors[:5])
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return ValidationFailed(f"the response is invalid: {fields}{more}", errors=errors)
