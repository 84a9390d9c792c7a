"""The Dockerfile, linted by hadolint and run without Docker (which this machine doesn't have).

A small parser reads it; its build stage is executed for real in a temporary root folder (paths
written in the Dockerfile are mapped under it, COPY honours .dockerignore, RUN runs its shell
command with the stage's ENV); the final stage starts empty and gets only what it copies from the
build stage; then its CMD is started the way a platform starts it, with PORT, SECRET_KEY and
DATABASE_URL, as the Dockerfile's USER when the test runs as root.

The virtual environment is created at its final path by the build stage, as in Docker: both stages
use the same root folder, the build stage's tree is moved aside when it ends, and COPY --from puts
the venv back at the very path its scripts' shebangs name. Nothing is rewritten or re-installed.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from bandstand.commands.serve import DEFAULT_PORT
from tests.support import PROJECT_ROOT
from tests.support.mandatory import skip_unless_ci
from tests.support.postgres_servers import free_port

# The first test to use the image waits for pip to install the lock (a minute without a mirror).
pytestmark = [pytest.mark.engine_independent, pytest.mark.timeout(600)]

DOCKERFILE = PROJECT_ROOT / "Dockerfile"
DOCKERIGNORE = PROJECT_ROOT / ".dockerignore"
HADOLINT = Path(sys.executable).parent / "hadolint"
LOCK = "requirements/lock.txt"

# The environment the official python:*-slim images set, as far as the steps use it.
IMAGE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Where the build machine's packages come from (docker build gets the same from its proxy and
# index settings): sources only; --require-hashes pins what is installed.
BUILD_MACHINE_VARIABLES = re.compile(r"PIP_\w+|(?i:https?_proxy|no_proxy)|SSL_CERT_\w+")


# --- the parser --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    keyword: str
    flags: dict[str, str]
    value: str
    line: int

    def exec_form(self) -> list[str] | None:
        text = self.value.strip()
        if not text.startswith("["):
            return None
        parsed = json.loads(text)
        assert isinstance(parsed, list), f"line {self.line}: exec form must be a JSON list"
        return [str(item) for item in parsed]


@dataclass
class Stage:
    image: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)


def parse_dockerfile(text: str) -> list[Instruction]:
    """Instructions with their `--flags`; line continuations joined, comments dropped (inside a
    continuation too, as Docker does)."""
    instructions: list[Instruction] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if not pending:
            start = number
        if raw.rstrip().endswith("\\"):
            pending.append(raw.rstrip()[:-1])
            continue
        pending.append(raw)
        instructions.append(_instruction("".join(pending), start))
        pending = []
    assert not pending, "the Dockerfile ends inside a line continuation"
    return instructions


def _instruction(text: str, line: int) -> Instruction:
    keyword, _, rest = text.strip().partition(" ")
    rest = rest.strip()
    flags: dict[str, str] = {}
    while rest.startswith("--"):
        token, _, rest = rest.partition(" ")
        name, _, value = token[2:].partition("=")
        flags[name] = value
        rest = rest.strip()
    return Instruction(keyword.upper(), flags, rest, line)


def split_stages(instructions: list[Instruction]) -> tuple[dict[str, str], list[Stage]]:
    """The global ARGs (before the first FROM) and the stages, with FROM's image resolved."""
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for instruction in instructions:
        if instruction.keyword == "FROM":
            words = expand(instruction.value, global_args).split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            assert len(words) in (1, 3), f"line {instruction.line}: FROM image [AS name]"
            stages.append(Stage(image=words[0], name=name))
        elif not stages:
            assert instruction.keyword == "ARG", f"line {instruction.line}: only ARG before FROM"
            name, _, default = instruction.value.partition("=")
            global_args[name] = default
        else:
            stages[-1].instructions.append(instruction)
    return global_args, stages


_VARIABLE = re.compile(r"\$\{(\w+)(?::-([^}]*))?\}|\$(\w+)")


def expand(text: str, env: Mapping[str, str]) -> str:
    """Docker's substitution: $NAME, ${NAME} and ${NAME:-default}."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(3)
        found = env.get(name, "")
        return found if found or match.group(2) is None else match.group(2)

    return _VARIABLE.sub(value, text)


def env_pairs(value: str) -> list[tuple[str, str]]:
    """ENV key=value key2="value 2" (values unexpanded); the old `ENV key value` form too."""
    words = shlex.split(value)
    if words and "=" not in words[0]:
        return [(words[0], " ".join(words[1:]))]
    return [(key, raw) for key, _, raw in (word.partition("=") for word in words)]


# Commands that set up the image's system users and their folders, not the app; this machine's
# users can't be changed by a test, so a RUN made only of these is skipped (and listed). Any
# other RUN is executed, and a RUN that mixes the two fails the test.
def is_system_command(command: str) -> bool:
    words = shlex.split(command)
    return bool(words) and (
        words[0] in {"groupadd", "useradd"}
        or (words[0] == "install" and any(word.startswith("--owner") for word in words))
    )


def is_system_step(run: str) -> bool:
    commands = [part.strip() for part in run.split("&&")]
    system = [is_system_command(command) for command in commands]
    assert all(system) or not any(system), f"a RUN mixes system set-up and build steps: {run}"
    return all(system)


# --- .dockerignore -----------------------------------------------------------------------------


class DockerIgnore:
    """Docker's rules: the last matching pattern wins, `!` re-includes, `**` spans folders, and a
    pattern that matches a folder excludes everything in it."""

    def __init__(self, text: str) -> None:
        self.rules: list[tuple[bool, re.Pattern[str]]] = []
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            include = line.startswith("!")
            pattern = posixpath.normpath(line.lstrip("!").strip()).lstrip("/")
            self.rules.append((include, re.compile(_glob_regex(pattern))))
        self.has_exceptions = any(include for include, _ in self.rules)

    def excludes(self, relative: str) -> bool:
        parts = relative.split("/")
        candidates = ["/".join(parts[: end + 1]) for end in range(len(parts))]
        excluded = False
        for include, pattern in self.rules:
            if any(pattern.fullmatch(candidate) for candidate in candidates):
                excluded = not include
        return excluded


def _glob_regex(pattern: str) -> str:
    regex, index = "", 0
    while index < len(pattern):
        if pattern.startswith("**/", index):
            regex, index = regex + "(?:.*/)?", index + 3
        elif pattern.startswith("**", index):
            regex, index = regex + ".*", index + 2
        elif pattern[index] == "*":
            regex, index = regex + "[^/]*", index + 1
        elif pattern[index] == "?":
            regex, index = regex + "[^/]", index + 1
        elif pattern[index] == "[":
            end = pattern.index("]", index)
            members = pattern[index + 1 : end]
            regex += "[^" + members[1:] + "]" if members[:1] in {"!", "^"} else f"[{members}]"
            index = end + 1
        else:
            regex, index = regex + re.escape(pattern[index]), index + 1
    return regex


# --- running the stages ------------------------------------------------------------------------


@dataclass
class StageResult:
    image_env: dict[str, str]
    host_env: dict[str, str]
    workdir: str
    user: str = "root"
    exposed: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)
    healthcheck: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    runs: list[str] = field(default_factory=list)


class Builder:
    """Runs stages in `root`, which stands for the image's `/`."""

    def __init__(self, root: Path, stages_dir: Path, shim: Path, build_env: dict[str, str]) -> None:
        self.root, self.stages_dir, self.shim, self.build_env = root, stages_dir, shim, build_env
        self.snapshots: dict[str, Path] = {}
        self.ignore = DockerIgnore(DOCKERIGNORE.read_text())

    def host(self, image_path: str) -> Path:
        return self.root / posixpath.normpath(image_path).lstrip("/")

    def remap(self, raw: str) -> str:
        """Absolute paths written in the Dockerfile name the image's own folders."""
        return ":".join(
            str(self.host(part)) if part.startswith("/") else part for part in raw.split(":")
        )

    def run_stage(self, stage: Stage, index: int) -> StageResult:
        self.root.mkdir(parents=True)
        result = StageResult(
            image_env={"PATH": IMAGE_PATH, "LANG": "C.UTF-8", "HOME": "/root"},
            host_env={
                "PATH": f"{self.shim}:{IMAGE_PATH}",
                "LANG": "C.UTF-8",
                "HOME": str(self.host("/root")),
            },
            workdir="/",
        )
        for instruction in stage.instructions:
            step = getattr(self, f"_{instruction.keyword.lower()}", None)
            assert step is not None, (
                f"line {instruction.line}: teach the parser {instruction.keyword}"
            )
            step(instruction, result)
        # The stage is done: its tree moves aside, so the next stage starts from nothing.
        snapshot = self.stages_dir / str(index)
        self.root.rename(snapshot)
        self.snapshots[str(index)] = snapshot
        if stage.name:
            self.snapshots[stage.name] = snapshot
        return result

    def _env(self, instruction: Instruction, result: StageResult) -> None:
        image_before, host_before = dict(result.image_env), dict(result.host_env)
        for key, raw in env_pairs(instruction.value):
            result.image_env[key] = expand(raw, image_before)
            result.host_env[key] = expand(self.remap(raw), host_before)

    def _arg(self, instruction: Instruction, result: StageResult) -> None:
        name, _, default = instruction.value.partition("=")
        result.image_env.setdefault(name, default)
        result.host_env.setdefault(name, default)

    def _workdir(self, instruction: Instruction, result: StageResult) -> None:
        target = expand(instruction.value, result.image_env)
        result.workdir = posixpath.normpath(posixpath.join(result.workdir, target))
        self.host(result.workdir).mkdir(parents=True, exist_ok=True)

    def _copy(self, instruction: Instruction, result: StageResult) -> None:
        words = instruction.exec_form() or shlex.split(instruction.value)
        words = [expand(word, result.image_env) for word in words]
        *sources, destination = words
        target = posixpath.join(result.workdir, destination)
        into_folder = destination.endswith("/") or len(sources) > 1
        for source in sources:
            include: Callable[[str], bool]
            if "from" in instruction.flags:
                origin = self.snapshots[instruction.flags["from"]]
                path = origin / posixpath.normpath(source).lstrip("/")
                include = _everything
            else:
                origin, path = PROJECT_ROOT, PROJECT_ROOT / posixpath.normpath(source)
                include = self._in_context
            relative = path.relative_to(origin).as_posix()
            assert path.exists(), f"line {instruction.line}: no COPY source {source}"
            assert relative == "." or include(relative), (
                f"line {instruction.line}: COPY source {source} is in .dockerignore"
            )
            if path.is_dir():
                self._copy_tree(origin, path, self.host(target), include)
            else:
                file_target = self.host(target) / path.name if into_folder else self.host(target)
                file_target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, file_target, follow_symlinks=False)

    def _in_context(self, relative: str) -> bool:
        return not self.ignore.excludes(relative)

    def _copy_tree(
        self, origin: Path, folder: Path, target: Path, include: Callable[[str], bool]
    ) -> None:
        """The folder's contents into `target`, as COPY does; excluded folders are not walked
        into unless a `!` pattern could bring something back."""
        target.mkdir(parents=True, exist_ok=True)
        for current, folders, files in os.walk(folder):
            here = Path(current)
            kept = []
            for name in folders:
                relative = (here / name).relative_to(origin).as_posix()
                if (here / name).is_symlink():
                    files.append(name)
                elif include(relative) or self.ignore.has_exceptions:
                    kept.append(name)
                    (target / (here / name).relative_to(folder)).mkdir(exist_ok=True)
            folders[:] = kept
            for name in files:
                relative = (here / name).relative_to(origin).as_posix()
                if include(relative):
                    shutil.copy2(
                        here / name,
                        target / (here / name).relative_to(folder),
                        follow_symlinks=False,
                    )

    def _run(self, instruction: Instruction, result: StageResult) -> None:
        command = instruction.exec_form() or ["/bin/sh", "-c", instruction.value]
        if command[:2] == ["/bin/sh", "-c"] and is_system_step(command[2]):
            result.skipped.append(command[2])
            return
        result.runs.append(instruction.value)
        self.host(result.image_env["HOME"]).mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            command,
            cwd=self.host(result.workdir),
            env={**self.build_env, **result.host_env},
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        assert done.returncode == 0, f"line {instruction.line} failed:\n{done.stdout}{done.stderr}"

    def _user(self, instruction: Instruction, result: StageResult) -> None:
        result.user = expand(instruction.value, result.image_env)

    def _expose(self, instruction: Instruction, result: StageResult) -> None:
        result.exposed += expand(instruction.value, result.image_env).split()

    def _cmd(self, instruction: Instruction, result: StageResult) -> None:
        result.cmd = instruction.exec_form() or ["/bin/sh", "-c", instruction.value]

    def _healthcheck(self, instruction: Instruction, result: StageResult) -> None:
        keyword, _, rest = instruction.value.partition(" ")
        assert keyword.upper() == "CMD", f"line {instruction.line}: HEALTHCHECK [options] CMD …"
        check = Instruction("CMD", {}, rest, instruction.line)
        result.healthcheck = check.exec_form() or ["/bin/sh", "-c", rest]


def _everything(relative: str) -> bool:
    return True


# --- the machine's stand-in for the base image ---------------------------------------------------


def base_python(version: str) -> Path | None:
    """A Python of the image's version with venv, standing in for the image's
    /usr/local/bin/python. System installs come first: the image's user must be able to run it."""
    candidates = [
        f"/usr/local/bin/python{version}",
        f"/usr/bin/python{version}",
        getattr(sys, "_base_executable", sys.executable),
        shutil.which(f"python{version}") or "",
    ]
    for candidate in candidates:
        if not (candidate and os.access(candidate, os.X_OK)):
            continue
        probe = subprocess.run(
            [candidate, "-c", "import sys, venv, ensurepip; print(sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode == 0 and probe.stdout.strip() == str(
            tuple(map(int, version.split(".")))
        ):
            return Path(candidate)
    return None


def build_machine_env() -> dict[str, str]:
    found = {
        key: value for key, value in os.environ.items() if BUILD_MACHINE_VARIABLES.fullmatch(key)
    }
    user_config = Path.home() / ".config" / "pip" / "pip.conf"
    if user_config.is_file() and "PIP_CONFIG_FILE" not in found:
        # HOME is the image's /root during the build; the machine's index settings still apply.
        found["PIP_CONFIG_FILE"] = str(user_config)
    return found


@dataclass
class Image:
    stages: list[Stage]
    build: StageResult
    final: StageResult
    root: Path
    workspace: Path

    def host(self, image_path: str) -> Path:
        return self.root / posixpath.normpath(image_path).lstrip("/")


@pytest.fixture(scope="module")
def image() -> Iterator[Image]:
    """The Dockerfile's stages, run once for the module's tests."""
    _, stages = split_stages(parse_dockerfile(DOCKERFILE.read_text()))
    version = re.fullmatch(r"python:(\d+\.\d+)-slim", stages[-1].image)
    assert version, f"the image is based on {stages[-1].image}, expected python:X.Y-slim"
    python = base_python(version.group(1))
    if python is None:
        skip_unless_ci(f"no Python {version.group(1)} with venv on this machine for the image")
    # Readable by the image's unprivileged user, unlike pytest's own 0700 temp folders.
    workspace = Path(tempfile.mkdtemp(prefix="bandstand-image-"))
    workspace.chmod(0o755)
    try:
        shim = workspace / "base-image-bin"
        shim.mkdir()
        for name in ("python", "python3"):
            (shim / name).write_text(f'#!/bin/sh\nexec {python} "$@"\n')
            (shim / name).chmod(0o755)
        (workspace / "stages").mkdir()
        builder = Builder(workspace / "root", workspace / "stages", shim, build_machine_env())
        results = [builder.run_stage(stage, index) for index, stage in enumerate(stages)]
        # The final stage's tree is the image: back in place for the commands to run in it.
        (workspace / "stages" / str(len(stages) - 1)).rename(workspace / "root")
        yield Image(stages, results[0], results[-1], workspace / "root", workspace)
    finally:
        shutil.rmtree(workspace, ignore_errors=True)


# --- the tests -----------------------------------------------------------------------------------


def test_hadolint_reports_nothing() -> None:
    if not HADOLINT.exists():
        skip_unless_ci(f"hadolint is not installed at {HADOLINT} (requirements/dev.lock.txt)")
    result = subprocess.run(
        [str(HADOLINT), "--no-color", str(DOCKERFILE)], capture_output=True, text=True, check=False
    )
    findings = result.stdout + result.stderr
    assert result.returncode == 0, findings
    assert not findings.strip(), findings


def test_dependencies_come_only_from_the_hashed_lock() -> None:
    _, stages = split_stages(parse_dockerfile(DOCKERFILE.read_text()))
    build = stages[0].instructions
    installs = [i for i in build if i.keyword == "RUN" and 'pip" install' in i.value]
    assert len(installs) == 1, "one pip install, in the build stage"
    words = shlex.split(installs[0].value)
    assert {"--require-hashes", "--no-deps"} <= set(words)
    assert words[words.index("-r") + 1] == LOCK
    # The lock is in place before the install, and is the only thing copied before it.
    copies = [i.value for i in build[: build.index(installs[0])] if i.keyword == "COPY"]
    assert copies == [f"{LOCK} {LOCK}"]
    # Every pinned requirement carries its hashes (pip refuses the file otherwise; this says why).
    lock = (PROJECT_ROOT / LOCK).read_text()
    for requirement in re.split(r"\n(?=[A-Za-z0-9])", lock.strip()):
        assert "--hash=sha256:" in requirement, requirement.splitlines()[0]


def test_the_build_stage_installs_the_lock_into_the_venv(image: Image) -> None:
    assert image.stages[0].image == image.stages[-1].image, "build and run on the same Python"
    assert image.build.skipped == [], "the build stage changes no system users"
    venv = image.host(image.final.image_env["VIRTUAL_ENV"])
    # The scripts name the venv's Python at the path the final stage has it.
    shebang = (venv / "bin" / "piccolo").read_text().splitlines()[0]
    assert shebang.startswith(f"#!{venv}/bin/python")
    frozen = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "freeze"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    installed = {(canonical(name), version) for name, version in pins(frozen)}
    locked = {
        (canonical(name), version) for name, version in pins((PROJECT_ROOT / LOCK).read_text())
    }
    assert installed - locked == set(), "installed but not pinned by the lock"
    assert {"litestar", "piccolo", "piccolo-admin", "uvicorn", "asyncpg", "aiosqlite"} <= {
        name for name, _ in installed
    }


def pins(text: str) -> list[tuple[str, str]]:
    return re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", text, re.MULTILINE)


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_the_final_stage_holds_only_the_venv_and_the_code(image: Image) -> None:
    assert sorted(path.name for path in image.root.iterdir()) == ["app", "opt"]
    app = image.host(image.final.workdir)
    for kept in (
        "main.py",
        "piccolo_conf.py",
        "project",
        "templates",
        "static",
        "piccolo_migrations",
        LOCK,
    ):
        assert (app / kept).exists(), kept
    ignore = DockerIgnore(DOCKERIGNORE.read_text())
    left_in = [
        path.relative_to(app).as_posix()
        for path in app.rglob("*")
        if "__pycache__" not in path.parts and ignore.excludes(path.relative_to(app).as_posix())
    ]
    assert left_in == []
    for kept_out in (".git", ".venv", ".env", "data", "tests", "bench", "test-artifacts"):
        assert not (app / kept_out).exists(), kept_out
    # Compiled in the build stage, because the app user can't write next to the sources.
    assert list((app / "bandstand" / "__pycache__").glob("settings.*.pyc"))


def test_it_runs_as_an_unprivileged_user(image: Image) -> None:
    user = image.final.user
    assert re.fullmatch(r"\d+(:\d+)?", user), "a numeric USER (Kubernetes' runAsNonRoot needs it)"
    uid = int(user.split(":")[0])
    assert uid != 0
    assert image.final.skipped, "the user is created in the final stage (a skipped system step)"
    assert all(f"--uid {uid}" in step for step in image.final.skipped if "useradd" in step)


def test_the_images_user_cannot_change_the_code(image: Image) -> None:
    if os.geteuid() != 0:
        skip_unless_ci("only root can become the image's user")
    # Everything copied into the image is root's, and the image's user can't change any of it.
    owners = {path.lstat().st_uid for path in image.root.rglob("*")}
    assert owners == {0}
    attempt = as_user(image, [str(image.host("/opt/venv/bin/python")), "-c", WRITE_ATTEMPT])
    assert attempt.returncode == 0, attempt.stdout + attempt.stderr
    assert attempt.stdout.split() == ["refused", "refused", "refused"]


WRITE_ATTEMPT = """
import os, sysconfig
for folder in (os.getcwd(), os.path.join(os.getcwd(), "project"), sysconfig.get_path("purelib")):
    try:
        open(os.path.join(folder, "written-by-the-app"), "w").close()
        print("written")
    except PermissionError:
        print("refused")
"""


def as_user(image: Image, command: list[str]) -> subprocess.CompletedProcess[str]:
    uid, _, gid = image.final.user.partition(":")
    return subprocess.run(
        command,
        cwd=image.host(image.final.workdir),
        env=runtime_env(image, {}),
        user=int(uid),
        group=int(gid or uid),
        extra_groups=[],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def runtime_env(image: Image, platform: Mapping[str, str]) -> dict[str, str]:
    """The image's ENV and what Docker adds (HOME from the user's passwd entry, which
    `useradd --home-dir /nonexistent` gives), plus what the platform sets."""
    return {**image.final.host_env, "HOME": "/nonexistent", **platform}


def test_the_cmd_serves_the_probes_and_stops_on_sigterm(image: Image) -> None:
    assert image.final.exposed == [str(DEFAULT_PORT)]
    assert image.final.image_env["ENVIRONMENT"] == "production"
    assert image.final.image_env["PYTHONUNBUFFERED"] == "1"
    state = image.workspace / "state"  # the only writable folder: the SQLite database's
    state.mkdir()
    # As the image's user when the test may become it; otherwise as whoever runs the test.
    uid: int | None = None
    gid: int | None = None
    groups: list[int] | None = None
    if os.geteuid() == 0:
        user, _, group = image.final.user.partition(":")
        uid, gid, groups = int(user), int(group or user), []
        os.chown(state, uid, gid)
    port = free_port()
    env = runtime_env(
        image,
        {
            "PORT": str(port),
            "SECRET_KEY": secrets.token_urlsafe(48),
            "DATABASE_URL": f"sqlite:///{state}/bandstand.sqlite3",
            "FORWARDED_ALLOW_IPS": "*",
        },
    )
    workdir = image.host(image.final.workdir)
    # The recipes' release command first, as a platform's release phase runs it.
    released = subprocess.run(
        procfile_command("release").split(),
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        user=uid,
        group=gid,
        extra_groups=groups,
    )
    assert released.returncode == 0, released.stdout + released.stderr

    log = image.workspace / "serve.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            image.final.cmd,
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            user=uid,
            group=gid,
            extra_groups=groups,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(f"{base}/healthz", server, log)
        # Host headers a platform's probe might send: the probes answer whatever the Host.
        assert httpx.get(f"{base}/healthz", headers={"host": "10.0.0.7:8080"}).status_code == 200
        ready = httpx.get(f"{base}/readyz", headers={"host": "10.0.0.7:8080"})
        assert ready.status_code == 200, ready.text
        health = subprocess.run(
            image.final.healthcheck,
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
            user=uid,
            group=gid,
            extra_groups=groups,
        )
        assert health.returncode == 0, health.stdout + health.stderr

        server.send_signal(signal.SIGTERM)
        # A single server re-raises SIGTERM once it has shut down, as uvicorn does.
        assert server.wait(timeout=45) in (0, -signal.SIGTERM)
        assert "Application shutdown complete" in log.read_text()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=30)
    # Nothing left listening: the health check now fails, as Docker would see it.
    after = subprocess.run(image.final.healthcheck, env=env, capture_output=True, check=False)
    assert after.returncode != 0


def procfile_command(process: str) -> str:
    lines = (PROJECT_ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip())[process]


def wait_for(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"the CMD did not serve ({process.poll()}):\n{log.read_text()}")
        time.sleep(0.2)
