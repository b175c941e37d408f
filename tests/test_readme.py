"""The README's API walk runs, as written, against a fresh demo, and leaves the demo's examples
working.

Which blocks run: every ```sh block in the section "## The API in one walk" (its "### Results"
included, up to the next "## " heading), then those of "## Bring your history" before its first
"### " subsection (the worked import of a LimeSurvey export), in order, in one bash process (so
variables such as H and API carry from block to block). The other sections' blocks (Quick
start, Command line, operators' commands) are for a person's own machine: they install, serve,
back up or list commands. Two lines are rewritten and must exist exactly once: `KEY=…` gets the
demo's admin key and `API=http://127.0.0.1:8000/api/v1` the live test server's address. The
script runs with `set -eu` and `curl` wrapped to add `--fail-with-body`, so any HTTP error or
failing command fails the test; it runs in a temporary directory that sees the repository's
`src/` (the walk reads the standard questionnaire from there), so its output files land there.

Then the README's own read-only examples under "### Results" (`curl -s -H "$H" "$API/…"`
without `-o`) are fetched again and must still show figures: the evaluation a DiD estimate, a
trend no suppressed point and no point from the walk's round.
"""

import re
import subprocess
from pathlib import Path
from typing import Any

import httpx

from survey_api import migrate
from survey_api.db import make_engine, make_sessionmaker
from survey_api.demo import load_demo
from survey_api.rounds.service import today
from tests.conftest import serve, settings_for

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
WALK_HEADING = "## The API in one walk"
# Its ```sh blocks run after the walk's, in the same process (a historical round, an import).
HISTORY_HEADING = "## Bring your history"
PRELUDE = """set -eu
curl() { command curl --fail-with-body --show-error "$@"; echo; }
"""


def _section(text: str, heading: str) -> str:
    """From the heading to the next heading of the same or a higher level (outside code)."""
    level = len(heading.split(" ")[0])
    lines = text.splitlines(keepends=True)
    start = lines.index(f"{heading}\n")
    in_code = False
    for end in range(start + 1, len(lines)):
        line = lines[end]
        in_code ^= line.startswith("```")
        hashes = len(line) - len(line.lstrip("#"))
        if not in_code and 0 < hashes <= level and line[hashes : hashes + 1] == " ":
            return "".join(lines[start:end])
    return "".join(lines[start:])


def _blocks(text: str, heading: str = WALK_HEADING) -> list[str]:
    """The ```sh blocks of a section and its subsections, in order."""
    section = _section(text, heading)
    return re.findall(r"^```sh\n(.*?)^```$", section, flags=re.MULTILINE | re.DOTALL)


def _load_demo(url: str) -> str:
    """A fresh database with the demo; returns the demo's admin key."""
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as session:
            report = load_demo(session, base_url="http://testserver.invalid")
            session.commit()
    finally:
        engine.dispose()
    key = re.search(r"Admin API key \(shown once; store it\): (sak_\S+)", report)
    assert key, report
    return key.group(1)


def _script(blocks: list[str], key: str, api: str) -> str:
    script = "\n".join(blocks)
    script, keys = re.subn(r"^KEY=.*$", f"KEY={key}", script, flags=re.MULTILINE)
    script, apis = re.subn(
        r"^API=http://127\.0\.0\.1:8000/api/v1$", f"API={api}", script, flags=re.MULTILINE
    )
    assert (keys, apis) == (1, 1), "the walk must set KEY= and API=… once each"
    return PRELUDE + script


def _check_example(path: str, body: Any) -> None:
    """A Results example still shows figures after the walk."""
    if "/evaluation" in path:
        assert body["did"] is not None, body["interpretation"]
        assert not body["interpretation"].startswith("Too few answers")
        assert body["after_period"] == str(today().year), body["period_note"]
    if "/results/trends" in path and "questionnaire=trygghetsmatning-standard" in path:
        periods = [p["period"] for p in body["points"]]
        # Four demo years: two imported (answer counts, a LimeSurvey export), two collected.
        assert len(periods) == 4 and all("-" not in p for p in periods), periods
        assert [p["source"] for p in body["points"]][:2] == ["imported_tallies", "imported"]
        # A composite index needs each respondent's answers: unavailable, with the reason.
        first = body["points"][0]
        assert (first["unavailable_reason"] is not None) == ("index=" in path), first
        assert not any(p["suppressed"] for p in body["points"]), body["points"]
    elif "/results/trends" in path:
        # The kundenkät's three collected autumns.
        points = body["points"]
        assert [p["questionnaire_key"] for p in points] == ["kundenkat-standard"] * 3, points
        assert all(p["source"] == "collected" and not p["suppressed"] for p in points), points
    if re.fullmatch(r"/areas/\d+/overview.*", path):
        # The latest period: both surveys side by side, every index shown.
        keys = [s["questionnaire_key"] for s in body["surveys"]]
        assert keys == ["kundenkat-standard", "trygghetsmatning-standard"], keys
        rounds = [r for s in body["surveys"] for r in s["rounds"]]
        assert all(i["index"] is not None for r in rounds for i in r["indices"]), rounds
    if re.fullmatch(r"/rounds/\d+/results.*", path):
        assert body["areas"] and any(
            not item["suppressed"] for area in body["areas"] for item in area["items"]
        )


def test_the_readme_walk_runs_and_leaves_the_demo_examples_working(tmp_path: Path) -> None:
    text = README.read_text(encoding="utf-8")
    blocks = _blocks(text)
    assert len(blocks) >= 2, "the walk and its Results examples are ```sh blocks"
    history = _blocks(text, HISTORY_HEADING)
    assert history, "Bring your history imports a LimeSurvey export in a ```sh block"
    blocks += history
    url = f"sqlite:///{tmp_path / 'readme.sqlite'}"
    work = tmp_path / "walk"
    work.mkdir()
    (work / "src").symlink_to(ROOT / "src", target_is_directory=True)
    key = _load_demo(url)
    with serve(settings_for(url)) as live:
        api = f"{live.base_url}/api/v1"
        run = subprocess.run(
            ["bash", "-c", _script(blocks, key, api)],
            cwd=work,
            capture_output=True,
            text=True,
            timeout=120,
        )
        # The last output shows the failing command's answer (the earlier ones are long).
        assert run.returncode == 0, f"a README command failed:\n{run.stdout[-3000:]}\n{run.stderr}"
        # The LimeSurvey export of "Bring your history" is clean, imported once, then replayed.
        assert '"problems_total":0' in run.stdout and '"rows_stored":3' in run.stdout
        assert '"replayed":true' in run.stdout and '"problems":[{' not in run.stdout
        examples = re.findall(
            r'^curl -s -H "\$H" "\$API(/[^"]+)"(?! -o)', _section(text, "### Results"), re.M
        )
        assert any("/evaluation" in e for e in examples) and any("/trends" in e for e in examples)
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=api, headers=headers, timeout=60) as client:
            for path in examples:
                response = client.get(path)
                assert response.status_code == 200, f"{path}: {response.text}"
                _check_example(path, response.json())
    assert (work / "resultat.xlsx").stat().st_size > 0
