"""Organisations with areas, rounds and answers of known content, for benchmark tests.

Answers are minimal: each response answers only `trygg_ute_kvall` (codes 1 and 2 safe, 3
unsafe), so an area's indicator `andel_otrygga_kvall` is exactly x unsafe of n answers.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx

from tests.conftest import Org
from tests.helpers import create_area, ok, publish_standard, standard_definition

INDICATOR = "andel_otrygga_kvall"
CELLS = [f"area_type:{t}" for t in range(1, 6)] + [
    f"police:{p}" for p in ("none", "utsatt", "risk", "sarskilt_utsatt")
]
_random = random.SystemRandom()


def fresh_period() -> str:
    """A month nobody else's rounds use (the benchmark spans the whole database)."""
    return f"{_random.randint(2100, 9999)}-{_random.randint(1, 12):02d}"


def answers(x: int, n: int) -> list[dict[str, Any]]:
    """n answers to trygg_ute_kvall, x of them unsafe (code 3)."""
    return [{"trygg_ute_kvall": 3}] * x + [{"trygg_ute_kvall": 1 + i % 2} for i in range(n - x)]


def upload(client: httpx.Client, round_id: int, area_id: int, sets: list[dict[str, Any]]) -> None:
    for start in range(0, len(sets), 500):
        body = {
            "responses": [
                {"area_id": area_id, "language": "sv", "channel": "paper", "answers": a}
                for a in sets[start : start + 500]
            ]
        }
        ok(
            client.post(
                f"/api/v1/rounds/{round_id}/responses/bulk",
                json=body,
                headers={"Idempotency-Key": uuid.uuid4().hex},
            ),
            201,
        )


@dataclass
class Company:
    """An organisation with a published questionnaire and its areas."""

    org: Org
    version_id: int
    areas: dict[str, int] = field(default_factory=dict)

    def area(
        self,
        code: str,
        area_type: int | None,
        police: str = "none",
        households: int | None = 500,
        earlier: list[dict[str, Any]] | None = None,
    ) -> int:
        """An area classified (area_type, police) in 2025, and as ``earlier`` says before."""
        created = create_area(
            self.org.analyst,
            code,
            households,
            classifications=[
                *(earlier or []),
                {"year": 2025, "area_type": area_type, "police_classification": police},
            ],
        )
        self.areas[code] = created["id"]
        return int(created["id"])

    def round(self, period: str, counts: dict[str, tuple[int, int]]) -> int:
        """A round in the period over the named areas, with (x unsafe, n) answers each."""
        today = date.today()
        created = ok(
            self.org.analyst.post(
                "/api/v1/rounds",
                json={
                    "name": f"Trygghetsmätning {period}",
                    "questionnaire_version_id": self.version_id,
                    "period": period,
                    "area_ids": [self.areas[code] for code in counts],
                    "open_date": (today - timedelta(days=10)).isoformat(),
                    "close_date": (today + timedelta(days=30)).isoformat(),
                },
            ),
            201,
        )
        for code, (x, n) in counts.items():
            upload(self.org.integrator, created["id"], self.areas[code], answers(x, n))
        return int(created["id"])

    def round_with(self, period: str, sets: dict[str, list[dict[str, Any]]]) -> int:
        """A round in the period over the named areas, with the given answer sets each."""
        today = date.today()
        created = ok(
            self.org.analyst.post(
                "/api/v1/rounds",
                json={
                    "name": f"Trygghetsmätning {period}",
                    "questionnaire_version_id": self.version_id,
                    "period": period,
                    "area_ids": [self.areas[code] for code in sets],
                    "open_date": (today - timedelta(days=10)).isoformat(),
                    "close_date": (today + timedelta(days=30)).isoformat(),
                },
            ),
            201,
        )
        for code, answer_sets in sets.items():
            upload(self.org.integrator, created["id"], self.areas[code], answer_sets)
        return int(created["id"])

    def opt(self, opt_in: bool) -> None:
        body = ok(self.org.admin.patch("/api/v1/organisation", json={"benchmark_opt_in": opt_in}))
        assert body["benchmark_opt_in"] is opt_in


def company(
    org: Org,
    *,
    opt_in: bool = True,
    min_cell: int | None = None,
    definition: dict[str, Any] | None = None,
) -> Company:
    version = publish_standard(org.analyst, definition or standard_definition())
    made = Company(org=org, version_id=int(version["id"]))
    if min_cell is not None:
        ok(org.admin.patch("/api/v1/organisation", json={"min_cell_size": min_cell}))
    if opt_in:
        made.opt(True)
    return made


def benchmark(client: httpx.Client, period: str, **target: str) -> dict[str, Any]:
    params = {"period": period, **(target or {"indicator": INDICATOR})}
    body: dict[str, Any] = ok(client.get("/api/v1/benchmarks", params=params))
    return body


def cell_bytes(response: httpx.Response, key: str) -> bytes:
    """The raw JSON bytes of one cell's value in a benchmark response."""
    text = response.content
    start = text.index(f'"{key}":'.encode()) + len(f'"{key}":'.encode())
    depth = 0
    for i in range(start, len(text)):
        if text[i : i + 1] == b"{":
            depth += 1
        elif text[i : i + 1] == b"}":
            depth -= 1
            if depth == 0:
                return text[start : i + 1]
    raise AssertionError(f"no cell {key}")
