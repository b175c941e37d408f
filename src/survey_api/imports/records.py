"""The ``data_import`` record's identity: finding an import already stored, and the locks that
make two identical imports at the same moment store one.

The identity (organisation, round, kind, file SHA-256, mapping SHA-256) has an index but no
unique constraint (a take-back deletes the record, so the same file may be stored again
later). So a real run takes a lock *before* it looks for a stored import: the second of two
identical requests waits for the first to commit, then finds its record and replays it. On
PostgreSQL each statement of a READ COMMITTED transaction sees what committed before it, so
the lookup after the wait sees the first import; SQLite has one writer anyway (FOR UPDATE is
left out there)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from survey_api.imports.schemas import ImportKind
from survey_api.models import DataImport, Organisation, SurveyRound


def lock_round(session: Session, round_id: int) -> None:
    """Imports and take-backs of one round run one at a time, until the transaction ends.

    The round is read again under the lock (a round loaded before it keeps no stale
    ``source``: the import that held the lock may have changed it)."""
    session.execute(
        select(SurveyRound)
        .where(SurveyRound.id == round_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def lock_organisation(session: Session, organisation_id: int) -> None:
    """Imports that belong to no round (area classifications) run one at a time per
    organisation, until the transaction ends."""
    session.execute(
        select(Organisation.id).where(Organisation.id == organisation_id).with_for_update()
    )


def record_name(file_name: str) -> str:
    """A file's name as its import record keeps it: at most 200 characters, no NUL (which
    PostgreSQL refuses in text)."""
    return file_name[:200].replace("\x00", "")


def stored_import(
    session: Session,
    organisation_id: int,
    round_id: int | None,
    kind: ImportKind,
    file_sha256: str,
    mapping_sha256: str,
) -> DataImport | None:
    """The first stored import with this identity (``round_id`` None: an organisation's)."""
    return session.scalar(
        select(DataImport)
        .where(
            DataImport.organisation_id == organisation_id,
            DataImport.survey_round_id.is_(None)
            if round_id is None
            else DataImport.survey_round_id == round_id,
            DataImport.kind == kind,
            DataImport.file_sha256 == file_sha256,
            DataImport.mapping_sha256 == mapping_sha256,
        )
        .order_by(DataImport.id)
        .limit(1)
    )


__all__ = ["lock_organisation", "lock_round", "record_name", "stored_import"]
