"""Server-Sent Events read back from a response body."""

from __future__ import annotations

import json
from typing import Any


def parse_sse(text: str) -> list[tuple[str, Any]]:
    """(event, decoded JSON data) for each Server-Sent Event in a response body."""
    events = []
    for frame in text.replace("\r\n", "\n").split("\n\n"):
        kind, data = "message", []
        for line in frame.split("\n"):
            if line.startswith("event:"):
                kind = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
        if data:
            events.append((kind, json.loads("\n".join(data))))
    return events
