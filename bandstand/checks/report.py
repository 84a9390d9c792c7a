"""Findings as text: grouped by level, what was verified first and the errors last, next to
the count, as Django's `System check identified N issues`."""

from __future__ import annotations

from collections.abc import Sequence

from bandstand.checks.findings import Finding, Level

GROUPS = ((Level.INFO, "INFO"), (Level.WARNING, "WARNINGS"), (Level.ERROR, "ERRORS"))


def format_report(findings: Sequence[Finding], *, silenced: int = 0) -> str:
    lines: list[str] = []
    for level, title in GROUPS:
        group = [finding for finding in findings if finding.level is level]
        if not group:
            continue
        lines += ["", f"{title}:"] if lines else [f"{title}:"]
        for finding in group:
            lines.append(f"  {finding.id}: {finding.message}")
            if finding.hint:
                lines.append(f"      HINT: {finding.hint}")
    lines += ["", summary(findings, silenced=silenced)]
    return "\n".join(lines)


def summary(findings: Sequence[Finding], *, silenced: int = 0) -> str:
    errors = sum(finding.level is Level.ERROR for finding in findings)
    warnings = sum(finding.level is Level.WARNING for finding in findings)
    if not errors + warnings:
        return f"System check identified no issues ({silenced} silenced)."
    issues = "1 issue" if errors + warnings == 1 else f"{errors + warnings} issues"
    return (
        f"System check identified {issues} ({_plural(errors, 'error')}, "
        f"{_plural(warnings, 'warning')}, {silenced} silenced)."
    )


def has_errors(findings: Sequence[Finding]) -> bool:
    return any(finding.level is Level.ERROR for finding in findings)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
