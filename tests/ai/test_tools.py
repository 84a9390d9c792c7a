"""Tools, on their own: the schema the model is given, and every way a call can go wrong
answered as a result rather than raised."""

from __future__ import annotations

import json
import logging

import msgspec
import pytest

from bandstand.ai.tools import (
    MAX_RESULT_CHARACTERS,
    Tool,
    ToolCall,
    ToolRefused,
    ToolUser,
    run_tool,
    tools_by_name,
)

pytestmark = pytest.mark.engine_independent

USER = ToolUser(7, is_staff=False)


class Echo(msgspec.Struct, forbid_unknown_fields=True):
    text: str
    times: int = 1


async def echo(arguments: Echo, user: ToolUser) -> dict[str, object]:
    if arguments.times < 0:
        raise ToolRefused("times cannot be negative")
    if arguments.times > 1000:
        raise RuntimeError("too many")
    return {"text": arguments.text * arguments.times, "for": user.id}


ECHO = Tool("echo", "Says it again.", Echo, echo)
TOOLS = tools_by_name([ECHO])


def test_the_model_is_given_the_arguments_schema() -> None:
    assert ECHO.spec() == {
        "type": "function",
        "function": {
            "name": "echo",
            "description": "Says it again.",
            "parameters": {
                "title": "Echo",
                "type": "object",
                "properties": {
                    "text": {"type": "string"},
                    "times": {"type": "integer", "default": 1},
                },
                "required": ["text"],
                "additionalProperties": False,
            },
        },
    }


def test_two_tools_of_one_name_are_refused() -> None:
    with pytest.raises(ValueError, match="two tools are named 'echo'"):
        tools_by_name([ECHO, ECHO])


@pytest.mark.parametrize(
    ("arguments", "content", "error"),
    [
        ('{"text": "ab", "times": 2}', {"text": "abab", "for": 7}, ""),
        ('{"text": "ab", "extra": 1}', None, "Object contains unknown field `extra`"),
        ('{"times": 2}', None, "Object missing required field `text`"),
        ("[1]", None, "Expected `object`, got `array`"),
        ("", None, "Object missing required field `text`"),  # no arguments at all
        ('{"text": "a", "times": -1}', None, "times cannot be negative"),
        ('{"text": "a", "times": 5000}', None, "The tool failed."),
    ],
)
async def test_a_call_gives_a_result_whatever_goes_wrong(
    arguments: str, content: object, error: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="bandstand.ai.tools")

    result = await run_tool(TOOLS, ToolCall("call_1", "echo", arguments), USER)

    assert error in result.error if error else result.error == ""
    if content is not None:
        assert json.loads(result.content) == content
    else:
        assert json.loads(result.content) == {"error": result.error}
    # Only a failure of the tool itself is logged, with its traceback.
    assert [record.exc_info is not None for record in caplog.records] == (
        [True] if error == "The tool failed." else []
    )


async def test_a_long_result_is_cut() -> None:
    call = ToolCall("call_1", "echo", json.dumps({"text": "x" * 100, "times": 100}))
    result = await run_tool(TOOLS, call, USER)
    assert len(result.content) == MAX_RESULT_CHARACTERS + len(" …(cut)")
    assert result.content.endswith(" …(cut)")
