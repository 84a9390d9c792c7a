"""The reader's edits, applied exactly: a whole file, or a diff.

A diff is unified diff without line numbers: ` ` lines stay, `-` lines go, `+` lines come;
`@@` starts another hunk; a `-…` line stands for every line between the `-` lines around it.
A hunk's ` ` and `-` lines must be found together exactly once in the file, so an edit that
no longer fits the code fails instead of landing somewhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ELISION = "…"


class EditError(ValueError):
    """The edit does not fit the file as it is."""


@dataclass(frozen=True)
class Hunk:
    # What is there now: runs of lines, with any lines at all between one run and the next.
    old: tuple[tuple[str, ...], ...]
    new: tuple[str, ...]


def write_file(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")


def apply_diff(path: Path, diff: str) -> None:
    if not path.is_file():
        raise EditError(f"{path} does not exist")
    text = path.read_text()
    lines = text.splitlines()
    for hunk in parse_diff(diff):
        lines = apply_hunk(lines, hunk)
    path.write_text("\n".join(lines) + ("\n" if text.endswith("\n") or not text else ""))


def parse_diff(diff: str) -> list[Hunk]:
    hunks: list[Hunk] = []
    runs: list[list[str]] = [[]]
    new: list[str] = []
    previous = ""

    def close() -> None:
        if previous == "elided":
            raise EditError(f"diff: -{ELISION} must be followed by a - line")
        if any(runs) or new:
            hunks.append(Hunk(tuple(tuple(run) for run in runs), tuple(new)))

    for number, line in enumerate(diff.splitlines(), start=1):
        if line.startswith("@@"):
            close()
            runs, new, previous = [[]], [], ""
            continue
        # An editor may strip a context line's only space: an empty line is context.
        sign, content = (line[:1], line[1:]) if line else (" ", "")
        if sign == "-" and content == ELISION:
            if previous != "-":
                raise EditError(f"diff line {number}: -{ELISION} must follow a - line")
            runs.append([])
        elif sign in {" ", "-"}:
            if previous == "elided" and sign != "-":
                raise EditError(f"diff line {number}: -{ELISION} must be followed by a - line")
            runs[-1].append(content)
            if sign == " ":
                new.append(content)
        elif sign == "+":
            new.append(content)
        else:
            raise EditError(f"diff line {number} starts with neither ' ', '-', '+' nor '@@'")
        previous = "elided" if sign == "-" and content == ELISION else sign
    close()
    return hunks


def apply_hunk(lines: list[str], hunk: Hunk) -> list[str]:
    matches = [
        span for start in range(len(lines)) if (span := _match(lines, hunk.old, start)) is not None
    ]
    if len(matches) != 1:
        where = "nowhere" if not matches else f"{len(matches)} times"
        first = next((line for run in hunk.old for line in run), "")
        raise EditError(f"the lines to change (from {first!r}) are found {where}")
    start, end = matches[0]
    return [*lines[:start], *hunk.new, *lines[end:]]


def _match(
    lines: list[str], runs: tuple[tuple[str, ...], ...], start: int
) -> tuple[int, int] | None:
    """(start, end) if the runs match from `start`, each after the one before at the nearest
    place."""
    position = start
    for number, run in enumerate(runs):
        if number == 0:
            if not _at(lines, run, position):
                return None
        else:
            found = next(
                (at for at in range(position, len(lines) + 1) if _at(lines, run, at)), None
            )
            if found is None:
                return None
            position = found
        position += len(run)
    return (start, position) if position > start else None


def _at(lines: list[str], run: tuple[str, ...], position: int) -> bool:
    return tuple(lines[position : position + len(run)]) == run
