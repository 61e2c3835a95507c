"""The report as one self-contained HTML page, DIR/report.html beside report.json (docs/report-schema.md#reporthtml).

Rendered from the report.json dict alone, so an old report renders as a new one does
(``nnspec report-html REPORT.json``). One file, readable offline: inline CSS and SVG (the error/budget plot drawn
by matplotlib, nnspec.conformance.report_plots), no script, no font, no network; its Content-Security-Policy
forbids any script. Every text a backend or a run provides goes through :func:`html.escape` (the plot's text,
matplotlib's SVG writer), so a message holding ``<script>`` reads as text. The same report renders to the same bytes.
"""

from __future__ import annotations

import html
import math
import re
import shlex
from collections.abc import Iterator, Mapping, Sequence
from string import Template

from nnspec.conformance import report_plots

__all__ = ["MEANINGS", "EXIT_MEANINGS", "render"]

#: Each outcome of report.OUTCOMES (same order: a cell reads the first its tests have) -> (what it means, whether
#: it fails the run). docs/report-schema.md#outcomes says it at length; a test holds the two in step.
MEANINGS: dict[str, tuple[str, bool]] = {
    "crashed": ("the process running the test died", True),
    "timeout": ("a backend call or the test ran past its time limit", True),
    "error": ("the backend raised something other than UnsupportedError, or the suite raised", True),
    "failed": ("a value outside its error budget, or the backend broke the contract", True),
    "interrupted": ("the test was running when the run was stopped", True),
    "not run": ("collected but never started: the run was stopped first", True),
    "passed": ("every check within budget (examples a known issue excused are counted: +known k/n)", False),
    "excused": ("every element checked was covered by a documented known issue: nothing was really checked",
                False),
    "unsupported": ("the backend does not declare the primitive, feature or dtype, or rejected every draw of the "
                    "test (counted: -r N)", False),
    "skipped": ("a fixed case the backend cannot run (a hyperparameter it lacks)", False),
}

#: A report's exit_status -> what it means (docs/report-schema.md#exit-status).
EXIT_MEANINGS = {
    0: "pass: every selected test passed, was excused, unsupported or skipped, and at least one check ran",
    1: "fail: a test failed, errored, timed out or crashed, or no check was executed",
    2: "interrupted (Ctrl-C or SIGTERM): this report is partial",
    5: "no test was selected",
}

_LEVEL_MARKS = {"reached": "✔", "not reached": "✘", "not declared": "–"}
_RATIO_SHOWN = ("passed", "excused", "failed")  # the outcomes whose worst error/budget means something

_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5em;color:#1d1d1f;background:#fff}
h1{font-size:1.5em;margin:0 0 .3em}h2{font-size:1.2em;margin:1.6em 0 .5em;border-bottom:1px solid #ccc}
table{border-collapse:collapse}th,td{border:1px solid #d0d0d0;padding:3px 7px;vertical-align:top}
th{background:#f3f3f3;text-align:left}code,pre{font:12.5px/1.35 ui-monospace,Menlo,Consolas,monospace}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f6f6f6;border:1px solid #ddd;padding:.5em;margin:.3em 0}
.facts th{width:12em}.matrix td{min-width:8.5em}.matrix td small{display:block;color:#444}
.o{font-weight:600}.ratio{font-variant-numeric:tabular-nums}
.o-passed{background:#d8f3dc}.o-excused{background:#fff3bf}.o-unsupported,.o-skipped,.o-none{background:#eee;color:#555}
.o-failed,.o-error,.o-timeout,.o-crashed{background:#ffd6d6;color:#7a0000}.o-interrupted,.o-not-run{background:#f3d9fa}
.badge{display:inline-block;padding:1px 8px;margin:2px;border-radius:9px;border:1px solid #999}
.status-0,.level-reached{background:#d8f3dc}.status-bad,.level-not_reached{background:#ffd6d6}
.level-not_declared{background:#eee}
article{border-left:4px solid #c00;padding:.2em .8em;margin:.8em 0}figure.plot{margin:.5em 0}
figure.plot svg{max-width:100%;height:auto}
"""

_PAGE = Template("""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>$title</title>
<style>$style</style>
</head>
<body>
<header>
<h1>$title</h1>
<p><span class="badge $status_class">exit status $exit_status: $exit_meaning</span> run $run_status</p>
<p>Levels: $levels</p>
<p>Tests: $counts</p>
</header>
<main>
<h2 id="run">Run</h2>
$facts
<h2 id="matrix">Matrix: primitive × dtype</h2>
<p>Each cell: the worst outcome of its tests; e/b: the worst error/budget (≤ 1 passes); +known k/n: a known issue
excused something in k of n examples; r rejected: draws the backend rejected as unsupported.</p>
$matrix
<h2 id="distributions">Error/budget per primitive and dtype</h2>
<p>Each mark: one test's worst error/budget over its examples (log scale; ≤ 1 passes, the red dashed line is the
budget), the tests that passed, were excused or failed; a band per dtype.</p>
$plots
<h2 id="outcomes">Outcomes</h2>
$legend
<h2 id="failures">Failures, errors and timeouts ($failure_count)</h2>
$failures
<h2 id="known">Excused by known issues ($known_count)</h2>
$known
<h2 id="environment">Environment and declarations</h2>
$environment
</main>
</body>
</html>
""")


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _slug(*parts: object) -> str:
    """An HTML id from free text: only letters, digits, '-' and '_' survive."""
    return re.sub(r"[^A-Za-z0-9_-]+", "_", "-".join(str(p) for p in parts))


def _outcome_class(outcome: str) -> str:
    return "o-" + _slug(outcome.replace(" ", "-"))


def _ratio(value: object) -> float:
    """A worst_ratio from report.json: a number, or "inf"/"nan" (JSON has no infinity)."""
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


def _flatten(value: object, prefix: str = "") -> list[tuple[str, str]]:
    """Nested maps as (dotted key, text) rows; lists joined with commas."""
    if isinstance(value, Mapping):
        rows = [row for key, item in value.items() for row in _flatten(item, f"{prefix}.{key}" if prefix else key)]
        return rows or [(prefix, "")]
    if isinstance(value, (list, tuple)):
        return [(prefix, ", ".join(map(str, value)))]
    return [(prefix, "" if value is None else str(value))]


def _rows(pairs: Sequence[tuple[str, object]]) -> str:
    body = "".join(f"<tr><th>{_e(key)}</th><td>{_e(value)}</td></tr>\n" for key, value in pairs)
    return f'<table class="facts">\n{body}</table>'


def _facts(data: Mapping) -> str:
    """The run at a glance: backend, versions, device, CPU instruction set, dtypes, profile, seed."""
    options, environment = data.get("options", {}), data.get("environment", {})
    backend, cpu = environment.get("backend", {}), environment.get("cpu", {})
    pairs = [("backend", f"{options.get('backend', '?')}: {backend.get('framework', '?')} "
                         f"{backend.get('version', '')}"),
             ("device", f"{options.get('device', '?')} ({backend.get('device_name', '?')})"),
             ("CPU", f"{cpu.get('model', '?')} {cpu.get('machine', '')}; ISA: {', '.join(cpu.get('isa', [])) or '?'}"),
             ("numerics", ", ".join(f"{k}={v}" for k, v in backend.items()
                                    if k not in ("framework", "version", "device", "device_name")) or "-"),
             ("dtypes", options.get("dtypes", "?")), ("profile", options.get("profile", "?")),
             ("seed", "the profile's fixed examples" if options.get("seed") is None else options["seed"]),
             ("known issues", "excused" if options.get("known_issues", True) else "not excused (--no-known-issues)"),
             ("nnspec", f"{data.get('nnspec_version', '?')} (report {data.get('schema', '?')}, "
                        f"created {data.get('created', '?')})")]
    pairs += [(key, environment[key]) for key in ("python", "numpy", "hypothesis", "platform") if key in environment]
    return _rows(pairs)


def _dtype_order(data: Mapping) -> list[str]:
    """The dtypes checked, in declared order (options.dtypes)."""
    return str(data.get("options", {}).get("dtypes", "")).split(",")


def _plots(data: Mapping) -> str:
    """The matplotlib figure (report_plots): each test's worst error/budget, per primitive and dtype."""
    ratios: dict[tuple[str, str], list[float]] = {}
    for case in data.get("cases", []):
        if case.get("outcome") in _RATIO_SHOWN and case.get("examples"):
            key = (str(case.get("primitive", "?")), str(case.get("dtype", "?")))
            ratios.setdefault(key, []).append(_ratio(case.get("worst_ratio")))
    figure = report_plots.distributions_svg(ratios, _dtype_order(data))
    return f'<figure class="plot">\n{figure}\n</figure>' if figure else "<p>No test made a check.</p>"


def _cell(cell: Mapping | None, anchor: str) -> str:
    """One matrix cell: outcome word (and colour), worst error/budget, +known k/n, rejected, mixed outcomes."""
    if cell is None:
        return '<td class="o-none">no test</td>'
    status = cell["status"]
    parts = [f'<span class="o">{_e(status)}</span>']
    ratio = _ratio(cell.get("worst_ratio"))
    if status in _RATIO_SHOWN and (status == "passed" or ratio != 0):
        parts.append(f' <span class="ratio">e/b {_e(f"{ratio:.2g}")}</span>')
    if cell.get("excused_examples"):
        known = f"+known {cell['excused_examples']}/{cell.get('examples', '?')}"
        parts.append(f' <a href="#known-{anchor}">{_e(known)}</a>')
    if cell.get("rejected"):
        parts.append(f" {_e(cell['rejected'])} rejected")
    outcomes = cell.get("outcomes", {})
    if len(outcomes) > 1:
        parts.append("<small>" + " · ".join(f"{_e(n)} {_e(o)}" for o, n in outcomes.items()) + "</small>")
    if MEANINGS.get(status, ("", False))[1]:
        parts.append(f'<small><a href="#fail-{anchor}">details</a></small>')
    return f'<td class="{_outcome_class(status)}" id="cell-{anchor}">{"".join(parts)}</td>'


def _matrix(data: Mapping) -> str:
    cells = {(c["primitive"], c["dtype"]): c for c in data.get("cells", [])}
    order = _dtype_order(data)
    columns = sorted({d for _, d in cells}, key=lambda d: (order.index(d) if d in order else len(order), d))
    head = "".join(f"<th>{_e(d)}</th>" for d in columns)
    rows = [f'<table class="matrix">\n<tr><th>primitive</th>{head}</tr>']
    for primitive in sorted({p for p, _ in cells}):
        row = "".join(_cell(cells.get((primitive, d)), _slug(primitive, d)) for d in columns)
        rows.append(f"<tr><th>{_e(primitive)}</th>{row}</tr>")
    return "\n".join(rows) + "\n</table>"


def _legend(data: Mapping) -> str:
    counts = data.get("summary", {})
    body = "".join(f'<tr><td class="{_outcome_class(o)}"><span class="o">{_e(o)}</span></td><td>{_e(meaning)}</td>'
                   f'<td>{"yes" if fails else "no"}</td><td>{_e(counts.get(o, 0))}</td></tr>\n'
                   for o, (meaning, fails) in MEANINGS.items())
    return f'<table>\n<tr><th>outcome</th><th>meaning</th><th>fails the run</th><th>tests</th></tr>\n{body}</table>'


def _case_file(replay: str) -> str:
    """The case file a replay command names (``nnspec replay FILE [--backend B]``), or ''."""
    try:
        words = shlex.split(replay)
    except ValueError:
        return ""
    return words[2] if words[:2] == ["nnspec", "replay"] and len(words) > 2 else ""


def _anchored(cases: Sequence[Mapping]) -> Iterator[tuple[Mapping, str, bool]]:
    """Each case with its cell's anchor, and whether it is the cell's first case (the one that carries the id)."""
    seen: set[str] = set()
    for case in cases:
        anchor = _slug(case.get("primitive"), case.get("dtype"))
        yield case, anchor, anchor not in seen
        seen.add(anchor)


def _failure(failure: Mapping) -> list[str]:
    """One distinct failure of a test: its input class, message, case file and replay command."""
    replay = failure.get("replay") or ""
    within = f" with {_e(failure['variant'])}" if failure.get("variant") else ""
    lines = [f"<h4>failure: {_e(failure['class'])}{within}</h4>"] if failure.get("class") else []
    lines.append(f'<pre class="message">{_e(failure.get("message") or "(no message)")}</pre>')
    if replay:
        return [*lines, f"<p>case file: <code>{_e(_case_file(replay) or '?')}</code></p>",
                f'<p>replay it:</p><pre class="replay"><code>{_e(replay)}</code></pre>']
    return [*lines, "<p>no case file was recorded for this test</p>"]


def _failures(cases: Sequence[Mapping]) -> str:
    """One article per test that failed, errored, timed out, crashed or never finished."""
    articles = []
    for case, anchor, first in _anchored(cases):
        outcome = str(case.get("outcome", "?"))
        distinct = case.get("failures") or [{"message": case.get("message"), "replay": case.get("replay")}]
        lines = [f'<article id="fail-{anchor}">' if first else "<article>",
                 f'<h3><span class="badge {_outcome_class(outcome)}">{_e(outcome)}</span> '
                 f'{_e(case.get("primitive"))} · {_e(case.get("dtype"))} · {_e(case.get("property"))}</h3>',
                 f"<p><code>{_e(case.get('id'))}</code></p>"]
        if len(distinct) > 1:
            lines.append(f"<p>{len(distinct)} distinct failures, one per input class (and hyperparameter variant) "
                         "or error:</p>")
        for failure in distinct:
            lines += _failure(failure)
        articles.append("\n".join(lines) + "\n</article>")
    return "\n".join(articles) or "<p>None.</p>"


def _citation(issue: str) -> str:
    return f"<code>{_e(issue)}</code>: docs/findings.md#{_e(issue)}"


def _known(cases: Sequence[Mapping]) -> str:
    """Each test in which a known issue excused something: the findings it cites and k/n examples."""
    rows = []
    for case, anchor, first in _anchored(cases):
        cite = "<br>".join(_citation(issue) for issue in case.get("known_issues", []))
        row_id, outcome = f' id="known-{anchor}"' if first else "", str(case.get("outcome", "?"))
        rows.append(f'<tr{row_id}><td>{_e(case.get("primitive"))}</td>'
                    f'<td>{_e(case.get("dtype"))}</td><td>{_e(case.get("property"))}</td>'
                    f'<td class="{_outcome_class(outcome)}">{_e(outcome)}</td>'
                    f'<td>{_e(case.get("excused_examples", 0))}/{_e(case.get("examples", 0))}</td><td>{cite}</td></tr>')
    if not rows:
        return "<p>None.</p>"
    return ('<table>\n<tr><th>primitive</th><th>dtype</th><th>property</th><th>outcome</th><th>excused k/n</th>'
            "<th>finding cited</th></tr>\n" + "\n".join(rows) + "\n</table>")


def render(data: Mapping) -> str:
    """The page for one report.json dict (schema nnspec-report/2)."""
    options, environment = data.get("options", {}), data.get("environment", {})
    backend = environment.get("backend", {})
    exit_status = data.get("exit_status", "?")
    cases = sorted(data.get("cases", []), key=lambda case: (str(case.get("primitive")), str(case.get("dtype"))))
    bad = [c for c in cases if MEANINGS.get(c.get("outcome"), ("", False))[1]]
    known = [c for c in cases if c.get("known_issues") or c.get("excused_examples")]
    counts = data.get("summary", {})
    return _PAGE.substitute(
        title=_e(f"nnspec {data.get('nnspec_version', '?')}: {options.get('backend', '?')} "
                 f"({backend.get('framework', '?')} {backend.get('version', '')}) on "
                 f"{backend.get('device_name', options.get('device', '?'))}"),
        style=_STYLE, exit_status=_e(exit_status), status_class="status-0" if exit_status == 0 else "status-bad",
        exit_meaning=_e(EXIT_MEANINGS.get(exit_status, "see docs/report-schema.md#exit-status")),
        run_status=_e(data.get("status", "?")),
        levels=" ".join(f'<span class="badge level-{_slug(v)}">{_e(_LEVEL_MARKS.get(v, "?"))} {_e(k)}: {_e(v)}</span>'
                        for k, v in data.get("levels", {}).items()),
        counts=_e(", ".join(f"{counts[o]} {o}" for o in [*MEANINGS, *sorted(set(counts) - set(MEANINGS))]
                            if o in counts) or "none"),
        facts=_facts(data), matrix=_matrix(data), plots=_plots(data), legend=_legend(data),
        failure_count=len(bad), failures=_failures(bad), known_count=len(known), known=_known(known),
        environment=_rows(_flatten(environment) + _flatten({"options": options})))
