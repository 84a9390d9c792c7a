"""Reading the setups' junit files, comparing them, and writing the summary."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from tests.conformance.piccolo_suite.setups import CONTEXT_PAIRS, PAIRS, SETUPS

STATUSES = ("passed", "skipped", "failed", "error")  # a repeated test keeps its worst


@dataclass(frozen=True)
class Outcome:
    status: str  # one of STATUSES
    message: str = ""

    def describe(self) -> str:
        return f"{self.status}: {self.message}" if self.message else self.status


@dataclass
class Run:
    """One setup's outcomes by pytest node id; `missing` when it left no junit file."""

    tests: dict[str, Outcome] = field(default_factory=dict)
    missing: bool = False

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(STATUSES, 0)
        for outcome in self.tests.values():
            counts[outcome.status] += 1
        return counts


@dataclass(frozen=True)
class Difference:
    test: str
    stock: Outcome | None
    ours: Outcome | None
    # The test run again alone on both sides: "stock / ours" statuses, and whether that gave
    # the same two outcomes again (a real difference) or not (flaky, or order-dependent).
    rerun: str = ""
    reproduced: bool | None = None


def _message(element: ET.Element, limit: int = 3) -> str:
    """The first `E ` lines of pytest's report, else the element's message."""
    errors = [line[1:].strip() for line in (element.text or "").splitlines() if line[:2] == "E "]
    lines = [line for line in errors if line] or [element.get("message", "").strip()]
    return " | ".join(lines[:limit])[:400]


def node_id(case: ET.Element, root: Path) -> str:
    """pytest's node id, from the case's classname (module path, then classes) and name; not
    from xunit's file=, which names the file a method is defined in (a mixin's module)."""
    parts = (case.get("classname") or "").split(".")
    for cut in range(len(parts), 0, -1):
        path = "/".join(parts[:cut]) + ".py"
        if (root / path).is_file():
            return "::".join([path, *parts[cut:], case.get("name", "")])
    return "::".join([*parts, case.get("name", "")])


def read_junit(path: Path, root: Path) -> Run:
    if not path.is_file():
        return Run(missing=True)
    run = Run()
    for case in ET.parse(path).getroot().iter("testcase"):
        outcome = Outcome("passed")
        for tag, status in (("skipped", "skipped"), ("failure", "failed"), ("error", "error")):
            element = case.find(tag)
            if element is not None:
                outcome = Outcome(status, _message(element))
        identifier = node_id(case, root)
        previous = run.tests.get(identifier)
        if previous is None or STATUSES.index(outcome.status) > STATUSES.index(previous.status):
            run.tests[identifier] = outcome
    return run


def _status(outcome: Outcome | None) -> str | None:
    return outcome.status if outcome else None


def differences(stock: Run, ours: Run, reruns: tuple[Run, Run] | None = None) -> list[Difference]:
    """The tests whose status differs between `stock` and `ours`, with their reruns if given."""
    found = []
    for test in sorted(stock.tests.keys() | ours.tests.keys()):
        before, after = stock.tests.get(test), ours.tests.get(test)
        if _status(before) == _status(after):
            continue
        if reruns is None:
            found.append(Difference(test, before, after))
            continue
        again = (_status(reruns[0].tests.get(test)), _status(reruns[1].tests.get(test)))
        rerun = " / ".join(status or "-" for status in again)
        same = again == (_status(before), _status(after))
        found.append(Difference(test, before, after, rerun, same))
    return found


def _cell(outcome: Outcome | None) -> str:
    text = outcome.describe() if outcome else "absent"
    return text.replace("|", "\\|").replace("\n", " ")


def _counts_table(runs: dict[str, Run]) -> list[str]:
    lines = [
        "| setup | engine | passed | failed | errors | skipped | total |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for key, run in runs.items():
        setup = SETUPS[key]
        if run.missing:
            lines.append(f"| {setup.name} | {setup.description} | no junit file (see its log) |")
            continue
        c = run.counts()
        lines.append(
            f"| {setup.name} | {setup.description} | {c['passed']} | {c['failed']} | "
            f"{c['error']} | {c['skipped']} | {sum(c.values())} |"
        )
    return lines


def _pair_section(stock_key: str, ours_key: str, found: list[Difference]) -> list[str]:
    stock, ours = SETUPS[stock_key].name, SETUPS[ours_key].name
    lines = ["", f"### {stock} → {ours}: {len(found)} differing", ""]
    rerun = any(difference.reproduced is not None for difference in found)
    if found:
        lines.append(f"| test | {stock} | {ours} |" + (" rerun alone | reproduced |" * rerun))
        lines.append("|---|---|---|" + ("---|---|" * rerun))
    for difference in found:
        cells = [f"`{difference.test}`", _cell(difference.stock), _cell(difference.ours)]
        if rerun:
            cells += [difference.rerun, "yes" if difference.reproduced else "no"]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _failing_on_both(runs: dict[str, Run]) -> list[str]:
    """The tests failing on the stock and the ours side of a pair alike, with the pairs."""
    failing = ("failed", "error")
    pairs: dict[str, list[str]] = {}
    outcomes: dict[str, Outcome] = {}
    for stock_key, ours_key in PAIRS:
        if stock_key in runs and ours_key in runs:
            ours = runs[ours_key].tests
            for test, outcome in runs[stock_key].tests.items():
                if outcome.status in failing and _status(ours.get(test)) in failing:
                    pairs.setdefault(test, []).append(stock_key + ours_key)
                    outcomes.setdefault(test, outcome)
    return [
        f"- `{test}` ({', '.join(pairs[test])}): {_cell(outcomes[test])}" for test in sorted(pairs)
    ]


def compare(
    runs: dict[str, Run], reruns: dict[str, Run]
) -> dict[tuple[str, str], list[Difference]]:
    """The differences of every pair whose two setups ran, with the reruns where there are."""
    compared = {}
    for stock_key, ours_key in PAIRS + CONTEXT_PAIRS:
        if stock_key in runs and ours_key in runs:
            again = None
            if (stock_key, ours_key) in PAIRS and stock_key in reruns and ours_key in reruns:
                again = (reruns[stock_key], reruns[ours_key])
            compared[stock_key, ours_key] = differences(runs[stock_key], runs[ours_key], again)
    return compared


def write_summary(
    out: Path,
    environment: dict[str, str],
    runs: dict[str, Run],
    compared: dict[tuple[str, str], list[Difference]],
) -> str:
    """OUT/summary.md (returned) and OUT/summary.json."""
    lines = ["# Piccolo's test suite: stock engines vs Bandstand's", ""]
    lines += [f"- {key}: {value}" for key, value in environment.items()]
    lines += ["", *_counts_table(runs)]
    for title, pairs in (("Stock vs ours", PAIRS), ("Context", CONTEXT_PAIRS)):
        lines += ["", f"## {title}"]
        for pair in pairs:
            if pair in compared:
                lines += _pair_section(*pair, compared[pair])
    lines += ["", "## Failed on both sides of a pair (not an engine difference)", ""]
    lines += _failing_on_both(runs)
    summary = "\n".join(lines) + "\n"
    (out / "summary.md").write_text(summary)
    data = {
        "environment": environment,
        "setups": {
            SETUPS[key].name: {
                "counts": run.counts(),
                "not_passed": {
                    test: [o.status, o.message]
                    for test, o in run.tests.items()
                    if o.status != "passed"
                },
            }
            for key, run in runs.items()
        },
        "pairs": {
            f"{SETUPS[stock].name} → {SETUPS[ours].name}": [
                {
                    "test": d.test,
                    "stock": _cell(d.stock),
                    "ours": _cell(d.ours),
                    "rerun": d.rerun,
                    "reproduced": d.reproduced,
                }
                for d in found
            ]
            for (stock, ours), found in compared.items()
        },
    }
    (out / "summary.json").write_text(json.dumps(data, indent=2) + "\n")
    return summary
