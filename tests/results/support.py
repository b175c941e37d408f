"""Generated answers with known content, bulk upload, and independent reference figures.

The reference figures here are computed straight from the raw answers with numpy, scipy and
statsmodels, never through survey_api.results, so the API is checked against another reading of
DESIGN.md's Statistics section.
"""

import math
import random
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import httpx
import numpy as np
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from tests.helpers import STANDARD, ok

Z = 1.959963984540054
ITEMS = {item["key"]: item for item in STANDARD["items"]}
INDICATORS = {i["key"]: i for i in STANDARD["indicators"]}
INDICES = {i["key"]: i for i in STANDARD["indices"]}
BACKGROUND = [item["key"] for item in STANDARD["items"] if item.get("background")]


def generate(
    rng: random.Random, n: int, *, skip: float = 0.08, tilt: float = 0.0
) -> list[dict[str, Any]]:
    """n valid answer sets of the standard questionnaire; ``tilt`` shifts choices to low codes."""
    out = []
    for _ in range(n):
        answers: dict[str, Any] = {}
        for item in STANDARD["items"]:
            key, kind = item["key"], item["kind"]
            if rng.random() < skip:
                continue
            if kind == "text":
                if rng.random() < 0.2:
                    answers[key] = "Mörkt vid tunneln"
                continue
            codes = [o["code"] for o in item["options"]]
            if kind == "multi_choice":
                exclusive = [o["code"] for o in item["options"] if o.get("exclusive")]
                if rng.random() < 0.6:
                    answers[key] = exclusive[:1]
                else:
                    others = [c for c in codes if c not in exclusive]
                    answers[key] = sorted(rng.sample(others, rng.randint(1, 3)))
                continue
            if item.get("show_if"):
                cond = item["show_if"]
                given = answers.get(cond["item"])
                given = given if isinstance(given, list) else [given]
                if not any(c in cond["any_of"] for c in given):
                    continue
            weights = [1.0 + tilt * (len(codes) - i) for i in range(len(codes))]
            answers[key] = rng.choices(codes, weights=weights)[0]
        out.append(answers)
    return out


def upload(
    client: httpx.Client, round_id: int, area_id: int, answers: Sequence[dict[str, Any]]
) -> list[int]:
    """Bulk-upload answer sets for one area as paper responses, 500 per call."""
    ids: list[int] = []
    for start in range(0, len(answers), 500):
        chunk = answers[start : start + 500]
        body = {
            "responses": [
                {"area_id": area_id, "language": "sv", "channel": "paper", "answers": a}
                for a in chunk
            ]
        }
        receipt = ok(
            client.post(
                f"/api/v1/rounds/{round_id}/responses/bulk",
                json=body,
                headers={"Idempotency-Key": uuid.uuid4().hex},
            ),
            201,
        )
        ids.extend(receipt["response_ids"])
    return ids


def results(client: httpx.Client, round_id: int, **params: Any) -> dict[str, Any]:
    return ok(client.get(f"/api/v1/rounds/{round_id}/results", params=params))


def by_key(entries: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {e["key"]: e for e in entries}


def area_of(payload: dict[str, Any], area_id: int) -> dict[str, Any]:
    return next(a for a in payload["areas"] if a["area_id"] == area_id)


# --- independent reference figures -----------------------------------------------------------


def substantive(item: dict[str, Any], code: int) -> bool:
    option = next(o for o in item["options"] if o["code"] == code)
    return not ("score" in option and option["score"] is None)


def score(item: dict[str, Any], code: int) -> float | None:
    option = next(o for o in item["options"] if o["code"] == code)
    return option.get("score")


def item_reference(answers: Sequence[dict[str, Any]], key: str) -> dict[str, Any]:
    """n, non-substantive count, counts, favourable x and score array of one item."""
    item = ITEMS[key]
    counts = {o["code"]: 0 for o in item["options"]}
    n = non = fav = 0
    scores: list[float] = []
    for a in answers:
        if key not in a:
            continue
        given = a[key] if isinstance(a[key], list) else [a[key]]
        for c in given:
            counts[c] += 1
        if any(substantive(item, c) for c in given):
            n += 1
            if item["kind"] != "multi_choice":
                s = score(item, given[0])
                if s is not None:
                    scores.append(float(s))
            if any(c in item.get("favourable", []) for c in given):
                fav += 1
        else:
            non += 1
    return {"n": n, "non_substantive": non, "counts": counts, "x": fav, "scores": np.array(scores)}


def wilson_ref(x: int, n: int) -> tuple[float, float]:
    low, high = proportion_confint(x, n, alpha=0.05, method="wilson")
    return float(low), float(high)


def t_interval(values: np.ndarray) -> tuple[float, float, float]:
    mean = float(values.mean())
    half = (
        float(stats.t.ppf(0.975, len(values) - 1))
        * float(values.std(ddof=1))
        / math.sqrt(len(values))
    )
    return mean, mean - half, mean + half


def indicator_reference(answers: Sequence[dict[str, Any]], key: str) -> tuple[int, int]:
    indicator = INDICATORS[key]
    ref = item_reference(answers, indicator["item"])
    x = 0
    for a in answers:
        given = a.get(indicator["item"])
        if given is None:
            continue
        given = given if isinstance(given, list) else [given]
        if any(c in indicator["codes"] for c in given):
            x += 1
    return x, ref["n"]


def composite_values(answers: Sequence[dict[str, Any]], key: str) -> np.ndarray:
    """Per respondent: mean of rescaled answered components, if at least half answered."""
    index = INDICES[key]
    values = []
    for a in answers:
        parts = []
        for component in index["items"]:
            item = ITEMS[component]
            scores = [o["score"] for o in item["options"] if o.get("score") is not None]
            lo, hi = min(scores), max(scores)
            code = a.get(component)
            if code is None:
                continue
            s = score(item, code)
            if s is not None:
                parts.append((s - lo) / (hi - lo))
        if 2 * len(parts) >= len(index["items"]):
            values.append(sum(parts) / len(parts))
    return np.array(values)
