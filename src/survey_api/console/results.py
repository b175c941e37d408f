"""The console's Results section: a round's figures per area and pooled group, an area's
distributions, trends and breakdowns, the round's exports, and share links for boards.

GET  /console/results                                   rounds that have responses
GET  /console/results/{id}                              key figures per area and pooled group
GET  /console/results/{id}/areas/{area_id}[?by=key]     an area: figures, distributions, trends,
                                                        a breakdown by a background item
GET  /console/results/{id}/compare?target=kind:key  the round's areas side by side for an item,
                                                        indicator or index, with the organisation
GET  /console/results/{id}/exports/codebook|results     the API's export files (every role)
GET  /console/results/{id}/exports/responses            (admin) responses, free text on request
POST /console/results/{id}/share-links                  (analyst) a share link, shown once
GET  /console/results/{id}/share-links/{link_id}/revoke (analyst) "revoke this link?"
POST /console/results/{id}/share-links/{link_id}/revoke (analyst) revoke it; its page stops opening

Every figure comes from the results service (suppression included), every chart and table row
from the board's results page (reports/service.py), every file from exports/files.py and every
share link from the service the API's share-link route uses; this module only picks and shows.
"""

import math
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal, cast

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse
from markupsafe import Markup
from pydantic import ValidationError
from sqlalchemy.orm import Session

from survey_api.areas import service as areas_service
from survey_api.config import Settings
from survey_api.console.auth import AdminStaff, DefinerStaff, Fields, SessionDep, Staff, StaffPost
from survey_api.console.rendering import (
    ConsoleRoute,
    PageLanguage,
    page_language,
    redirect,
    render,
)
from survey_api.exceptions import NotFound
from survey_api.exports import files, formats
from survey_api.exports.formats import ExportFormat
from survey_api.ids import MAX_ID
from survey_api.models import ShareLink, SurveyRound
from survey_api.organisations import service as organisations_service
from survey_api.paging import MAX_LIMIT, PageRequest
from survey_api.presentation import charts, formatting
from survey_api.questionnaires import service as questionnaires_service
from survey_api.questionnaires.definition import QuestionnaireDefinition
from survey_api.reports import service as reports_service
from survey_api.reports.schemas import ShareLinkCreate
from survey_api.reports.share import ReportLanguage
from survey_api.results import service as results_service
from survey_api.results.schemas import AreaResults, PooledGroup, RoundResults, TargetKind
from survey_api.results.service import Target
from survey_api.rounds import service as rounds_service
from survey_api.rounds.schemas import SurveyRoundRead
from survey_api.staff.service import StaffPrincipal
from survey_api.timestamps import as_utc

router = APIRouter(prefix="/results", route_class=ConsoleRoute)

EXPORT_FORMATS: tuple[ExportFormat, ...] = ("csv", "csv-excel", "xlsx")
DEFAULT_SHARE_DAYS = 30


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _id(raw: str, what: str) -> int:
    """A path id; anything else is the same NotFound as a missing or foreign one."""
    value = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 10 else 0
    if not 1 <= value <= MAX_ID:
        raise NotFound(f"no such {what}")
    return value


def _round(session: Session, principal: StaffPrincipal, raw_id: str) -> SurveyRound:
    return rounds_service.get_round(session, principal.organisation_id, _id(raw_id, "survey round"))


def _definition(session: Session, survey_round: SurveyRound) -> QuestionnaireDefinition:
    return questionnaires_service.published_definition(
        session, survey_round.questionnaire_version_id
    )


def _format(request: Request) -> ExportFormat:
    raw = request.query_params.get("format", "csv")
    if raw not in EXPORT_FORMATS:
        raise NotFound("no such export format")
    return raw


# --- rounds with results -----------------------------------------------------------------------


def _rounds_with_responses(session: Session, organisation_id: int) -> list[SurveyRoundRead]:
    found: list[SurveyRoundRead] = []
    offset = 0
    while True:
        page = rounds_service.list_rounds(
            session,
            organisation_id,
            PageRequest(limit=MAX_LIMIT, offset=offset, path="/console/results"),
        )
        found += [r for r in page.items if r.response_count > 0]
        offset += MAX_LIMIT
        if page.next is None:
            return found


@router.get("")
def results_rounds_page(request: Request, session: SessionDep, principal: Staff) -> Response:
    """The rounds that have responses, newest period first, to pick one."""
    return render(
        request,
        "results/list.html",
        lang=page_language(request),
        rounds=_rounds_with_responses(session, principal.organisation_id),
    )


# --- a round's figures -------------------------------------------------------------------------


@dataclass(frozen=True)
class AreaFigures:
    """An area's response figures (None where suppressed) and its key figures table."""

    id: int
    code: str
    name: str
    responses: str | None
    response_rate: str | None
    households: str | None
    rows: list[reports_service.FigureRow]


def _area_figures(definition: QuestionnaireDefinition, lang: str, area: AreaResults) -> AreaFigures:
    figures = area.responses
    shown = not figures.suppressed
    return AreaFigures(
        id=area.area_id,
        code=area.code,
        name=area.name,
        responses=formatting.number(figures.responses, lang)
        if shown and figures.responses is not None
        else None,
        response_rate=formatting.percent(figures.response_rate, lang)
        if shown and figures.response_rate is not None
        else None,
        households=None if area.households is None else formatting.number(area.households, lang),
        rows=reports_service.key_figure_rows(definition, lang, area=area),
    )


@dataclass(frozen=True)
class PooledFigures:
    """A pooled group (the organisation, an area type, a police classification)."""

    kind: str
    value: str | None
    areas: int
    rows: list[reports_service.FigureRow]


def _exports(round_id: int, principal: StaffPrincipal) -> list[dict[str, Any]]:
    base = f"/console/results/{round_id}/exports"
    shown: list[dict[str, Any]] = [
        {"kind": "results", "links": [(f, f"{base}/results?format={f}") for f in EXPORT_FORMATS]},
        {"kind": "codebook", "links": [(f, f"{base}/codebook?format={f}") for f in EXPORT_FORMATS]},
    ]
    if principal.role == "admin":
        shown += [
            {
                "kind": "responses",
                "links": [(f, f"{base}/responses?format={f}") for f in EXPORT_FORMATS],
            },
            {
                "kind": "responses_text",
                "links": [
                    (f, f"{base}/responses?format={f}&include_text=1") for f in EXPORT_FORMATS
                ],
            },
        ]
    return shown


def _round_page(
    request: Request,
    session: Session,
    principal: StaffPrincipal,
    survey_round: SurveyRound,
    *,
    lang: PageLanguage,
    status: int = 200,
    share: dict[str, Any] | None = None,
) -> Response:
    definition = _definition(session, survey_round)
    results = results_service.round_results(session, principal.organisation_id, survey_round.id)
    may_share = principal.role in ("admin", "analyst")
    names = {area.area_id: area.name for area in results.areas}
    links = (
        _share_link_rows(session, principal.organisation_id, survey_round.id, names)
        if may_share
        else []
    )
    revoked = request.query_params.get("revoked") if request.method == "GET" else None
    return render(
        request,
        "results/round.html",
        lang=lang,
        status=status,
        round=survey_round,
        results=results,
        areas=[_area_figures(definition, lang.code, area) for area in results.areas],
        pooled=[
            PooledFigures(
                group.kind,
                group.value,
                len(group.area_ids),
                reports_service.key_figure_rows(definition, lang.code, pooled=group),
            )
            for group in results.pooled
        ],
        pending=formatting.number(results.pending, lang.code),
        exports=_exports(survey_round.id, principal),
        may_share=may_share,
        share_links=links,
        revoked=next((link for link in links if str(link.id) == revoked), None),
        csrf_token=principal.csrf_token,
        share=share
        or {
            "fields": {"area_id": "", "language": lang.code, "days": str(DEFAULT_SHARE_DAYS)},
            "errors": {},
        },
    )


@router.get("/{round_id}")
def round_results_page(
    request: Request, session: SessionDep, principal: Staff, round_id: str
) -> Response:
    """A round's key figures per area and per pooled group, with intervals and suppression."""
    survey_round = _round(session, principal, round_id)
    return _round_page(request, session, principal, survey_round, lang=page_language(request))


# --- an area -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BreakdownRow:
    """A figure per group of the background item: a value with its interval, or None."""

    label: str
    cells: list[tuple[str, str] | None]


def _breakdown(
    definition: QuestionnaireDefinition, lang: str, by: str, results: RoundResults
) -> dict[str, Any] | None:
    if not results.areas or results.breakdown_codes is None:
        return None
    area = results.areas[0]
    item = definition.items_by_key[by]
    groups = [
        (code, None if code == -1 else (item.option(code).label.get(lang) or str(code)))
        for code in results.breakdown_codes
    ]
    rows: list[BreakdownRow] = []
    for indicator in definition.indicators:
        found = next((i for i in area.indicators if i.key == indicator.key), None)
        by_code = {g.code: g for g in (found.breakdown or [])} if found else {}
        cells: list[tuple[str, str] | None] = []
        for code, _label in groups:
            group = by_code.get(code)
            if group is None or group.suppressed or group.share is None:
                cells.append(None)
                continue
            share = group.share
            cells.append(
                (
                    formatting.percent(share.p, lang),
                    formatting.percent_range(share.low, share.high, lang),
                )
            )
        rows.append(BreakdownRow(indicator.label.get(lang) or indicator.key, cells))
    for index in definition.indices:
        composite = next((i for i in area.indices if i.key == index.key), None)
        index_groups = {g.code: g for g in (composite.breakdown or [])} if composite else {}
        cells = []
        for code, _label in groups:
            index_group = index_groups.get(code)
            figure = None if index_group is None or index_group.suppressed else index_group.index
            if figure is None:
                cells.append(None)
                continue
            interval = (
                "–"
                if figure.low is None or figure.high is None
                else formatting.number_range(figure.low, figure.high, lang)
            )
            cells.append((formatting.number(figure.index, lang), interval))
        rows.append(BreakdownRow(index.label.get(lang) or index.key, cells))
    return {"item": item.text.get(lang) or item.key, "groups": groups, "rows": rows}


@router.get("/{round_id}/areas/{area_id}")
def area_results_page(
    request: Request, session: SessionDep, principal: Staff, round_id: str, area_id: str
) -> Response:
    """An area's key figures, distributions, trends with intervention markers, and a breakdown
    by a background item (?by=, as the API's)."""
    lang = page_language(request)
    survey_round = _round(session, principal, round_id)
    area_number = _id(area_id, "area")
    rounds_service.require_area(session, survey_round.id, area_number)
    definition = _definition(session, survey_round)
    background = [
        (item.key, item.text.get(lang.code) or item.key) for item in definition.background_items
    ]
    requested = request.query_params.get("by", "")
    by = requested if requested in dict(background) else None
    results = results_service.round_results(
        session, principal.organisation_id, survey_round.id, area_ids=[area_number], by=by
    )
    area = results.areas[0]
    return render(
        request,
        "results/area.html",
        lang=lang,
        round=survey_round,
        results=results,
        area=_area_figures(definition, lang.code, area),
        distributions=reports_service.distribution_charts(definition, lang.code, area),
        trends=reports_service.trend_charts(
            session, principal.organisation_id, definition, lang.code, area_number
        ),
        background=background,
        by=by,
        breakdown=_breakdown(definition, lang.code, by, results) if by else None,
    )


# --- areas side by side ------------------------------------------------------------------------


@dataclass(frozen=True)
class CompareRow:
    """An area's or a pooled group's figure for the chosen target (value None: suppressed)."""

    label: str
    area_id: int | None
    value: str | None
    interval: str | None
    n: str | None
    low_precision: bool
    areas: int | None  # pooled groups: how many areas
    kind: str | None  # pooled groups: organisation, area_type or police
    group_value: str | None
    unweighted: bool
    point: charts.IntervalRow


@dataclass(frozen=True)
class Comparison:
    """The chosen target's figure in every area of the round, sorted by the figure."""

    target: str
    title: str
    statistic: str
    unit: Literal["percent", "index", "mean"]
    top: float
    rows: list[CompareRow]
    organisation: CompareRow | None
    pooled: list[CompareRow]
    language: str

    def chart(self, title: str, reference: str, suppressed: str) -> Markup:
        """The areas' figures with their intervals and the organisation as a dashed line."""
        shown = None
        if self.organisation is not None and self.organisation.point.value is not None:
            shown = charts.IntervalRow(reference, self.organisation.point.value)
        return Markup(
            charts.interval_chart(
                [row.point for row in self.rows],
                title=title,
                language=self.language,
                unit=self.unit,
                top=self.top,
                reference=shown,
                suppressed_text=suppressed,
            )
        )

    def pooled_chart(self, title: str, labels: list[str], suppressed: str) -> Markup:
        """The pooled groups' figures, labelled by the page (the same labels as its table)."""
        return Markup(
            charts.interval_chart(
                [
                    charts.IntervalRow(label, row.point.value, row.point.low, row.point.high)
                    for label, row in zip(labels, self.pooled, strict=True)
                ],
                title=title,
                language=self.language,
                unit=self.unit,
                top=self.top,
                suppressed_text=suppressed,
            )
        )


def _compare_targets(
    definition: QuestionnaireDefinition, lang: str
) -> list[tuple[str, list[tuple[str, str]]]]:
    """The choices of the page's select, grouped: indicators, indices, then questions that
    have a headline figure (a favourable share, an index or a mean)."""
    questions = [
        (f"item:{item.key}", item.text.get(lang) or item.key)
        for item in definition.items
        if not item.background
        and results_service.statistic_of(definition, Target("item", item.key)) is not None
    ]
    return [
        (
            "indicators",
            [(f"indicator:{i.key}", i.label.get(lang) or i.key) for i in definition.indicators],
        ),
        ("indices", [(f"index:{i.key}", i.label.get(lang) or i.key) for i in definition.indices]),
        ("items", questions),
    ]


Figure = tuple[float, float | None, float | None, bool]  # value, low, high, low precision


def _cell_figure(statistic: str, cell: Any) -> Figure | None:
    """The headline figure of an area's or a pooled group's cell; None when suppressed."""
    if cell is None or cell.suppressed:
        return None
    if statistic == "indicator_share":
        share = cell.share
    elif statistic == "favourable_share":
        share = cell.favourable
    else:
        share = None
    if share is not None:
        return share.p, share.low, share.high, bool(share.low_precision)
    if statistic in ("composite_index", "item_index"):
        index = cell.index
        return None if index is None else (index.index, index.low, index.high, False)
    if statistic == "mean":
        mean = cell.mean
        return None if mean is None else (mean.mean, mean.low, mean.high, False)
    return None


def _cell_of(target: Target, cells: Any) -> Any:
    """The target's cell among an area's or group's items, indicators or indices."""
    found = {"item": cells.items, "indicator": cells.indicators, "index": cells.indices}
    return next((c for c in found[target.kind] if c.key == target.key), None)


def _compare_row(
    statistic: str,
    lang: str,
    label: str,
    cell: Any,
    *,
    area_id: int | None = None,
    group: PooledGroup | None = None,
) -> CompareRow:
    figure = _cell_figure(statistic, cell)
    share = statistic in ("indicator_share", "favourable_share")
    decimals = 1 if statistic == "mean" else 0
    value = interval = None
    point = charts.IntervalRow(label, None)
    if figure is not None:
        estimate, low, high, _precision = figure
        if share:
            value = formatting.percent(estimate, lang)
            interval = (
                None if low is None or high is None else formatting.percent_range(low, high, lang)
            )
            point = charts.IntervalRow(
                label,
                estimate * 100,
                None if low is None else low * 100,
                None if high is None else high * 100,
            )
        else:
            value = formatting.number(estimate, lang, decimals=decimals)
            interval = (
                None
                if low is None or high is None
                else f"{formatting.number(low, lang, decimals=decimals)}–"
                f"{formatting.number(high, lang, decimals=decimals)}"
            )
            point = charts.IntervalRow(label, estimate, low, high)
    n = None if figure is None or cell.n is None else formatting.number(cell.n, lang)
    return CompareRow(
        label=label,
        area_id=area_id,
        value=value,
        interval=interval,
        n=n,
        low_precision=figure is not None and figure[3],
        areas=None if group is None else len(group.area_ids),
        kind=None if group is None else group.kind,
        group_value=None if group is None else group.value,
        unweighted=figure is not None and getattr(cell, "weighting", None) == "unweighted",
        point=point,
    )


def _comparison(
    session: Session,
    principal: StaffPrincipal,
    survey_round: SurveyRound,
    definition: QuestionnaireDefinition,
    lang: str,
    chosen: str,
    title: str,
) -> Comparison:
    kind, key = chosen.split(":", 1)
    target = Target(cast(TargetKind, kind), key)
    statistic = results_service.statistic_of(definition, target) or ""
    only: dict[str, list[str]] = {"items": [], "indicators": [], "indices": []}
    only[{"item": "items", "indicator": "indicators", "index": "indices"}[target.kind]] = [key]
    results = results_service.round_results(
        session,
        principal.organisation_id,
        survey_round.id,
        items=only["items"],
        indicators=only["indicators"],
        indices=only["indices"],
    )
    rows = [
        _compare_row(statistic, lang, area.name, _cell_of(target, area), area_id=area.area_id)
        for area in results.areas
    ]
    shown = sorted(
        (r for r in rows if r.point.value is not None),
        key=lambda r: (-(r.point.value or 0.0), r.label),
    )
    hidden = sorted((r for r in rows if r.point.value is None), key=lambda r: r.label)
    groups = [
        _compare_row(statistic, lang, group.group, _cell_of(target, group), group=group)
        for group in results.pooled
    ]
    unit: Literal["percent", "index", "mean"] = (
        "percent"
        if statistic in ("indicator_share", "favourable_share")
        else "mean"
        if statistic == "mean"
        else "index"
    )
    top = 100.0
    if unit == "mean":
        highs = [r.point.high or r.point.value or 0.0 for r in rows + groups if r.point.value]
        top = float(max(1, math.ceil(max(highs, default=1.0))))
    organisation = next((g for g in groups if g.kind == "organisation"), None)
    return Comparison(
        target=chosen,
        title=title,
        statistic=statistic,
        unit=unit,
        top=top,
        rows=shown + hidden,
        organisation=organisation,
        pooled=[g for g in groups if g.kind != "organisation"],
        language=lang,
    )


@router.get("/{round_id}/compare")
def compare_areas_page(
    request: Request, session: SessionDep, principal: Staff, round_id: str
) -> Response:
    """The round's areas side by side for one item, indicator or index (?target=kind:key):
    each area's figure with its interval, sorted, with the organisation as a reference."""
    lang = page_language(request)
    survey_round = _round(session, principal, round_id)
    definition = _definition(session, survey_round)
    choices = _compare_targets(definition, lang.code)
    titles = {value: text for _group, options in choices for value, text in options}
    requested = request.query_params.get("target")
    chosen = requested if requested is not None else next(iter(titles), "")
    if chosen not in titles:
        # A target this questionnaire does not have (or none at all to choose from): the form
        # again, saying so, and no figures.
        return render(
            request,
            "results/compare.html",
            lang=lang,
            status=400 if requested is not None else 200,
            round=survey_round,
            choices=choices,
            chosen=None,
            unknown=requested is not None,
            comparison=None,
            min_cell_size=organisations_service.min_cell_size(session, principal.organisation_id),
        )
    comparison = _comparison(
        session, principal, survey_round, definition, lang.code, chosen, titles[chosen]
    )
    return render(
        request,
        "results/compare.html",
        lang=lang,
        round=survey_round,
        choices=choices,
        chosen=chosen,
        unknown=False,
        comparison=comparison,
        min_cell_size=organisations_service.min_cell_size(session, principal.organisation_id),
    )


# --- downloads ---------------------------------------------------------------------------------


def _stream(file: files.ExportFile) -> StreamingResponse:
    return StreamingResponse(
        file.chunks,
        media_type=file.media_type,
        headers={"Content-Disposition": formats.content_disposition(file.filename)},
    )


@router.get("/{round_id}/exports/results")
def export_results(
    request: Request, session: SessionDep, principal: Staff, round_id: str
) -> Response:
    """The round's results file, one row per figure, suppression kept (the API's export)."""
    survey_round = _round(session, principal, round_id)
    fmt = _format(request)
    return _stream(files.results(session, principal.organisation_id, survey_round.id, fmt, by=None))


@router.get("/{round_id}/exports/codebook")
def export_codebook(
    request: Request, session: SessionDep, principal: Staff, round_id: str
) -> Response:
    """The round's codebook (the API's export)."""
    survey_round = _round(session, principal, round_id)
    return _stream(
        files.codebook(session, principal.organisation_id, survey_round.id, _format(request))
    )


@router.get("/{round_id}/exports/responses")
def export_responses(
    request: Request, session: SessionDep, principal: AdminStaff, round_id: str
) -> Response:
    """(admin) Anonymised responses, free text only when asked for (the API's export)."""
    survey_round = _round(session, principal, round_id)
    return _stream(
        files.responses(
            session,
            request.app.state.sessionmaker,
            principal.organisation_id,
            survey_round.id,
            _format(request),
            include_text=request.query_params.get("include_text") == "1",
        )
    )


# --- share links -------------------------------------------------------------------------------


def _number(value: str) -> int | str | None:
    """A number typed in a form as an int; anything else as typed, for the model to refuse."""
    if not value:
        return None
    return int(value) if value.isascii() and value.isdigit() and len(value) < 12 else value


def _share_errors(error: ValidationError) -> dict[str, str]:
    names = {"area_id": "area_id", "language": "language", "expires_in_days": "days"}
    found: dict[str, str] = {}
    for problem in error.errors():
        name = names.get(str(problem["loc"][0]) if problem["loc"] else "", "days")
        found.setdefault(name, problem["msg"])
    return found


@router.post("/{round_id}/share-links")
def create_share_link(
    request: Request,
    session: SessionDep,
    allowed: DefinerStaff,
    principal: StaffPost,
    round_id: str,
    fields: Fields,
) -> Response:
    """(analyst) A signed link to the board's results page, shown once with its expiry."""
    lang = page_language(request, fields.get("_lang"))
    survey_round = _round(session, principal, round_id)
    values = {
        "area_id": fields.get("area_id", ""),
        "language": fields.get("language", ""),
        "days": fields.get("days", "").strip(),
    }
    try:
        body = ShareLinkCreate.model_validate(
            {
                "area_id": _number(values["area_id"]),
                "language": values["language"],
                "expires_in_days": _number(values["days"]),
            }
        )
    except ValidationError as error:
        share = {"fields": values, "errors": _share_errors(error)}
        return _round_page(
            request, session, principal, survey_round, lang=lang, status=422, share=share
        )
    settings = _settings(request)
    language: ReportLanguage = "en" if body.language == "en" else "sv"
    url, grant = reports_service.create_share_link(
        session,
        principal.organisation_id,
        survey_round.id,
        area_id=body.area_id,
        language=language,
        expires_in_days=body.expires_in_days,
        secret=settings.secret_key.get_secret_value(),
        public_base_url=settings.public_base_url,
        created_by_staff_user_id=principal.staff_user_id,
    )
    area_name = (
        None
        if grant.area_id is None
        else areas_service.get_area(session, principal.organisation_id, grant.area_id).name
    )
    return render(
        request,
        "results/share_created.html",
        lang=lang,
        round=survey_round,
        url=url,
        expires_at=grant.expires_at,
        area_name=area_name,
        link_language=grant.language,
    )


@dataclass(frozen=True)
class ShareLinkRow:
    """A stored link as the round page lists it (never its URL, which was shown once)."""

    id: int
    area_name: str | None  # None: all areas
    language: str
    created: date
    expires_at: str
    status: str  # active, expired or revoked
    revoked: date | None


def _share_link_rows(
    session: Session, organisation_id: int, round_id: int, names: dict[int, str]
) -> list[ShareLinkRow]:
    rows = []
    for link in reports_service.round_share_links(session, organisation_id, round_id):
        rows.append(
            ShareLinkRow(
                id=link.id,
                area_name=None if link.area_id is None else names.get(link.area_id, "–"),
                language=link.language,
                created=as_utc(link.created_at).date(),
                expires_at=as_utc(link.expires_at).strftime("%Y-%m-%d %H:%M"),
                status=reports_service.share_link_status(link),
                revoked=None if link.revoked_at is None else as_utc(link.revoked_at).date(),
            )
        )
    return rows


def _share_link(
    session: Session, principal: StaffPrincipal, survey_round: SurveyRound, raw_id: str
) -> tuple[ShareLink, str | None]:
    link = reports_service.get_share_link(
        session, principal.organisation_id, survey_round.id, _id(raw_id, "share link")
    )
    area_name = (
        None
        if link.area_id is None
        else areas_service.get_area(session, principal.organisation_id, link.area_id).name
    )
    return link, area_name


@router.get("/{round_id}/share-links/{share_link_id}/revoke")
def revoke_share_link_page(
    request: Request,
    session: SessionDep,
    principal: DefinerStaff,
    round_id: str,
    share_link_id: str,
) -> Response:
    """(analyst) Ask before revoking a share link."""
    survey_round = _round(session, principal, round_id)
    link, area_name = _share_link(session, principal, survey_round, share_link_id)
    return render(
        request,
        "results/share_revoke.html",
        lang=page_language(request),
        round=survey_round,
        link=link,
        area_name=area_name,
        expires_at=as_utc(link.expires_at).strftime("%Y-%m-%d %H:%M"),
        csrf_token=principal.csrf_token,
    )


@router.post("/{round_id}/share-links/{share_link_id}/revoke")
def revoke_share_link(
    request: Request,
    session: SessionDep,
    allowed: DefinerStaff,
    principal: StaffPost,
    round_id: str,
    share_link_id: str,
    fields: Fields,
) -> Response:
    """(analyst) Revoke a share link (the API's service); its page answers 404 from now on."""
    survey_round = _round(session, principal, round_id)
    link = reports_service.revoke_share_link(
        session, principal.organisation_id, survey_round.id, _id(share_link_id, "share link")
    )
    lang = page_language(request, fields.get("_lang"))
    return redirect(
        lang.url(f"/console/results/{survey_round.id}", revoked=str(link.id)) + "#share-links-title"
    )
