"""A tutorial's Markdown as the steps the runner takes (the convention is in
docs/tutorials/README.md): fenced blocks whose info string says what to do with them, and
`<!-- runner: … -->` comments for what a reader does in a browser. Prose is for people.

Anything that looks meant for the runner but isn't understood is an error, so a typo can
never turn a step into something silently skipped.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

FENCE = re.compile(r"^(?P<fence>`{3,})(?P<info>[^`]*)$")
DIRECTIVE = re.compile(r"^<!--\s*runner:(?P<words>.*?)-->\s*$")
# What each directive's verb takes: a fixed number of words, or at least that many (+).
VERBS: Mapping[str, tuple[int, bool]] = {
    "login": (2, False),  # login USER PASSWORD
    "admin-add": (2, False),  # admin-add TABLE JSON
    "chat": (1, False),  # chat MESSAGE
    "lacks": (2, True),  # lacks PATH TEXT…
    "stop": (0, False),  # stop (the site, as Ctrl-C)
}


class TutorialSyntaxError(ValueError):
    """The tutorial asks the runner for something it does not understand."""


@dataclass(frozen=True)
class Block:
    """A fenced block; `line` is its opening fence's (1-based), for messages."""

    line: int
    language: str
    text: str
    flags: frozenset[str] = frozenset()
    options: Mapping[str, str] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        """command, server, write, edit, output, page or show (display only)."""
        if "file" in self.options:
            return "edit" if self.language == "diff" else "write"
        if self.language == "sh":
            return "server" if "server" in self.flags else "command"
        if self.language == "text" and "output" in self.flags:
            return "output"
        if self.language == "text" and "page" in self.options:
            return "page"
        return "show"


@dataclass(frozen=True)
class Directive:
    line: int
    verb: str
    arguments: tuple[str, ...]


Step = Block | Directive

# The flags and options each kind of block accepts.
ACCEPTED: Mapping[str, tuple[frozenset[str], frozenset[str]]] = {
    "command": (frozenset(), frozenset()),
    "server": (frozenset({"server"}), frozenset()),
    "write": (frozenset(), frozenset({"file"})),
    "edit": (frozenset(), frozenset({"file"})),
    "output": (frozenset({"output"}), frozenset()),
    "page": (frozenset(), frozenset({"page", "status"})),
    "show": (frozenset(), frozenset()),
}


def parse(path: Path) -> list[Step]:
    return parse_text(path.read_text(), str(path))


def parse_text(markdown: str, name: str = "<tutorial>") -> list[Step]:
    steps: list[Step] = []
    lines = markdown.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        opening = FENCE.match(line)
        if opening:
            number, fence = index + 1, opening.group("fence")
            body: list[str] = []
            index += 1
            while index < len(lines) and not _closes(lines[index], fence):
                body.append(lines[index])
                index += 1
            if index == len(lines):
                raise TutorialSyntaxError(f"{name}:{number}: the block never closes")
            steps.append(_block(opening.group("info"), "\n".join(body), number, name))
        elif line.lstrip().startswith("<!--") and "runner" in line:
            steps.append(_directive(line, index + 1, name))
        index += 1
    return steps


def _closes(line: str, fence: str) -> bool:
    stripped = line.strip()
    return stripped.startswith(fence) and set(stripped) == {"`"}


def _block(info: str, text: str, line: int, name: str) -> Block:
    words = info.split()
    language = words[0] if words else ""
    flags = frozenset(word for word in words[1:] if "=" not in word)
    options = dict(word.split("=", 1) for word in words[1:] if "=" in word)
    block = Block(line, language, text, flags, options)
    accepted_flags, accepted_options = ACCEPTED[block.kind]
    unknown = sorted((flags - accepted_flags) | (set(options) - accepted_options))
    if unknown:
        raise TutorialSyntaxError(
            f"{name}:{line}: a {block.kind} block (```{info.strip()}) does not take {unknown}"
        )
    if block.kind == "page" and not options["page"].startswith("/"):
        raise TutorialSyntaxError(f"{name}:{line}: page= takes a path starting with /")
    if "status" in options and not options["status"].isdigit():
        raise TutorialSyntaxError(f"{name}:{line}: status= takes an HTTP status code")
    return block


def _directive(line: str, number: int, name: str) -> Directive:
    found = DIRECTIVE.match(line.strip())
    if not found:
        raise TutorialSyntaxError(f"{name}:{number}: write a directive as <!-- runner: VERB … -->")
    words = shlex.split(found.group("words"))
    if not words or words[0] not in VERBS:
        raise TutorialSyntaxError(
            f"{name}:{number}: unknown directive {words[:1]}; know {[*VERBS]}"
        )
    verb, arguments = words[0], tuple(words[1:])
    count, or_more = VERBS[verb]
    if len(arguments) < count or (len(arguments) > count and not or_more):
        wanted = f"{count}{' or more' if or_more else ''}"
        raise TutorialSyntaxError(f"{name}:{number}: {verb} takes {wanted} arguments: {arguments}")
    return Directive(number, verb, arguments)
