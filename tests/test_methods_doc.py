"""docs/methods.md stays whole: every indicator and index of every shipped questionnaire has an
entry, every numeric figure of a results payload is named, and every worked example comes out
the same when recomputed independently (SciPy, statsmodels, numpy; never the app's functions).

Conventions the page follows (and this test parses):

* a questionnaire's section is a heading that names its key in backticks; under it, table rows
  whose first cell is an indicator's or index's key in backticks. An indicator's row gives its
  item (backticks) and codes; an index's row its components (backticks, in order), its
  orientation (backticks) and each component's score range (``1–4``) in the same order;
* a figure is named as its field name in backticks;
* a worked example is an HTML comment ``<!-- check: <kind> key=value ... -->`` followed by a
  ``text`` code block that shows every numeric result of the comment as written there.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from survey_api.exports import results_rows
from survey_api.main import openapi_document

ROOT = Path(__file__).resolve().parents[1]
METHODS = ROOT / "docs" / "methods.md"
DATA = ROOT / "src" / "survey_api" / "data"
TEXT = METHODS.read_text(encoding="utf-8")
Z = float(stats.norm.ppf(0.975))

QUESTIONNAIRES = sorted(DATA.glob("*.json"))


def _definition(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


# --------------------------------------------------------------------------------------------
# 1. Every indicator and index of every shipped questionnaire
# --------------------------------------------------------------------------------------------

HEADING = re.compile(r"^(#{1,6}) ")


def _section(key: str) -> list[str]:
    """The lines under the heading that names ``key`` in backticks, to the next heading of the
    same or a higher level."""
    lines = TEXT.splitlines()
    for start, line in enumerate(lines):
        heading = HEADING.match(line)
        if heading and f"`{key}`" in line:
            level = len(heading.group(1))
            end = next(
                (
                    i
                    for i in range(start + 1, len(lines))
                    if (h := HEADING.match(lines[i])) and len(h.group(1)) <= level
                ),
                len(lines),
            )
            return lines[start + 1 : end]
    raise AssertionError(f"docs/methods.md has no heading naming questionnaire `{key}`")


def _rows(section: list[str]) -> dict[str, list[str]]:
    """Table rows of a section by their first cell (a key in backticks)."""
    rows: dict[str, list[str]] = {}
    for line in section:
        if not line.startswith("|"):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        first = re.fullmatch(r"`([a-z][a-z0-9_]*)`", cells[0])
        if first:
            rows[first.group(1)] = cells
    return rows


def _ticked(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def _score_range(item: dict[str, Any]) -> str:
    scores = [o["score"] for o in item["options"] if o.get("score") is not None]
    low, high = min(scores), max(scores)
    return f"{low:g}–{high:g}"


def _entries(kind: str) -> Iterator[Any]:
    for path in QUESTIONNAIRES:
        definition = _definition(path)
        for entry in definition.get(kind, []):
            yield pytest.param(definition, entry, id=f"{definition['key']}:{entry['key']}")


def test_the_standard_questionnaires_are_found() -> None:
    keys = {_definition(path)["key"] for path in QUESTIONNAIRES}
    assert "trygghetsmatning-standard" in keys


@pytest.mark.parametrize("path", QUESTIONNAIRES, ids=lambda p: p.stem)
def test_every_questionnaire_has_a_section(path: Path) -> None:
    definition = _definition(path)
    rows = _rows(_section(definition["key"]))
    expected = {i["key"] for i in definition.get("indicators", [])} | {
        i["key"] for i in definition.get("indices", [])
    }
    assert expected <= set(rows), f"no entry for {sorted(expected - set(rows))}"


@pytest.mark.parametrize(("definition", "indicator"), list(_entries("indicators")))
def test_every_indicator_has_an_entry(
    definition: dict[str, Any], indicator: dict[str, Any]
) -> None:
    rows = _rows(_section(definition["key"]))
    key = indicator["key"]
    assert key in rows, f"docs/methods.md: no row for indicator `{key}` of {definition['key']}"
    row = rows[key]
    assert _ticked(row[1]) == [indicator["item"]], f"`{key}`: the item should be {row[1]!r}"
    codes = [int(code) for code in re.findall(r"-?\d+", row[2])]
    assert codes == indicator["codes"], f"`{key}`: the codes are {indicator['codes']}"
    assert len(row) > 3 and len(row[3]) > 20, f"`{key}`: say what it means"


@pytest.mark.parametrize(("definition", "index"), list(_entries("indices")))
def test_every_index_has_an_entry(definition: dict[str, Any], index: dict[str, Any]) -> None:
    rows = _rows(_section(definition["key"]))
    key = index["key"]
    assert key in rows, f"docs/methods.md: no row for index `{key}` of {definition['key']}"
    row = rows[key]
    assert _ticked(row[1]) == index["items"], f"`{key}`: the components are {index['items']}"
    assert _ticked(row[2]) == [index["orientation"]], f"`{key}`: {index['orientation']}"
    items = {item["key"]: item for item in definition["items"]}
    ranges = re.findall(r"-?[\d.]+–-?[\d.]+", row[3])
    assert ranges == [_score_range(items[k]) for k in index["items"]], f"`{key}`: score ranges"
    assert len(row) > 4 and len(row[4]) > 20, f"`{key}`: say what it means"


# --------------------------------------------------------------------------------------------
# 2. Every numeric figure of a results payload
# --------------------------------------------------------------------------------------------

# GET routes whose payloads carry figures; a new one with one of these words is covered too.
RESULTS_ROUTE = re.compile(
    r"results|trends|evaluation|overview|invitations$|compar|benchmark|entries|pooled"
)
REQUIRED_ROUTES = {
    "/api/v1/rounds/{round_id}/results",
    "/api/v1/results/trends",
    "/api/v1/rounds/{round_id}/results/entries",
    "/api/v1/rounds/{round_id}/invitations",
    "/api/v1/interventions/{intervention_id}/evaluation",
}
# Numeric fields that are not figures, with the reason.
NOT_FIGURES: dict[str, str] = {
    "id": "an identifier",
    "classification_year": "a calendar year",
}


def _not_a_figure(name: str) -> bool:
    return name in NOT_FIGURES or name.endswith(("_id", "_ids"))


def _types(schema: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    if "type" in schema:
        found.add(schema["type"])
        if schema["type"] == "array":
            found |= {f"array of {t}" for t in _types(schema.get("items", {}))}
    for key in ("anyOf", "oneOf", "allOf"):
        for part in schema.get(key, []):
            found |= _types(part)
    return found


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if "$ref" in node:
            yield node["$ref"].rsplit("/", 1)[-1]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


NUMERIC = {"number", "integer", "array of number", "array of integer"}


def _numeric_fields() -> tuple[dict[str, set[str]], set[str]]:
    """Numeric property name -> the schemas that have it, over every results route's 200
    payload (schemas followed through $ref); and the routes walked."""
    document = openapi_document()
    schemas = document["components"]["schemas"]
    fields: dict[str, set[str]] = {}
    routes: set[str] = set()
    for path, operations in document["paths"].items():
        operation = operations.get("get")
        if operation is None or not RESULTS_ROUTE.search(path):
            continue
        content = operation["responses"].get("200", {}).get("content", {})
        if "application/json" not in content:
            continue
        routes.add(path)
        todo = list(_refs(content["application/json"]["schema"]))
        seen: set[str] = set()
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            for prop, spec in schemas[name].get("properties", {}).items():
                if _types(spec) & NUMERIC:
                    fields.setdefault(prop, set()).add(name)
            todo.extend(_refs(schemas[name]))
    return fields, routes


def test_the_results_routes_are_walked() -> None:
    fields, routes = _numeric_fields()
    assert routes >= REQUIRED_ROUTES, f"not walked: {sorted(REQUIRED_ROUTES - routes)}"
    for figure in ("p", "low", "high", "n", "index", "delta", "estimate", "se", "response_rate"):
        assert figure in fields, figure


def test_every_numeric_figure_is_documented() -> None:
    fields, _ = _numeric_fields()
    missing = {
        name: sorted(where)
        for name, where in fields.items()
        if not _not_a_figure(name) and f"`{name}`" not in TEXT
    }
    assert not missing, (
        "numeric fields of results payloads that docs/methods.md does not name (in backticks, "
        f"with how they are computed): {missing}"
    )


def test_every_export_column_is_documented() -> None:
    missing = [column for column in results_rows.HEADER if f"`{column}`" not in TEXT]
    assert not missing, f"results export columns docs/methods.md does not name: {missing}"


# --------------------------------------------------------------------------------------------
# 3. Worked examples, recomputed independently
# --------------------------------------------------------------------------------------------

CHECK = re.compile(r"<!-- check: (\w+)((?: [a-z0-9_]+=\S+)*) -->\n+```text\n(.*?)\n```", re.S)
REQUIRED_CHECKS = {"wilson", "item_index", "composite", "newcombe", "pooled_share", "did"}


def _pairs(text: str) -> dict[int, float]:
    """'4:18,3:23' -> {4: 18.0, 3: 23.0}."""
    return {int(k): float(v) for k, v in (pair.split(":") for pair in text.split(","))}


def _ints(text: str) -> list[int]:
    return [int(v) for v in text.split(",")]


def _repeat(pairs: dict[int, float]) -> Any:
    return np.repeat(np.array(list(pairs), dtype=float), np.array(list(pairs.values()), dtype=int))


def _t_interval(values: Any) -> dict[str, float]:
    n = len(values)
    mean = float(np.mean(values))
    sd = float(np.std(values, ddof=1))
    low, high = stats.t.interval(0.95, n - 1, loc=mean, scale=sd / math.sqrt(n))
    return {
        "n": n,
        "mean": mean,
        "sd": sd,
        "t": float(stats.t.ppf(0.975, n - 1)),
        "low": float(low),
        "high": float(high),
    }


def _wilson(a: dict[str, str]) -> dict[str, Any]:
    x, n = int(a["x"]), int(a["n"])
    low, high = proportion_confint(x, n, alpha=0.05, method="wilson")
    half = (high - low) / 2
    return {
        "p": x / n,
        "low": max(0.0, low),
        "high": min(1.0, high),
        "half": half,
        "low_precision": half > 0.10,
    }


def _distribution(a: dict[str, str]) -> dict[str, Any]:
    counts = _pairs(a["counts"])
    excluded = set(_ints(a["non_substantive_codes"]))
    n = sum(c for code, c in counts.items() if code not in excluded)
    out: dict[str, Any] = {
        "n": n,
        "non_substantive": sum(c for code, c in counts.items() if code in excluded),
    }
    out |= {f"share_{code}": c / n for code, c in counts.items() if code not in excluded}
    return out


def _multi_choice(a: dict[str, str]) -> dict[str, Any]:
    answers = [{int(code) for code in answer.split("+")} for answer in a["answers"].split(";")]
    codes = set(_ints(a["codes"]))
    n = len(answers)
    out: dict[str, Any] = {"n": n, "x": sum(1 for answer in answers if answer & codes)}
    for code in sorted(set().union(*answers)):
        count = sum(1 for answer in answers if code in answer)
        out[f"count_{code}"] = count
        out[f"share_{code}"] = count / n
    return out


def _item_index(a: dict[str, str]) -> dict[str, Any]:
    low_score, high_score = float(a["min"]), float(a["max"])
    out = _t_interval(_repeat(_pairs(a["scores"])))

    def scale(v: float) -> float:
        return 100 * (v - low_score) / (high_score - low_score)

    out |= {
        "index": scale(out["mean"]),
        "index_low": scale(out["low"]),
        "index_high": scale(out["high"]),
    }
    return out


def _composite(a: dict[str, str]) -> dict[str, Any]:
    components = int(a["components"])
    low_score, high_score = float(a["min"]), float(a["max"])
    values = []
    for respondent in a["respondents"].split(";"):
        answered = [float(s) for s in respondent.split("/") if s != "-"]
        if 2 * len(answered) >= components:
            values.append(np.mean([(s - low_score) / (high_score - low_score) for s in answered]))
    out = _t_interval(np.array(values))
    mean, low, high = out["mean"], out["low"], out["high"]
    if a["orientation"] == "higher_is_worse":
        out |= {"index": 100 - 100 * mean, "low": 100 - 100 * high, "high": 100 - 100 * low}
    else:
        out |= {"index": 100 * mean, "low": 100 * low, "high": 100 * high}
    return out


def _t975(a: dict[str, str]) -> dict[str, Any]:
    return {"value": float(stats.t.ppf(0.975, int(a["df"])))}


def _newcombe(a: dict[str, str]) -> dict[str, Any]:
    x1, n1, x2, n2 = (int(a[k]) for k in ("x1", "n1", "x2", "n2"))
    # statsmodels compares sample 1 minus sample 2: the later period goes first.
    low, high = confint_proportions_2indep(x2, n2, x1, n1, method="newcomb", compare="diff")
    return {
        "delta": x2 / n2 - x1 / n1,
        "low": float(low),
        "high": float(high),
        "significant": low > 0 or high < 0,
    }


def _welch(a: dict[str, str]) -> dict[str, Any]:
    before, after = _repeat(_pairs(a["before"])), _repeat(_pairs(a["after"]))
    result = stats.ttest_ind(after, before, equal_var=False)
    interval = result.confidence_interval(0.95)
    factor = 100 / (float(a["max"]) - float(a["min"]))
    delta = float(np.mean(after) - np.mean(before))
    return {
        "delta": delta,
        "df": float(result.df),
        "low": float(interval.low),
        "high": float(interval.high),
        "index_delta": factor * delta,
        "index_low": factor * float(interval.low),
        "index_high": factor * float(interval.high),
    }


def _columns(areas: str) -> list[Any]:
    """'1200:41:100,800:30:90' -> one float array per position: [H], [x], [n]."""
    rows = [area.split(":") for area in areas.split(",")]
    return [np.array(col, dtype=float) for col in zip(*rows, strict=True)]


def _weighted(areas: str) -> tuple[float, float]:
    """A household-weighted pooled share from 'H:x:n,...': (p, Var)."""
    h, x, n = _columns(areas)
    w, p = h / h.sum(), x / n
    return float(np.sum(w * p)), float(np.sum(w**2 * p * (1 - p) / n))


def _pooled_share(a: dict[str, str]) -> dict[str, Any]:
    p, variance = _weighted(a["areas"])
    se = math.sqrt(variance)
    return {"p": p, "se": se, "low": max(0.0, p - Z * se), "high": min(1.0, p + Z * se)}


def _pooled_unweighted(a: dict[str, str]) -> dict[str, Any]:
    cells = [area.split(":") for area in a["areas"].split(",")]
    x, n = sum(int(c[1]) for c in cells), sum(int(c[2]) for c in cells)
    low, high = proportion_confint(x, n, alpha=0.05, method="wilson")
    return {"x": x, "n": n, "p": x / n, "low": low, "high": high}


def _pooled_mean(a: dict[str, str]) -> dict[str, Any]:
    h, n, mean, sd = _columns(a["areas"])
    w = h / h.sum()
    pooled = float(np.sum(w * mean))
    se = math.sqrt(float(np.sum(w**2 * sd**2 / n)))
    low_score, high_score = float(a["min"]), float(a["max"])

    def scale(v: float) -> float:
        return 100 * (v - low_score) / (high_score - low_score)

    return {
        "mean": pooled,
        "se": se,
        "low": pooled - Z * se,
        "high": pooled + Z * se,
        "index": scale(pooled),
        "index_low": scale(pooled - Z * se),
        "index_high": scale(pooled + Z * se),
    }


def _pooled_change(a: dict[str, str]) -> dict[str, Any]:
    p1, v1 = _weighted(a["before"])
    p2, v2 = _weighted(a["after"])
    low, high = stats.norm.interval(0.95, loc=p2 - p1, scale=math.sqrt(v1 + v2))
    return {"delta": p2 - p1, "low": float(low), "high": float(high)}


def _did(a: dict[str, str]) -> dict[str, Any]:
    def cell(key: str) -> tuple[float, float]:
        x, n = (int(v) for v in a[key].split("/"))
        return x / n, (x / n) * (1 - x / n) / n

    (tb, vtb), (ta, vta), (cb, vcb), (ca, vca) = (cell(k) for k in ("tb", "ta", "cb", "ca"))
    estimate = (ta - tb) - (ca - cb)
    se = math.sqrt(vtb + vta + vcb + vca)
    low, high = stats.norm.interval(0.95, loc=estimate, scale=se)
    return {
        "estimate": estimate,
        "se": se,
        "low": float(low),
        "high": float(high),
        "significant": low > 0 or high < 0,
    }


def _response_rate(a: dict[str, str]) -> dict[str, Any]:
    responses, invitations = int(a["responses"]), int(a["invitations"])
    households = int(a["households"])
    if invitations > 0 and responses <= invitations:
        return {"rate": responses / invitations}
    return {"rate": responses / households if households else None}


def _breakdown(a: dict[str, str]) -> dict[str, Any]:
    """DESIGN.md's secondary suppression as the page states it, written afresh."""
    minimum = int(a["min"])
    groups = list(_pairs(a["groups"]).items())
    if int(a["total"]) < minimum:
        return {"hidden": [code for code, _ in groups]}
    hidden = [code for code, n in groups if n < minimum]

    def derivable() -> bool:
        return len(hidden) == 1 or (
            bool(hidden) and sum(n for code, n in groups if code in hidden) < minimum
        )

    while derivable():
        shown = [(n, position, code) for position, (code, n) in enumerate(groups)]
        shown = [entry for entry in shown if entry[2] not in hidden]
        if not shown:
            break
        hidden.append(min(shown)[2])
    return {"hidden": hidden}


def _burst(a: dict[str, str]) -> dict[str, Any]:
    series = _ints(a["series"])
    threshold = max(10, int(a["min"]), 3 * float(np.median(series)))
    return {"threshold": threshold, "flagged": [n for n in series if n >= threshold]}


def _z(a: dict[str, str]) -> dict[str, Any]:
    return {"value": Z}


# kind -> (its input keys, the independent computation)
CHECKS: dict[str, tuple[set[str], Callable[[dict[str, str]], dict[str, Any]]]] = {
    "z": (set(), _z),
    "wilson": ({"x", "n"}, _wilson),
    "distribution": ({"counts", "non_substantive_codes"}, _distribution),
    "multi_choice": ({"answers", "codes"}, _multi_choice),
    "item_index": ({"scores", "min", "max"}, _item_index),
    "t975": ({"df"}, _t975),
    "composite": ({"components", "min", "max", "orientation", "respondents"}, _composite),
    "newcombe": ({"x1", "n1", "x2", "n2"}, _newcombe),
    "welch": ({"before", "after", "min", "max"}, _welch),
    "pooled_share": ({"areas"}, _pooled_share),
    "pooled_unweighted": ({"areas"}, _pooled_unweighted),
    "pooled_mean": ({"areas", "min", "max"}, _pooled_mean),
    "pooled_change": ({"before", "after"}, _pooled_change),
    "did": ({"tb", "ta", "cb", "ca"}, _did),
    "response_rate": ({"responses", "invitations", "households"}, _response_rate),
    "breakdown": ({"total", "groups", "min"}, _breakdown),
    "burst": ({"series", "min"}, _burst),
}

EXAMPLES = CHECK.findall(TEXT)
NUMBER = re.compile(r"-?\d+(\.\d+)?")


def test_every_check_comment_is_parsed() -> None:
    comments = re.findall(r"^<!-- check:", TEXT, re.M)
    assert len(comments) == len(EXAMPLES), (
        "a check comment is malformed or not followed by a ```text block"
    )
    kinds = {kind for kind, _, _ in EXAMPLES}
    assert kinds >= REQUIRED_CHECKS, f"worked examples missing: {REQUIRED_CHECKS - kinds}"


def _agrees(given: str, computed: Any) -> bool:
    if isinstance(computed, list):
        return sorted(_ints(given)) == sorted(int(v) for v in computed)
    if given in ("true", "false"):
        return bool(computed) == (given == "true")
    if NUMBER.fullmatch(given):
        # As precise as written: 0.3187 within 0.00005, 80 exactly.
        decimals = len(given.partition(".")[2])
        return computed is not None and abs(float(computed) - float(given)) <= (
            0.5 * 10**-decimals + 1e-12
        )
    raise AssertionError(f"cannot compare {given!r}")


@pytest.mark.parametrize(
    ("kind", "arguments", "block"),
    EXAMPLES,
    ids=[f"{i}-{kind}" for i, (kind, _, _) in enumerate(EXAMPLES)],
)
def test_worked_example(kind: str, arguments: str, block: str) -> None:
    assert kind in CHECKS, f"unknown check kind {kind!r}"
    inputs, compute = CHECKS[kind]
    given = dict(pair.split("=", 1) for pair in arguments.split())
    assert inputs <= set(given), f"{kind}: needs {sorted(inputs)}"
    computed = compute(given)
    outputs = {k: v for k, v in given.items() if k not in inputs}
    assert outputs, f"{kind}: the comment states no result"
    for key, value in outputs.items():
        assert key in computed, f"{kind}: unknown result {key!r}"
        assert _agrees(value, computed[key]), f"{kind}: {key} = {computed[key]!r}, page: {value}"
        if NUMBER.fullmatch(value):
            assert value in block, f"{kind}: the example's text does not show {key} = {value}"


def test_readme_links_the_methods_page() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docs/methods.md" in readme
