"""HTML forms validated by the same msgspec Structs as the JSON API, with a message per field.

msgspec stops at the first error, which suits an API; a person filling a form wants every
mistake at once. `validate_form` converts each field on its own to collect them all. Checks
msgspec can't express (a Decimal's range, a date not in the past) go in the Struct's `checks`,
a class variable mapping field names to functions; `run_checks`, called from the Struct's
`__post_init__`, applies them to JSON bodies too.
"""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import msgspec

T = TypeVar("T", bound=msgspec.Struct)
# A field's own check: what is wrong with the value, or None.
Check = Callable[[Any], str | None]
# PostgreSQL cannot store NUL in text; SQLite can. Refused on both, so both keep the same rows.
NO_NUL = "Remove the NUL character (an invisible control character) from this text."


class FieldError(ValueError):
    """A Struct's own check failing on one field; msgspec reports it as a ValidationError."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class FormResult(msgspec.Struct, typing.Generic[T]):
    value: T | None
    errors: dict[str, str]


def run_checks(value: msgspec.Struct) -> None:
    """Raise `FieldError` for the first field whose check fails."""
    checks: dict[str, Check] = getattr(type(value), "checks", {})
    for name, check in checks.items():
        if problem := check(getattr(value, name)):
            raise FieldError(name, problem)


def refuse_nul(value: msgspec.Struct) -> None:
    """`FieldError` for the first field whose text holds NUL."""
    for name in value.__struct_fields__:
        if "\0" in str(getattr(value, name)):
            raise FieldError(name, NO_NUL)


# msgspec evaluates the class's annotations again on every call: once per type is enough.
_fields = functools.cache(msgspec.structs.fields)


def validate_form(struct_type: type[T], data: Mapping[str, Any]) -> FormResult[T]:
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    checks: dict[str, Check] = getattr(struct_type, "checks", {})
    for field in _fields(struct_type):
        raw = data.get(field.encode_name)
        text = raw.strip() if isinstance(raw, str) else raw
        if text in (None, "") and field.required is False:
            continue  # the Struct's default
        try:
            values[field.encode_name] = msgspec.convert(
                "" if text is None else text, field.type, strict=False
            )
        except msgspec.ValidationError:
            errors[field.name] = describe(field.type, text)
            continue
        check = checks.get(field.name)
        if check and (problem := check(values[field.encode_name])):
            errors[field.name] = problem
    if errors:
        return FormResult(value=None, errors=errors)
    try:
        return FormResult(value=msgspec.convert(values, struct_type, strict=False), errors={})
    except msgspec.ValidationError as error:
        cause = error.__cause__
        if isinstance(cause, FieldError):
            return FormResult(value=None, errors={cause.field: cause.message})
        raise


def describe(type_: Any, value: object) -> str:
    """What a person should enter, for a value the field's type refused."""
    info = msgspec.inspect.type_info(_without_none(type_))
    if value in (None, ""):
        return "This field is required."
    if isinstance(info, msgspec.inspect.StrType):
        if info.max_length is not None and isinstance(value, str) and len(value) > info.max_length:
            return f"Use at most {info.max_length} characters."
        if info.pattern is not None:
            return "Enter a valid value."
        return "This field is required."
    if isinstance(info, msgspec.inspect.IntType):
        return "Enter a whole number" + _bounds(info.ge, info.le) + "."
    if isinstance(info, msgspec.inspect.FloatType):
        return "Enter a number" + _bounds(info.ge, info.le) + "."
    if isinstance(info, msgspec.inspect.DecimalType):
        return "Enter a number, like 12.50."
    if isinstance(info, msgspec.inspect.DateType):
        return "Enter a date as YYYY-MM-DD."
    if isinstance(info, msgspec.inspect.LiteralType):
        return "Choose one of: " + ", ".join(map(str, info.values)) + "."
    return "Enter a valid value."


def _bounds(low: object, high: object) -> str:
    if low is not None and high is not None:
        return f" from {low} to {high}"
    if low is not None:
        return f" of at least {low}"
    if high is not None:
        return f" of at most {high}"
    return ""


def _without_none(type_: Any) -> Any:
    if typing.get_origin(type_) in (typing.Union, types.UnionType):
        remaining = [arg for arg in typing.get_args(type_) if arg is not type(None)]
        if len(remaining) == 1:
            return remaining[0]
    return type_
