"""The submission fast path: one API submission, one statement, no thread pool (PostgreSQL).

A submission through the synchronous path costs four hand-offs between the event loop and
the thread pool and seven round trips to the database (pre-ping, BEGIN, the key, the round
and its area, the fold's advisory lock, the insert, COMMIT); together they were most of its
CPU time (benchmarks/README.md). Here the common case, an API key submitting answers for an
area of an open round, is one ``INSERT … SELECT`` in autocommit mode on an asyncio engine:

* the key (not revoked, an uploader's role), the round (the key's organisation, not
  historical, not closed, open today, still on the questionnaire version the answers were
  validated against) and the area's membership are the insert's conditions;
* the shared advisory lock of :func:`survey_api.results.fold.hold_round_for_submission` is
  taken by the same statement before the row (and its id) is made, and held until the
  statement commits, as every submitter must (see that function: the folder relies on it);
* the answers are validated before the statement against the round's published definition,
  which this process remembered from an earlier, slow submission to the round.

When any of that is not so (first submission to a round in this process, a code answer, invalid
answers, an unknown key, a closed round, a foreign area, SQLite…) nothing is stored and the
caller runs the synchronous path, which gives the precise error in the usual order, or stores
the response if things changed in between. So the fast path adds no rule of its own: every
answer it gives, the synchronous path would have given too.
"""

import json

from survey_api.auth.dependencies import UPLOADER_ROLES
from survey_api.auth.service import hash_key
from survey_api.db import AsyncPool
from survey_api.responses import service
from survey_api.responses.schemas import ResponseReceipt, ResponseSubmit
from survey_api.results.fold import LOCK_NAMESPACE as FOLD_LOCK_NAMESPACE
from survey_api.rounds import service as rounds_service

assert all(role.isalpha() for role in UPLOADER_ROLES)  # written into the statement below
_UPLOADERS = ", ".join(f"'{role}'" for role in UPLOADER_ROLES)

# status_of's "open" (rounds/service.py), authenticate (auth/service.py), require_area, the
# advisory lock and store()'s insert, as one statement. `held` is evaluated (the lock taken)
# before the insert draws the row's id from the sequence, as hold_round_for_submission is.
# psycopg prepares it on each connection after a few uses.
_SUBMIT = f"""
    WITH caller AS (
        SELECT organisation_id FROM api_key
        WHERE key_hash = %(key_hash)s AND revoked_at IS NULL AND role IN ({_UPLOADERS})
    ), open_round AS (
        SELECT survey_round.id FROM survey_round JOIN caller USING (organisation_id)
        WHERE survey_round.id = %(round_id)s
          AND survey_round.questionnaire_version_id = %(version_id)s
          AND survey_round.source = 'collected'
          AND survey_round.closed_at IS NULL
          AND survey_round.open_date <= %(today)s AND %(today)s <= survey_round.close_date
          AND EXISTS (
              SELECT FROM survey_round_area
              WHERE survey_round_area.survey_round_id = %(round_id)s
                AND survey_round_area.area_id = %(area_id)s
          )
    ), held AS (
        SELECT pg_advisory_xact_lock_shared(%(namespace)s, %(round_id)s) FROM open_round
    )
    INSERT INTO response (survey_round_id, area_id, language, channel, entry, submitted_date,
                          answers)
    SELECT %(round_id)s, %(area_id)s, %(language)s, %(channel)s, 'api', %(today)s,
           CAST(%(answers)s AS jsonb)
    FROM held
    RETURNING id
"""


async def try_submit(
    pool: AsyncPool, api_key: str, round_id: int, data: ResponseSubmit
) -> ResponseReceipt | None:
    """Store the response in one statement and return its receipt, or None (nothing stored)
    when the synchronous path must decide."""
    if data.invitation_code is not None or data.area_id is None:
        return None
    remembered = service.fast_path_round(pool.url, round_id)
    if remembered is None:
        return None
    version_id, definition = remembered
    if service.answer_errors(definition, data.language, data.answers, ["body"]):
        return None
    today = rounds_service.today()
    async with pool.connection() as connection:
        cursor = await connection.execute(
            _SUBMIT,
            {
                "key_hash": hash_key(api_key),
                "round_id": round_id,
                "version_id": version_id,
                "today": today,
                "area_id": data.area_id,
                "namespace": FOLD_LOCK_NAMESPACE,
                "language": data.language,
                "channel": data.channel,
                "answers": json.dumps(service.clean_answers(definition, data.answers)),
            },
        )
        row = await cursor.fetchone()
    if row is None:
        return None
    return ResponseReceipt(
        id=row[0],
        survey_round_id=round_id,
        area_id=data.area_id,
        entry="api",
        pending=False,
        submitted_date=today,
    )
