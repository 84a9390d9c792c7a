"""Tools a model may call (OpenAI's tools protocol): typed async functions over the site's data,
each declared by its feature (`Feature.tools`) and run with the asking user's permissions,
checked in the tool itself: what a prompt says cannot widen them.

A tool's arguments are a flat `msgspec.Struct`, whose JSON Schema the model is given and with
which its arguments are checked; what the tool returns is sent back to the model as JSON.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import msgspec

logger = logging.getLogger(__name__)

Arguments = TypeVar("Arguments", bound=msgspec.Struct)
# What of a tool's answer reaches the model (and the page): enough for a page of rows.
MAX_RESULT_CHARACTERS = 8000


@dataclass(frozen=True)
class ToolUser:
    """Who asked: a tool decides from this what it may do and show."""

    id: int
    is_staff: bool


class ToolRefused(Exception):
    """The tool does not run for this user or these arguments; the message says why, to the
    user and to the model."""


@dataclass(frozen=True)
class Tool(Generic[Arguments]):
    name: str
    description: str
    arguments: type[Arguments]
    run: Callable[[Arguments, ToolUser], Awaitable[object]]

    def spec(self) -> dict[str, Any]:
        """The tool as the chat-completions API's `tools` list holds it."""
        (reference,), definitions = msgspec.json.schema_components((self.arguments,))
        name = reference["$ref"].rsplit("/", 1)[-1]
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": definitions[name],
            },
        }


@dataclass(frozen=True)
class ToolCall:
    """A call the model asked for: `arguments` is JSON text, as it was sent."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class ToolResult:
    call: ToolCall
    # JSON text, for the model: the tool's answer, or {"error": …}.
    content: str
    error: str = ""


def tools_by_name(tools: Iterable[Tool[Any]]) -> dict[str, Tool[Any]]:
    found: dict[str, Tool[Any]] = {}
    for tool in tools:
        if tool.name in found:
            raise ValueError(f"two tools are named {tool.name!r}")
        found[tool.name] = tool
    return found


async def run_tool(tools: Mapping[str, Tool[Any]], call: ToolCall, user: ToolUser) -> ToolResult:
    """Run the call for `user`. Whatever goes wrong is a result the model and the user read, not
    an exception: an unknown tool, arguments that do not fit, a refusal, a failure."""
    tool = tools.get(call.name)
    if tool is None:
        return _failure(call, f"There is no tool named {call.name!r}.")
    try:
        arguments = msgspec.json.decode(call.arguments or "{}", type=tool.arguments)
    except msgspec.DecodeError as error:
        return _failure(call, f"The arguments do not fit the tool: {error}")
    try:
        answer = await tool.run(arguments, user)
    except ToolRefused as refusal:
        return _failure(call, str(refusal))
    except Exception:
        logger.exception("ai: the tool %s failed", call.name)
        return _failure(call, "The tool failed.")
    content = msgspec.json.encode(answer).decode()
    if len(content) > MAX_RESULT_CHARACTERS:
        content = content[:MAX_RESULT_CHARACTERS] + " …(cut)"
    return ToolResult(call, content)


def _failure(call: ToolCall, error: str) -> ToolResult:
    return ToolResult(call, msgspec.json.encode({"error": error}).decode(), error)
