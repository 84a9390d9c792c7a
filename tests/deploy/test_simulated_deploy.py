"""A deploy as a PaaS runs one, end to end on this machine.

A managed PostgreSQL that accepts TLS only, behind PgBouncer in transaction mode; a
`DATABASE_URL` with `sslmode=require` pointing at the pooler. The release command twice at
once, then two instances of the start command, each on its own `$PORT`, with the whole disk
read-only but a fresh temp folder. A client then goes from one instance to the other as a load
balancer would send it: everything one instance knows, the other must know too.

The instances serve the framework with the sample site's feature (tests/support/sample_site.py),
whose admin has an image column (fans' photos), rather than the site's demos.
"""

from __future__ import annotations

import io
import json
import re
import secrets
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.commands.running import environment, stop, wait_until_healthy
from tests.support import PROJECT_ROOT
from tests.support.cli import PICCOLO
from tests.support.mandatory import skip_unless_ci
from tests.support.postgres_servers import (
    PgBouncer,
    PostgresServer,
    free_port,
    missing_prerequisites,
)
from tests.support.read_only import on_a_read_only_disk, require_read_only_disks

pytestmark = [pytest.mark.engine_independent, pytest.mark.timeout(300)]

PASSWORD = "deploy-secret-password"
FAILURES_PER_CLIENT = 4
CSRF_FIELD = re.compile(r'name="_csrf_token" value="([^"]+)"')
# No release makes the test tables: the admin's media endpoints, all these tests use of the
# sample, never touch them.
APP = "tests.support.sample_site:app"


Ran = subprocess.CompletedProcess[str]


@dataclass
class Deployment:
    environ: dict[str, str]
    releases: list[Ran]
    instances: list[str]
    logs: list[Path]


def platform_environment(database_url: str) -> dict[str, str]:
    """What the platform's dashboard holds for the app (PORT is set per instance)."""
    return environment(
        ENVIRONMENT="production",
        SECRET_KEY=secrets.token_urlsafe(48),
        DATABASE_URL=database_url,
        ALLOWED_HOSTS="bandstand.example",
        # The platform's router is the only way in, and its address isn't known in advance.
        FORWARDED_ALLOW_IPS="*",
        STORAGE_BACKEND="database",
        SUPERUSER_USERNAME="admin",
        SUPERUSER_EMAIL="admin@bandstand.example",
        SUPERUSER_PASSWORD=PASSWORD,
        LOGIN_FAILURES_PER_CLIENT=str(FAILURES_PER_CLIENT),
        # The superuser uses the admin here without setting up the second factor production
        # asks of staff; tests/accounts/test_two_factor.py takes staff through it.
        STAFF_REQUIRE_2FA="false",
        WEB_CONCURRENCY="1",
        LOG_LEVEL="INFO",  # the suite's own is WARNING
        PYTHONUNBUFFERED="1",  # as the image sets it: each log line reaches the platform at once
    )


def release_twice_at_once(environ: dict[str, str], temps: list[Path]) -> list[Ran]:
    processes = [
        subprocess.Popen(
            on_a_read_only_disk(PICCOLO, "project", "release", temp=temp),
            cwd=PROJECT_ROOT,
            env=environ,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for temp in temps
    ]
    results = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=180)
        results.append(Ran(process.args, process.returncode, stdout, stderr))
    return results


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    reason = missing_prerequisites(pgbouncer=True)
    if reason is not None:
        skip_unless_ci(reason)
    require_read_only_disks()
    logs = tmp_path_factory.mktemp("deploy")
    with PostgresServer(ssl=True) as database, PgBouncer(database, default_pool_size=2) as pooler:
        environ = platform_environment(pooler.url(sslmode="require"))
        releases = release_twice_at_once(
            environ, [tmp_path_factory.mktemp("release-temp") for _ in range(2)]
        )
        instances, processes, instance_logs = [], [], []
        try:
            for number in (1, 2):
                port = free_port()
                log = logs / f"instance-{number}.log"
                with log.open("wb") as output:
                    processes.append(
                        subprocess.Popen(
                            on_a_read_only_disk(
                                PICCOLO,
                                "project",
                                "serve",
                                f"--app={APP}",
                                temp=tmp_path_factory.mktemp("instance-temp"),
                            ),
                            cwd=PROJECT_ROOT,
                            env={**environ, "PORT": str(port)},
                            stdout=output,
                            stderr=subprocess.STDOUT,
                        )
                    )
                base = f"http://127.0.0.1:{port}"
                wait_until_healthy(base, processes[-1], log)
                instances.append(base)
                instance_logs.append(log)
            yield Deployment(environ, releases, instances, instance_logs)
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                try:
                    process.wait(timeout=30)
                finally:
                    stop(process)


@dataclass
class Visitor:
    """One browser behind the platform's router: HTTPS to the router, plain HTTP from there
    to whichever instance it picks. Cookies are kept by hand: they are `Secure`, and this hop
    is http, where a cookie jar would rightly hold them back."""

    address: str = "203.0.113.9"
    cookies: dict[str, str] = field(default_factory=dict)

    def request(
        self,
        instance: str,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        **content: Any,
    ) -> httpx.Response:
        sent = {
            "host": "bandstand.example",
            "x-forwarded-proto": "https",
            "x-forwarded-for": self.address,
            "accept": "text/html",
            **(headers or {}),
        }
        if self.cookies:
            sent["cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        response = httpx.request(method, instance + path, headers=sent, timeout=30, **content)
        for cookie in response.headers.get_list("set-cookie"):
            assert "Secure" in cookie, cookie
            name, _, rest = cookie.partition("=")
            value = rest.split(";", 1)[0]
            if value and "max-age=0" not in cookie.lower():
                self.cookies[name] = value
            else:
                self.cookies.pop(name, None)
        return response

    def form_token(self, instance: str, path: str) -> str:
        found = CSRF_FIELD.search(self.request(instance, "GET", path).text)
        assert found, path
        return found.group(1)

    def log_in(
        self, instance: str, password: str = PASSWORD, username: str = "admin"
    ) -> httpx.Response:
        token = self.form_token(instance, "/login")
        data = {"username": username, "password": password, "_csrf_token": token}
        return self.request(instance, "POST", "/login", data=data)


def test_two_releases_at_once_one_migrates_both_succeed(deployment: Deployment) -> None:
    outputs = [result.stdout + result.stderr for result in deployment.releases]
    assert [result.returncode for result in deployment.releases] == [0, 0], outputs
    assert sum("migrations: applied" in output for output in outputs) == 1, outputs
    assert sum("migrations: up to date" in output for output in outputs) == 1, outputs
    assert sum("superuser 'admin' created" in output for output in outputs) == 1, outputs


def test_both_instances_are_ready(deployment: Deployment) -> None:
    for instance in deployment.instances:
        response = httpx.get(f"{instance}/readyz", timeout=10)
        assert response.status_code == 200, response.text
        assert response.json() == {"status": "ready"}


def test_the_code_folder_is_read_only_for_the_instances(
    deployment: Deployment, tmp_path: Path
) -> None:
    probe = subprocess.run(
        on_a_read_only_disk(
            "sh", "-c", f'touch {PROJECT_ROOT}/probe; touch "$TMPDIR/probe"', temp=tmp_path
        ),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert "Read-only file system" in probe.stderr
    assert probe.stderr.count("Read-only") == 1, probe.stderr  # the temp folder is writable
    assert not (PROJECT_ROOT / "probe").exists()


def test_a_login_on_one_instance_is_valid_on_the_other(deployment: Deployment) -> None:
    first, second = deployment.instances
    visitor = Visitor()

    response = visitor.log_in(first)

    assert response.status_code == 303, response.text
    account = visitor.request(second, "GET", "/account")
    assert account.status_code == 200
    assert "admin@bandstand.example" in account.text
    # Logging out on the second ends the session on the first too.
    token = CSRF_FIELD.search(account.text)
    assert token
    visitor.request(second, "POST", "/logout", data={"_csrf_token": token.group(1)})
    assert visitor.request(first, "GET", "/account").status_code == 303


def png() -> bytes:
    output = io.BytesIO()
    Image.new("RGB", (40, 30), "teal").save(output, format="PNG")
    return output.getvalue()


def test_an_upload_through_one_instance_is_served_by_the_other(deployment: Deployment) -> None:
    first, second = deployment.instances
    visitor = Visitor(address="203.0.113.10")
    assert visitor.log_in(first).status_code == 303
    visitor.request(first, "GET", "/admin/")  # the admin's own CSRF cookie

    # A fan's photo uploaded in Piccolo Admin, as its image field sends it.
    uploaded = visitor.request(
        first,
        "POST",
        "/admin/api/media/",
        data={"table_name": "fan", "column_name": "photo"},
        files={"file": ("photo.png", png(), "image/png")},
        headers={
            "x-csrftoken": visitor.cookies["csrftoken"],
            "origin": "https://bandstand.example",
            "accept": "application/json",
        },
    )
    assert uploaded.status_code == 200, uploaded.text
    key = uploaded.json()["file_key"]

    served = visitor.request(second, "GET", f"/media/{key}")
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/png"
    assert served.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert Image.open(io.BytesIO(served.content)).size == (40, 30)


def test_the_login_rate_limit_counts_across_both_instances(deployment: Deployment) -> None:
    first, second = deployment.instances
    visitor = Visitor(address="198.51.100.77")
    # Failures alternate between the instances: each sees only half of them. Each guesses
    # another account, so only the per-client count can add up to the limit.
    codes = [
        visitor.log_in((first, second)[n % 2], "wrong-password", f"guess{n}").status_code
        for n in range(FAILURES_PER_CLIENT)
    ]
    assert codes == [400] * FAILURES_PER_CLIENT

    assert visitor.log_in(first, "wrong-password", "guess-again").status_code == 429
    assert visitor.log_in(second).status_code == 429  # even with the right password
    # Another client behind the same router is not blocked.
    assert Visitor(address="198.51.100.78").log_in(second).status_code == 303


def test_the_instances_log_json_lines_carrying_the_request_id(deployment: Deployment) -> None:
    for instance, log in zip(deployment.instances, deployment.logs, strict=True):
        request_id = f"router-{secrets.token_hex(8)}"
        response = httpx.get(f"{instance}/readyz", headers={"x-request-id": request_id})
        assert response.headers["x-request-id"] == request_id
        deadline = time.monotonic() + 10
        while request_id not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
        access = [line for line in lines if line.get("request_id") == request_id]
        assert len(access) == 1, lines[-5:]
        assert access[0]["path"] == "/readyz"
        assert access[0]["status"] == 200
