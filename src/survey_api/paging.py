"""Paging of list endpoints: one rule for limits, order, totals and next links.

Every list under /api/v1 answers a page, `{items, total, limit, offset, next}`, and an RFC 8288
`Link: <next>; rel="next"` header while more rows follow. A client follows `next` until it is
null; the link keeps the request's other parameters (its filters), so it never has to rebuild
a URL. The order always ends with the primary key: without a unique last key, rows that tie
on the sort column could swap between two page queries and be skipped or shown twice.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, Self, TypeVar
from urllib.parse import urlencode

from fastapi import Depends, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import Select, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.elements import ColumnElement

from survey_api.ids import MAX_ID

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
# OFFSET binds a 64-bit integer on both databases; a larger value would fail in the driver
# (a 500). No organisation has two billion rows of anything, so the id bound serves.
MAX_OFFSET = MAX_ID

ItemT = TypeVar("ItemT")
RowT = TypeVar("RowT")
PageT = TypeVar("PageT", bound="Page[Any]")


@dataclass(frozen=True)
class PageRequest:
    """Which page a client asked for, and the request's path and query to link the next one."""

    limit: int
    offset: int
    path: str
    query: tuple[tuple[str, str], ...] = ()

    def next_link(self, total: int) -> str | None:
        """The next page's path and query, or None on the last page."""
        if self.offset + self.limit >= total:
            return None
        kept = [(k, v) for k, v in self.query if k not in ("limit", "offset")]
        paging = [("limit", str(self.limit)), ("offset", str(self.offset + self.limit))]
        return f"{self.path}?{urlencode(kept + paging)}"


def page_request(
    request: Request,
    limit: Annotated[
        int,
        Query(
            ge=1,
            le=MAX_LIMIT,
            description=f"Rows per page, 1–{MAX_LIMIT}; default {DEFAULT_LIMIT}.",
        ),
    ] = DEFAULT_LIMIT,
    offset: Annotated[
        int,
        Query(
            ge=0,
            le=MAX_OFFSET,
            description="Rows to skip. Follow `next` (or the `Link` header) instead of "
            "counting yourself.",
        ),
    ] = 0,
) -> PageRequest:
    """The `limit` and `offset` query parameters of a list endpoint."""
    return PageRequest(
        limit=limit,
        offset=offset,
        path=request.url.path,
        query=tuple(request.query_params.multi_items()),
    )


PageParams = Annotated[PageRequest, Depends(page_request)]


class Page(BaseModel, Generic[ItemT]):
    """One page of a list. Subclass it per resource so each has its own named schema."""

    items: list[ItemT]
    total: int = Field(ge=0, description="Rows matching the filters, on all pages together.")
    limit: int = Field(ge=1, le=MAX_LIMIT, description="The page size asked for.")
    offset: int = Field(ge=0, description="Rows skipped before this page.")
    next: str | None = Field(
        description="Path and query of the next page (the same filters, the next offset), "
        'or null on the last page. Also sent as `Link: <…>; rel="next"`.',
        examples=["/api/v1/areas?limit=100&offset=100"],
    )

    @classmethod
    def of(cls, items: Sequence[ItemT], total: int, page: PageRequest) -> Self:
        """The page of these items out of `total` matching rows."""
        return cls(
            items=list(items),
            total=total,
            limit=page.limit,
            offset=page.offset,
            next=page.next_link(total),
        )


def fetch(
    session: Session,
    query: Select[RowT],
    page: PageRequest,
    *,
    order_by: Sequence[ColumnElement[Any] | InstrumentedAttribute[Any]],
    id_column: InstrumentedAttribute[int],
) -> tuple[list[RowT], int]:
    """One page of the query's rows in a stable order (`order_by`, then the id) and the
    number of rows on all pages, both counted by the database."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = session.scalars(
        query.order_by(*order_by, id_column).limit(page.limit).offset(page.offset)
    )
    return list(rows), int(total or 0)


def with_link_header(response: Response, page: PageT) -> PageT:
    """Send the page's next link as an RFC 8288 Link header too, when there is one."""
    if page.next is not None:
        response.headers["Link"] = f'<{page.next}>; rel="next"'
    return page


LINK_HEADER_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "One page; follow `next` until it is null.",
        "headers": {
            "Link": {
                "description": 'The next page as `<path?query>; rel="next"` (RFC 8288); '
                "absent on the last page.",
                "schema": {"type": "string"},
            }
        },
    }
}
