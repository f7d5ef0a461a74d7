"""The report in headless Chromium (Debian's package): it loads without errors, the charts
and a known task's transcript are in the DOM after load, and a screenshot is kept in
tests/artifacts/ for people to look at."""

from __future__ import annotations

import html
import shutil
import subprocess
from pathlib import Path

import pytest

from evaluator.report import write_report
from tests.evaluator.report.conftest import SmallRun

pytestmark = pytest.mark.slow

ARTIFACTS = Path(__file__).parents[2] / "artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def chromium(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (scripts/ensure-chromium.sh installs it)"
)
def test_the_report_loads_in_chromium(small_run: SmallRun, tmp_path: Path) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = ARTIFACTS / "report.html"
    write_report(small_run.result_paths, [small_run.trace_file], page)
    url = page.resolve().as_uri()

    dumped = chromium(tmp_path / "profile-dom", "--dump-dom", url)
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    dom = dumped.stdout
    # The inline script runs last: an error anywhere before it leaves the marker unset.
    assert 'data-report-ready="yes"' in dom, "the page's script did not run to its end"
    assert dom.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart"') >= 7
    oracle = small_run.results[0]
    known = next(t for t in oracle.trials if t.success and t.turn_records)
    reply = known.turn_records[0].reply_text
    assert reply is not None
    assert f'data-agent="oracle" data-task="{html.escape(known.task_id)}"' in dom
    assert html.escape(reply, quote=False) in dom

    screenshot = ARTIFACTS / "report.png"
    screenshot.unlink(missing_ok=True)
    shot = chromium(
        tmp_path / "profile-shot", f"--screenshot={screenshot}", "--window-size=1400,2400", url
    )
    assert shot.returncode == 0, shot.stderr[-2000:]
    data = screenshot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(data) > 50_000  # a blank page of this size compresses to a few kilobytes
