"""The printable results page: a round's figures for an area (or the whole organisation),
trend charts with intervals and intervention markers, answer distributions. Suppressed
cells stay suppressed here exactly as in the API, since every figure comes from it; a figure
the round's data cannot give (a round of imported answer counts) is shown as unavailable with
its reason, never as a suppressed one, and a historical round says where its data came from."""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from survey_api.areas import service as areas_service
from survey_api.exceptions import NotFound
from survey_api.interventions import service as interventions_service
from survey_api.models import Organisation, ShareLink, SurveyRound, utcnow
from survey_api.paging import PageRequest, fetch
from survey_api.presentation import charts, formatting
from survey_api.questionnaires import service as questionnaires_service
from survey_api.questionnaires.definition import QuestionnaireDefinition
from survey_api.reports import benchmark_column, share
from survey_api.reports.labels import LABELS, source_text, unavailable_key, unavailable_text
from survey_api.reports.schemas import ShareLinkPage, ShareLinkRead, ShareLinkStatus
from survey_api.reports.share import ShareGrant
from survey_api.results import service as results_service
from survey_api.results.schemas import (
    AreaResults,
    PooledGroup,
    PooledShareFigure,
    RoundResults,
    ShareFigure,
    TrendSeries,
)
from survey_api.results.service import Target
from survey_api.rounds import service as rounds_service
from survey_api.timestamps import as_utc


@dataclass(frozen=True)
class FigureRow:
    label: str
    value: str | None  # None = suppressed, or unavailable when `unavailable` is set
    interval: str | None
    n: str | None
    low_precision: bool
    # Why the figure is unavailable, as a key of labels.UNAVAILABLE_KEYS (index, answered,
    # overlap, breakdown, other); each page words it in its own language. None: not unavailable.
    unavailable: str | None = None


@dataclass(frozen=True)
class TableCell:
    """A value in the areas table: the figure, or None (suppressed, or unavailable with a key)."""

    value: str | None
    unavailable: str | None = None


@dataclass(frozen=True)
class HistoryNote:
    """A trend point's round that was not collected through the service: its period and its
    source (imported or imported_tallies)."""

    period: str
    source: str


@dataclass(frozen=True)
class Fact:
    label: str
    value: str


def page_context(session: Session, grant: ShareGrant) -> dict[str, Any]:
    """Everything the template shows, computed through the results service, for a grant
    whose stored link is neither revoked nor expired."""
    grant = open_share_link(session, grant)
    org = session.get(Organisation, grant.organisation_id)
    survey_round = session.get(SurveyRound, grant.survey_round_id)
    if org is None or survey_round is None or survey_round.organisation_id != org.id:
        raise NotFound("this link is not valid")
    lang = grant.language
    words = LABELS[lang]
    definition = questionnaires_service.published_definition(
        session, survey_round.questionnaire_version_id
    )
    area_name = words["all_areas"]
    if grant.area_id is not None:
        area_name = areas_service.get_area(session, org.id, grant.area_id).name
    results = results_service.round_results(
        session,
        org.id,
        survey_round.id,
        area_ids=None if grant.area_id is None else [grant.area_id],
    )
    area = results.areas[0] if grant.area_id is not None and results.areas else None
    organisation = next((p for p in results.pooled if p.kind == "organisation"), None)
    starts = _intervention_starts(session, org.id, grant.area_id)
    trends = _trends(session, org.id, definition, lang, grant.area_id, starts)
    return {
        "lang": lang,
        "t": words,
        "organisation": org.name,
        "round": survey_round,
        "survey": _survey_name(results.questionnaire.name, lang),
        "area_name": area_name,
        "results": results,
        "area": area,
        "facts": _facts(words, lang, survey_round.period, results, area),
        "source": source_text(words, survey_round.source),
        "expires_at": grant.expires_at,
        "key_figures": _key_figures(definition, lang, area, organisation),
        "benchmark": benchmark_column.report_column(
            session, org, survey_round.id, definition, area, lang
        ),
        "area_table": _area_table(definition, lang, results) if area is None else None,
        "trends": trends,
        "history": trend_history(trends),
        "unavailable_text": lambda key: unavailable_text(words, key),
        "interventions": [
            f"{name} ({words['started']} {start.isoformat()})" for start, name in starts
        ],
        "distributions": _distributions(definition, lang, area) if area else [],
        "method_text": words["method_text"].format(min_cell=results.min_cell_size),
    }


def _survey_name(names: dict[str, str], lang: str) -> str:
    """The round's questionnaire (survey) in the page's language, else Swedish, else any."""
    return names.get(lang) or names.get("sv") or next(iter(names.values()), "")


def _facts(
    words: dict[str, str], lang: str, period: str, results: RoundResults, area: AreaResults | None
) -> list[Fact]:
    facts = [Fact(words["period"], period)]
    if area is not None and not area.responses.suppressed:
        figures = area.responses
        if figures.responses is not None:
            facts.append(Fact(words["responses"], formatting.number(figures.responses, lang)))
        if figures.response_rate is not None:
            facts.append(
                Fact(words["response_rate"], formatting.percent(figures.response_rate, lang))
            )
    if area is not None and area.households is not None:
        facts.append(Fact(words["households"], formatting.number(area.households, lang)))
    facts.append(Fact(words["as_of"], results.as_of.strftime("%Y-%m-%d")))
    return facts


def _share_row(
    label: str,
    lang: str,
    share: ShareFigure | PooledShareFigure | None,
    n: int | None,
    *,
    suppressed: bool,
    unavailable: str | None = None,
) -> FigureRow:
    """A share's row; a suppressed cell's row shows nothing but that it is suppressed, an
    unavailable one nothing but why."""
    if unavailable is not None:
        return FigureRow(label, None, None, None, False, unavailable_key(unavailable))
    if suppressed or share is None:
        return FigureRow(label, None, None, None, False)
    return FigureRow(
        label,
        formatting.percent(share.p, lang),
        formatting.percent_range(share.low, share.high, lang),
        None if n is None else formatting.number(n, lang),
        bool(share.low_precision),
    )


def _key_figures(
    definition: QuestionnaireDefinition,
    lang: str,
    area: AreaResults | None,
    organisation: PooledGroup | None,
) -> list[FigureRow]:
    rows: list[FigureRow] = []
    for indicator in definition.indicators:
        label = indicator.label.get(lang) or indicator.key
        if area is not None:
            cell = next((i for i in area.indicators if i.key == indicator.key), None)
            rows.append(
                _share_row(
                    label,
                    lang,
                    None if cell is None else cell.share,
                    None if cell is None else cell.n,
                    suppressed=cell is None or cell.suppressed,
                    unavailable=None if cell is None else cell.unavailable_reason,
                )
            )
        elif organisation is not None:
            pooled = next((i for i in organisation.indicators if i.key == indicator.key), None)
            rows.append(
                _share_row(
                    label,
                    lang,
                    None if pooled is None else pooled.share,
                    None if pooled is None else pooled.n,
                    suppressed=pooled is None or pooled.suppressed,
                    unavailable=None if pooled is None else pooled.unavailable_reason,
                )
            )
    for index in definition.indices:
        label = index.label.get(lang) or index.key
        cells = area.indices if area is not None else (organisation.indices if organisation else [])
        composite = next((i for i in cells if i.key == index.key), None)
        if composite is not None and composite.unavailable_reason is not None:
            rows.append(
                FigureRow(
                    label, None, None, None, False, unavailable_key(composite.unavailable_reason)
                )
            )
            continue
        index_figure = None if composite is None or composite.suppressed else composite.index
        if index_figure is None or composite is None:
            rows.append(FigureRow(label, None, None, None, False))
            continue
        interval = None
        if index_figure.low is not None and index_figure.high is not None:
            interval = formatting.number_range(index_figure.low, index_figure.high, lang)
        n = None if composite.n is None else formatting.number(composite.n, lang)
        rows.append(
            FigureRow(label, formatting.number(index_figure.index, lang), interval, n, False)
        )
    return rows


def _area_table(
    definition: QuestionnaireDefinition, lang: str, results: RoundResults
) -> dict[str, Any]:
    columns = [i.label.get(lang) or i.key for i in definition.indicators]
    rows = []
    for area in results.areas:
        values: list[TableCell] = []
        for indicator in definition.indicators:
            cell = next((i for i in area.indicators if i.key == indicator.key), None)
            if cell is not None and cell.unavailable_reason is not None:
                values.append(TableCell(None, unavailable_key(cell.unavailable_reason)))
                continue
            share = None if cell is None or cell.suppressed else cell.share
            values.append(TableCell(None if share is None else formatting.percent(share.p, lang)))
        responses = area.responses.responses
        shown = None if area.responses.suppressed or responses is None else responses
        rows.append(
            {
                "name": area.name,
                "responses": None if shown is None else formatting.number(shown, lang),
                "cells": values,
            }
        )
    return {"columns": columns, "rows": rows}


def _trends(
    session: Session,
    organisation_id: int,
    definition: QuestionnaireDefinition,
    lang: str,
    area_id: int | None,
    starts: list[tuple[date, str]],
) -> list[dict[str, Any]]:
    """Each indicator's and index's trend chart over the rounds of the same survey
    (questionnaire) as ``definition``, with the periods whose figure is unavailable
    (`unavailable`: (period, reason key)) and the points' rounds (`rounds`: (round id,
    period, source)) for the page's notes."""
    targets: list[tuple[Target, str, float, charts.Unit]] = [
        (Target("indicator", i.key), i.label.get(lang) or i.key, 100.0, "percent")
        for i in definition.indicators
    ] + [
        (Target("index", i.key), i.label.get(lang) or i.key, 1.0, "index")
        for i in definition.indices
    ]
    svgs = []
    for target, title, scale, unit in targets:
        # The round's own survey only: a page about one survey's round, and a chart whose
        # points are labelled by period, where a second survey's round of the same period
        # would be a second, indistinguishable "2026" (the API's trends span surveys).
        series = results_service.trend(
            session,
            organisation_id,
            target,
            area_id=area_id,
            group=None if area_id is not None else "organisation",
            questionnaire=definition.key,
        )
        svgs.append(
            {
                "title": title,
                "svg": _trend_svg(session, series, title, scale, unit, lang, starts),
                "unavailable": [
                    (p.period, unavailable_key(p.unavailable_reason))
                    for p in series.points
                    if p.unavailable_reason is not None
                ],
                "rounds": [(p.survey_round_id, p.period, p.source) for p in series.points],
            }
        )
    return svgs


def trend_history(trends: list[dict[str, Any]]) -> list[HistoryNote]:
    """The rounds of the trend charts whose data were imported (marked on their points), each
    once, in the charts' order."""
    seen: dict[int, HistoryNote] = {}
    for chart in trends:
        for round_id, period, source in chart["rounds"]:
            if source != "collected" and round_id not in seen:
                seen[round_id] = HistoryNote(period, source)
    return list(seen.values())


def _trend_svg(
    session: Session,
    series: TrendSeries,
    title: str,
    scale: float,
    unit: charts.Unit,
    lang: str,
    starts: list[tuple[date, str]],
) -> str:
    words = LABELS.get(lang, LABELS["en"])
    points = [
        charts.TrendPoint(
            period=p.period,
            value=None if p.estimate is None else p.estimate * scale,
            low=None if p.low is None else p.low * scale,
            high=None if p.high is None else p.high * scale,
            mark="" if p.source == "collected" else words["history_mark"],
            missing="–" if p.unavailable_reason is None else words["unavailable_short"],
        )
        for p in series.points
    ]
    opens = dict(
        session.execute(
            select(SurveyRound.id, SurveyRound.open_date).where(
                SurveyRound.id.in_([p.survey_round_id for p in series.points])
            )
        ).all()
    )
    markers = []
    for start, name in starts:
        first_after = next(
            (p.period for p in series.points if opens.get(p.survey_round_id, date.min) >= start),
            None,
        )
        if first_after is not None:
            markers.append(charts.Marker(first_after, name))
    return charts.trend_chart(points, markers, title=title, language=lang, unit=unit)


def _intervention_starts(
    session: Session, organisation_id: int, area_id: int | None
) -> list[tuple[date, str]]:
    found = interventions_service.list_interventions(session, organisation_id, area_id=area_id)
    return [(i.start_date, i.name) for i in found]


def _distributions(
    definition: QuestionnaireDefinition, lang: str, area: AreaResults
) -> list[dict[str, Any]]:
    shown = []
    for result in area.items:
        item = definition.items_by_key.get(result.key)
        if item is None or item.kind not in ("scale", "single_choice") or item.background:
            continue
        entry: dict[str, Any] = {
            "text": item.text.get(lang) or item.key,
            "n": None if result.n is None else formatting.number(result.n, lang),
            "svg": None,
            "legend": "",
        }
        if not result.suppressed and result.distribution and result.n:
            segments = []
            for option in result.distribution:
                if not option.substantive or not option.share:
                    continue
                label = item.option(option.code).label.get(lang) or str(option.code)
                segments.append(charts.Segment(label, option.share))
            entry["svg"] = charts.distribution_bar(segments, language=lang)
            entry["legend"] = charts.distribution_legend(segments, language=lang)
        shown.append(entry)
    return shown


# Public pieces of this page for the staff console, so that both show the same figures and the
# same charts (one implementation; a fix lands on both).


def key_figure_rows(
    definition: QuestionnaireDefinition,
    lang: str,
    *,
    area: AreaResults | None = None,
    pooled: PooledGroup | None = None,
) -> list[FigureRow]:
    """The key figures table (indicators, then indices) of an area or a pooled group."""
    return _key_figures(definition, lang, area, pooled)


def trend_charts(
    session: Session,
    organisation_id: int,
    definition: QuestionnaireDefinition,
    lang: str,
    area_id: int,
) -> list[dict[str, Any]]:
    """An area's trend charts with interval bands and its interventions' start markers (with
    their unavailable periods and rounds, as `_trends` gives them)."""
    starts = _intervention_starts(session, organisation_id, area_id)
    return _trends(session, organisation_id, definition, lang, area_id, starts)


def distribution_charts(
    definition: QuestionnaireDefinition, lang: str, area: AreaResults
) -> list[dict[str, Any]]:
    """An area's answer distributions as stacked bars with their legends."""
    return _distributions(definition, lang, area)


def create_share_link(
    session: Session,
    organisation_id: int,
    round_id: int,
    *,
    area_id: int | None,
    language: share.ReportLanguage,
    expires_in_days: int,
    secret: str,
    public_base_url: str,
    created_by_staff_user_id: int | None = None,
    created_by_api_key_id: int | None = None,
) -> tuple[str, ShareGrant]:
    """A stored, signed link to the round's results page (an area's or the organisation's)
    and its grant; the round must be the organisation's and the area one of the round's.
    The API's route and the console both make links here, and only here."""
    rounds_service.get_round(session, organisation_id, round_id)
    if area_id is not None:
        rounds_service.require_area(session, round_id, area_id)
    link = ShareLink(
        organisation_id=organisation_id,
        survey_round_id=round_id,
        area_id=area_id,
        language=language,
        expires_at=share.expiry(expires_in_days),
        created_by_staff_user_id=created_by_staff_user_id,
        created_by_api_key_id=created_by_api_key_id,
    )
    session.add(link)
    session.flush()
    grant = ShareGrant(
        share_link_id=link.id,
        organisation_id=organisation_id,
        survey_round_id=round_id,
        area_id=area_id,
        language=language,
        expires_at=link.expires_at,
    )
    token = share.create_token(grant, secret)
    return f"{public_base_url.rstrip('/')}/reports/{token}", grant


def share_link_status(link: ShareLink, now: datetime | None = None) -> ShareLinkStatus:
    """revoked (whatever its expiry), else expired, else active."""
    if link.revoked_at is not None:
        return "revoked"
    if as_utc(link.expires_at) <= (now or datetime.now(UTC)):
        return "expired"
    return "active"


def share_link_read(link: ShareLink) -> ShareLinkRead:
    """A stored link as the API lists it (never its URL)."""
    return ShareLinkRead(
        id=link.id,
        survey_round_id=link.survey_round_id,
        area_id=link.area_id,
        language=link.language,
        created_at=link.created_at,
        expires_at=link.expires_at,
        revoked_at=link.revoked_at,
        status=share_link_status(link),
        created_by_staff_user_id=link.created_by_staff_user_id,
        created_by_api_key_id=link.created_by_api_key_id,
    )


def _round_links(organisation_id: int, round_id: int) -> Select[ShareLink]:
    return select(ShareLink).where(
        ShareLink.organisation_id == organisation_id, ShareLink.survey_round_id == round_id
    )


def page_share_links(
    session: Session, organisation_id: int, round_id: int, page: PageRequest
) -> ShareLinkPage:
    """A page of the round's share links, newest first, revoked and expired ones included."""
    rounds_service.get_round(session, organisation_id, round_id)
    found, total = fetch(
        session,
        _round_links(organisation_id, round_id),
        page,
        order_by=[ShareLink.created_at.desc()],
        id_column=ShareLink.id,
    )
    return ShareLinkPage.of([share_link_read(link) for link in found], total, page)


def round_share_links(session: Session, organisation_id: int, round_id: int) -> list[ShareLink]:
    """All the round's share links, newest first (the console's list)."""
    rounds_service.get_round(session, organisation_id, round_id)
    query = _round_links(organisation_id, round_id)
    return list(session.scalars(query.order_by(ShareLink.created_at.desc(), ShareLink.id.desc())))


def get_share_link(
    session: Session, organisation_id: int, round_id: int, share_link_id: int
) -> ShareLink:
    """One of the round's links; another organisation's or round's answers like a missing one."""
    link = session.get(ShareLink, share_link_id)
    if link is None or link.organisation_id != organisation_id or link.survey_round_id != round_id:
        raise NotFound(f"no share link with id {share_link_id} in this round")
    return link


def revoke_share_link(
    session: Session, organisation_id: int, round_id: int, share_link_id: int
) -> ShareLink:
    """Revoke a link: it stops opening on the next request. Revoking a revoked link changes
    nothing (its first revocation time stays), so a retried request is harmless."""
    link = get_share_link(session, organisation_id, round_id, share_link_id)
    if link.revoked_at is None:
        link.revoked_at = utcnow()
        session.flush()
    return link


def open_share_link(session: Session, grant: ShareGrant) -> ShareGrant:
    """The grant of a signed token, checked against its stored link: a revoked link or one
    whose row does not match the token (deleted, another round) does not open."""
    link = session.get(ShareLink, grant.share_link_id)
    if (
        link is None
        or link.organisation_id != grant.organisation_id
        or link.survey_round_id != grant.survey_round_id
        or link.area_id != grant.area_id
        or link.language != grant.language
    ):
        raise NotFound(share.INVALID)
    if link.revoked_at is not None:
        raise NotFound(share.REVOKED)
    if as_utc(link.expires_at) <= datetime.now(UTC):
        raise NotFound(share.EXPIRED)
    return grant
