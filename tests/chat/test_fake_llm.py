"""The fake OpenAI-compatible server itself, over real HTTP."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import httpx
import pytest

from tests.support.fake_llm import FakeLLM

pytestmark = pytest.mark.engine_independent

KEY = {"Authorization": "Bearer test-key"}


def _body(model: str, content: str = "hello there", **extra: Any) -> dict[str, Any]:
    return {
        "model": model,
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "an earlier question"},
            {"role": "assistant", "content": "an earlier answer"},
            {"role": "user", "content": content},
        ],
        "stream": True,
        **extra,
    }


def _data_lines(lines: list[str]) -> list[str]:
    return [line.removeprefix("data: ") for line in lines if line.startswith("data: ")]


def _wait_for(condition: Any, timeout: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return bool(condition())


def test_echo_streams_the_answer_word_by_word(fake_llm: FakeLLM) -> None:
    with (
        httpx.Client(base_url=fake_llm.base_url, headers=KEY, timeout=5) as client,
        client.stream("POST", "/chat/completions", json=_body("echo")) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        raw = response.read().decode()

    # Each event is one `data:` line followed by a blank line.
    events = [event for event in raw.split("\n\n") if event]
    assert all(event.startswith("data: ") and "\n" not in event for event in events)
    data = _data_lines(raw.split("\n"))
    assert data[-1] == "[DONE]"
    chunks = [json.loads(item) for item in data[:-1]]
    assert all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    tokens = [chunk["choices"][0]["delta"].get("content") for chunk in chunks[:-1]]
    assert tokens == ["You", " said:", " hello", " there"]
    assert all(chunk["choices"][0]["finish_reason"] is None for chunk in chunks[:-1])
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert "content" not in chunks[-1]["choices"][0]["delta"]
    assert fake_llm.requests == [_body("echo")]
    assert fake_llm.completed == 1
    assert fake_llm.disconnects == 0


def test_an_unknown_model_echoes_and_non_streaming_gives_the_whole_answer(
    fake_llm: FakeLLM,
) -> None:
    response = httpx.post(
        f"{fake_llm.base_url}/chat/completions",
        json=_body("some-real-model-name", "hi", stream=False),
        headers=KEY,
        timeout=5,
    )
    assert response.status_code == 200
    message = response.json()["choices"][0]["message"]
    assert message == {"role": "assistant", "content": "You said: hi"}


def test_a_wrong_key_is_refused_for_every_model(fake_llm: FakeLLM) -> None:
    for headers in ({"Authorization": "Bearer wrong"}, {}):
        response = httpx.post(
            f"{fake_llm.base_url}/chat/completions",
            json=_body("echo"),
            headers=headers,
            timeout=5,
        )
        assert response.status_code == 401
        assert response.json() == {
            "error": {
                "message": "Invalid API key",
                "type": "invalid_request_error",
                "code": "invalid_api_key",
            }
        }
    assert fake_llm.completed == 0


def test_the_key_is_the_one_given() -> None:
    with FakeLLM(api_key="other") as server:
        url = f"{server.base_url}/chat/completions"
        assert httpx.post(url, json=_body("echo"), headers=KEY, timeout=5).status_code == 401
        good = {"Authorization": "Bearer other"}
        assert httpx.post(url, json=_body("echo"), headers=good, timeout=5).status_code == 200


@pytest.mark.parametrize(
    ("model", "status", "error_type"),
    [
        ("unauthorized", 401, "invalid_request_error"),
        ("rate-limited", 429, "rate_limit_error"),
        ("server-error", 500, "server_error"),
    ],
)
def test_error_models(fake_llm: FakeLLM, model: str, status: int, error_type: str) -> None:
    response = httpx.post(
        f"{fake_llm.base_url}/chat/completions", json=_body(model), headers=KEY, timeout=5
    )
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]["type"] == error_type
    if model == "rate-limited":
        assert response.headers["retry-after"] == "7"
        assert response.json()["error"]["message"] == "Rate limit exceeded"
    if model == "server-error":
        assert response.json()["error"]["message"] == "Upstream exploded"


def test_cut_drops_the_connection_mid_stream(fake_llm: FakeLLM) -> None:
    received: list[str] = []
    with (
        httpx.Client(base_url=fake_llm.base_url, headers=KEY, timeout=5) as client,
        client.stream("POST", "/chat/completions", json=_body("cut")) as response,
    ):
        assert response.status_code == 200
        with pytest.raises(httpx.RemoteProtocolError):
            received.extend(response.iter_lines())
    data = _data_lines(received)
    tokens = [json.loads(item)["choices"][0]["delta"]["content"] for item in data]
    assert tokens == ["Partial", " answer", " then"]
    assert "[DONE]" not in data
    assert fake_llm.completed == 0


def test_closing_a_slow_stream_counts_a_disconnect(fake_llm: FakeLLM) -> None:
    tokens: list[str] = []
    with (
        httpx.Client(base_url=fake_llm.base_url, headers=KEY, timeout=5) as client,
        client.stream("POST", "/chat/completions", json=_body("slow")) as response,
    ):
        for item in _lines_of(response):
            tokens.append(json.loads(item)["choices"][0]["delta"]["content"])
            if len(tokens) == 2:
                break
    assert tokens == ["word0", " word1"]
    assert _wait_for(lambda: fake_llm.disconnects == 1, timeout=3.0)
    assert fake_llm.completed == 0
    time.sleep(0.3)  # and it is counted once
    assert fake_llm.disconnects == 1


def _lines_of(response: httpx.Response) -> Any:
    for line in response.iter_lines():
        if line.startswith("data: "):
            yield line.removeprefix("data: ")


def test_hang_times_the_client_out(fake_llm: FakeLLM) -> None:
    timeout = httpx.Timeout(5, read=0.5)
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(
            f"{fake_llm.base_url}/chat/completions",
            json=_body("hang"),
            headers=KEY,
            timeout=timeout,
        )
    assert time.monotonic() - started < 3


def test_shutdown_is_fast_even_with_streams_in_flight() -> None:
    """A hanging and a slow request in flight do not hold up the stop, nor leave a thread."""
    before = set(threading.enumerate())
    server = FakeLLM()
    errors: list[BaseException] = []

    def call(model: str) -> None:
        try:
            with (
                httpx.Client(base_url=server.base_url, headers=KEY, timeout=10) as client,
                client.stream("POST", "/chat/completions", json=_body(model)) as response,
            ):
                response.read()
        except httpx.HTTPError as error:
            errors.append(error)

    with server:
        callers = [threading.Thread(target=call, args=(model,)) for model in ("hang", "slow")]
        for caller in callers:
            caller.start()
        assert _wait_for(lambda: len(server.requests) == 2, timeout=3.0)
        time.sleep(0.1)
        started = time.monotonic()
    assert time.monotonic() - started < 1.0
    for caller in callers:
        caller.join(timeout=5)
        assert not caller.is_alive()
    assert set(threading.enumerate()) <= before
    assert server.disconnects == 0


async def test_usable_from_an_async_test_under_the_blocking_call_detector(
    fake_llm: FakeLLM,
) -> None:
    async with (
        httpx.AsyncClient(base_url=fake_llm.base_url, headers=KEY, timeout=5) as client,
        client.stream("POST", "/chat/completions", json=_body("echo", "async")) as response,
    ):
        data = [line async for line in response.aiter_lines() if line.startswith("data: ")]
    assert data[-1] == "data: [DONE]"
    assert fake_llm.completed == 1
