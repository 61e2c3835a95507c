"""report.html: one self-contained page per report that shows every outcome, every failure with its replay
command and every excuse with the finding it cites; nothing a backend wrote can run as script in it.

The browser tests open the page in headless Chromium (the Debian package; .ci/run installs it). Without Chromium
they are skipped, except under CI (``CI`` set), where they fail: CI cannot pass without a browser having looked.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from nnspec.cli import main
from nnspec.conformance import report, report_html, report_plots

ROOT = Path(__file__).resolve().parents[2]
#: What a hostile backend may write into a message, a device name or a known-issue id.
HOSTILE = '</pre><script>document.title="PWNED"</script><img src=x onerror="document.body.dataset.pwned=1">'
#: The primitive each outcome's cell belongs to, in float32 (float64 passes everywhere).
PRIMITIVES = dict(zip(report.OUTCOMES, ("relu", "gelu", "tanh", "softplus", "sigmoid", "softmax", "identity",
                                        "leaky_relu", "adam", "dense")))
BAD = [o for o, (_, fails) in report_html.MEANINGS.items() if fails]


def _case(primitive: str, dtype: str, outcome: str, **extra) -> dict:
    case = {"id": f"conformance/test_x.py::test_{primitive}[{dtype}]", "test": f"test_{primitive}",
            "primitive": primitive, "property": "forward", "dtype": dtype, "outcome": outcome, "worst_ratio": 0.25,
            "examples": 10, "excused_examples": 0, "rejected": 0, "rejected_reasons": [], "duration": 0.1,
            "message": "", "replay": "", "known_issues": []}
    return {**case, **extra}


def _cases() -> list[dict]:
    cases = [_case(p, "float64", "passed") for p in PRIMITIVES.values()]
    for outcome, primitive in PRIMITIVES.items():
        extra = {}
        if outcome in BAD:
            extra = {"message": f"{primitive} float32 broke: {HOSTILE}", "worst_ratio": "inf",
                     "replay": f"nnspec replay 'reports/x/failures/{primitive} case.json' --backend fw:Fw"}
        if outcome == "excused":
            extra = {"excused_examples": 10, "known_issues": ["fw-leaky-relu-grad"]}
        if outcome == "passed":
            extra = {"excused_examples": 2, "known_issues": ["fw-identity-nan"], "rejected": 3}
        cases.append(_case(primitive, "float32", outcome, **extra))
    return cases


def _report() -> dict:
    """A report holding every outcome once (in float32) and hostile text where a backend provides text."""
    cases = _cases()
    cells = [{"primitive": c["primitive"], "dtype": c["dtype"], "status": c["outcome"],
              "worst_ratio": c["worst_ratio"], "tests": 1, "outcomes": {c["outcome"]: 1}, "examples": c["examples"],
              "excused_examples": c["excused_examples"], "rejected": c["rejected"], "known_issues": c["known_issues"]}
             for c in cases]
    summary: dict[str, int] = {}
    for case in cases:
        summary[case["outcome"]] = summary.get(case["outcome"], 0) + 1
    return {"schema": report.SCHEMA, "nnspec_version": "0.1.0", "created": "2026-01-01T00:00:00+00:00",
            "status": "interrupted", "exit_status": 2,
            "options": {"backend": "fw:Fw", "device": "cpu", "dtypes": "float64,float32", "profile": "ci",
                        "seed": None, "known_issues": True},
            "environment": {"python": "3.11", "cpu": {"model": "EPYC", "machine": "x86_64", "isa": ["avx2", "avx512f"]},
                            "backend": {"framework": "fw", "version": "1.0", "device_name": HOSTILE,
                                        "cpu_capability": "AVX512"}},
            "summary": summary, "levels": {"core-float64": "reached", "core-float32": "not reached",
                                           "optimizers": "not declared"},
            "cells": cells, "cases": cases}


class _Page(HTMLParser):
    """Every start tag with its attributes, the text of each table cell, all text, and the tag nesting."""

    VOID = {"meta", "img", "br", "hr", "link", "input", "col", "wbr", "line"}

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.cells: dict[str, str] = {}
        self.text: list[str] = []
        self.open: list[str] = []
        self.unbalanced: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if not self.open or self.open.pop() != tag:
            self.unbalanced.append(tag)

    def handle_data(self, data):
        self.text.append(data)
        ids = [attrs.get("id") for tag, attrs in self.tags if tag == "td"]
        if self.open and "td" in self.open and ids and ids[-1]:
            self.cells[ids[-1]] = self.cells.get(ids[-1], "") + data


@pytest.fixture(scope="module")
def page() -> str:
    return report_html.render(_report())


def test_report_html_meanings_are_the_schema_outcomes():
    documented = dict(re.findall(r"^\| `([a-z ]+)` \| .* \| (yes|no)\b", (ROOT / "docs/report-schema.md").read_text(),
                                 re.MULTILINE))
    assert tuple(report_html.MEANINGS) == report.OUTCOMES
    fails = {outcome: fails for outcome, (_, fails) in report_html.MEANINGS.items()}
    assert fails == {outcome: column == "yes" for outcome, column in documented.items()}


def test_report_html_is_one_balanced_html5_document(page):
    parsed = _Page(page)
    assert page.startswith("<!DOCTYPE html>\n<html lang=\"en\">")
    assert not parsed.unbalanced and not parsed.open, (parsed.unbalanced, parsed.open)
    assert [tag for tag, _ in parsed.tags].count("title") == 1
    assert page == report_html.render(_report())  # stable: the same report, the same bytes


def test_report_html_loads_nothing_from_outside(page):
    parsed = _Page(page)
    assert not [t for t, _ in parsed.tags if t in ("script", "link", "iframe", "object", "embed")]
    assert not [a for t, a in parsed.tags if t == "img" or a.get("src")]
    assert all(a["href"].startswith("#") for _, a in parsed.tags if "href" in a)


def test_report_html_shows_hostile_text_as_text(page):
    parsed = _Page(page)
    assert not [a for _, a in parsed.tags if any(name.startswith("on") for name in a)]
    assert HOSTILE in "".join(parsed.text) and f"broke: {HOSTILE}" in "".join(parsed.text)


def test_report_html_matrix_shows_every_outcome_with_its_colour(page):
    cells = _Page(page).cells
    for outcome, primitive in PRIMITIVES.items():
        text = cells[f"cell-{primitive}-float32"]
        assert text.startswith(outcome), (outcome, text)
        assert f'class="o-{outcome.replace(" ", "-")}" id="cell-{primitive}-float32"' in page
    assert "e/b inf" in cells["cell-softplus-float32"] and "e/b 0.25" in cells["cell-relu-float64"]
    assert "+known 2/10" in cells["cell-identity-float32"] and "3 rejected" in cells["cell-identity-float32"]
    assert "not declared" in page and "exit status 2: interrupted" in page and "avx512f" in page


def test_report_html_gives_every_failure_its_message_case_file_and_replay(page):
    failures = page.split('<h2 id="failures">')[1].split('<h2 id="known">')[0]
    assert failures.count("<article") == len(BAD)
    for outcome in BAD:
        primitive = PRIMITIVES[outcome]
        assert f'id="fail-{primitive}-float32"' in failures and f"{primitive} float32 broke: " in failures
        assert f"case file: <code>reports/x/failures/{primitive} case.json</code>" in failures
        assert f"nnspec replay &#x27;reports/x/failures/{primitive} case.json&#x27; --backend fw:Fw" in failures


def test_report_html_cites_the_finding_of_every_excuse(page):
    known = page.split('<h2 id="known">')[1]
    assert "docs/findings.md#fw-leaky-relu-grad" in known and "docs/findings.md#fw-identity-nan" in known
    assert "<td>10/10</td>" in known and "<td>2/10</td>" in known and 'id="known-leaky_relu-float32"' in known


def test_report_html_command_renders_an_existing_report(tmp_path, capsys):
    (tmp_path / "report.json").write_text(json.dumps(_report()))
    assert main(["report-html", str(tmp_path)]) == 0
    assert (tmp_path / "report.html").read_text() == report_html.render(_report())
    (tmp_path / "other.json").write_text('{"schema": "other"}')
    assert main(["report-html", str(tmp_path / "other.json"), "-o", str(tmp_path / "x.html")]) == 4
    assert "not an nnspec report" in capsys.readouterr().err and not (tmp_path / "x.html").exists()


def test_report_html_is_written_by_a_run(tmp_path, nnspec_cli):
    done = nnspec_cli("run", "--backend", "reference", "--dtype", "float32", "--profile", "quick", "--jobs", "0",
                      "-k", "relu", "--report", "out", cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    page = (tmp_path / "out" / "report.html").read_text()
    assert page == report_html.render(json.loads((tmp_path / "out" / "report.json").read_text()))
    assert 'id="cell-relu-float32"' in page


def _plot(page: str) -> str:
    return page.split('<figure class="plot">')[1].split("</figure>")[0]


def test_report_html_draws_the_error_budget_plot_with_matplotlib(page):
    plot = _Page(_plot(page))
    labels = [text.strip() for text in plot.text if text.strip()]
    assert [tag for tag, _ in plot.tags][0] == "svg" and "Matplotlib" not in page  # no creator, no date
    assert set(PRIMITIVES.values()) <= set(labels)  # each has a passed float64 test: a row each
    assert {"float64", "float32", "failed (> 1)", "1"} <= set(labels)
    assert not [t for t, a in plot.tags if t in ("script", "foreignobject") or any(n.startswith("on") for n in a)]


def test_report_html_plot_escapes_names_and_shows_dollars_literally():
    data = _report()
    data["cases"].append(_case("<b>x</b>$y$", "float32", "passed"))
    plot = _Page(_plot(report_html.render(data)))
    assert "<b>x</b>$y$" in [text.strip() for text in plot.text] and "b" not in [t for t, _ in plot.tags]


def test_report_html_plot_ignores_the_users_matplotlib_settings(page):
    import matplotlib

    before = dict(matplotlib.rcParams)
    with matplotlib.rc_context({"font.size": 31, "svg.hashsalt": None, "lines.linewidth": 9}):
        assert report_html.render(_report()) == page
    assert dict(matplotlib.rcParams) == before


def test_report_html_plot_depends_on_the_ratios_and_places_extremes_at_its_edges():
    data = _report()
    data["cases"][0] = {**data["cases"][0], "worst_ratio": 1e-3}
    assert _plot(report_html.render(data)) != _plot(report_html.render(_report()))
    placed = [report_plots._placed(float(r)) for r in (0.0, 1e-9, 0.5, 7.0, 1e5, "inf", "nan")]
    assert placed == [report_plots.LOWEST, report_plots.LOWEST, 0.5, 7.0] + [report_plots.HIGHEST] * 3


def test_report_html_renders_an_empty_or_old_report():
    page = report_html.render({"schema": "nnspec-report/1"})
    assert "No test made a check." in page and "<svg" not in page and "<script" not in page
    old = _report()
    for case in old["cases"]:
        case.pop("failures", None)
        case.pop("examples")
    assert "No test made a check." in report_html.render(old)


def test_report_html_names_each_failures_class_and_variant():
    data = _report()
    failures = [{"class": "normal", "variant": "amsgrad", "message": "a", "replay": ""},
                {"class": "normal", "variant": "weight_decay>0", "message": "w", "replay": ""},
                {"class": "huge", "message": "an old report's failure: no variant", "replay": ""}]
    data["cases"] = [*data["cases"], _case("adam", "float64", "failed", failures=failures)]
    page = report_html.render(data)
    assert "<h4>failure: normal with amsgrad</h4>" in page and "<h4>failure: huge</h4>" in page
    assert "<h4>failure: normal with weight_decay&gt;0</h4>" in page and "3 distinct failures" in page


@pytest.fixture
def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not on PATH: CI must install it (.ci/run), the HTML report is untested without")
        pytest.skip("chromium is not on PATH (apt-get install chromium); under CI this test fails instead")
    return found


def _browse(chromium: str, tmp_path: Path, *flags: str) -> subprocess.CompletedProcess:
    (tmp_path / "report.html").write_text(report_html.render(_report()), encoding="utf-8")
    return subprocess.run([chromium, "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run",
                           f"--user-data-dir={tmp_path / 'profile'}", *flags, (tmp_path / "report.html").as_uri()],
                          capture_output=True, text=True, timeout=180, cwd=tmp_path)


def test_report_html_opens_in_chromium_with_matrix_and_no_script(chromium, tmp_path):
    done = _browse(chromium, tmp_path, "--dump-dom")
    dom = done.stdout
    assert done.returncode == 0 and '<table class="matrix">' in dom, done.stderr[-2000:]
    assert dom.count("<svg") == 1 and 'id="error-budget-plot"' in dom and 'id="cell-sigmoid-float32"' in dom
    assert "<title>PWNED</title>" not in dom and "data-pwned" not in dom and "<script" not in dom
    assert "&lt;script&gt;" in dom


def test_report_html_renders_to_a_screenshot_in_chromium(chromium, tmp_path):
    done = _browse(chromium, tmp_path, "--hide-scrollbars", "--window-size=1200,1600",
                   f"--screenshot={tmp_path / 'page.png'}")
    shot = tmp_path / "page.png"
    assert done.returncode == 0 and shot.exists(), done.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
