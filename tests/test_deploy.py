"""The deployment guide (docs/deploy.md) and the files it ships (deploy/): the compose file
and the systemd units parse and run exactly the commands the guide gives, every setting
they use is documented, the example settings are complete, and the guide's gunicorn
command, migration command and jobs runner really start, under the production profile,
against PostgreSQL (a scratch database on the test server) and Redis.

The last test needs PostgreSQL and Redis; it is skipped without them, unless
GRANTS_REQUIRE_POSTGRES=1 (or GRANTS_REQUIRE_REDIS=1) says they must be there.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

import config
from grants.core.db import make_engine
from grants.core.models.jobs import JobRun
from grants.jobs import JOBS
from tests.conftest import PG_URL, REQUIRE_POSTGRES, scratch_postgres
from tests.test_crash_safety import Gunicorn, _kill_group, _tail, _wait_for
from tests.test_partners import need_redis

ROOT = Path(__file__).resolve().parent.parent
GUIDE = (ROOT / "docs" / "deploy.md").read_text()
DEPLOY = ROOT / "deploy"
SERVER_URL = PG_URL or "postgresql+psycopg://postgres@127.0.0.1:5432/test"
VENV_BIN = "/srv/grants/venv/bin/"  # where the units expect the virtual environment


def code_lines(markdown: str) -> list[str]:
    """The lines of every fenced code block, a line ending in a backslash joined to the next."""
    lines, inside, pending = [], False, ""
    for line in markdown.splitlines():
        if line.startswith("```"):
            inside = not inside
            continue
        if inside:
            pending += line.strip()
            if pending.endswith("\\"):
                pending = pending[:-1] + " "
                continue
            lines.append(re.sub(r"\s+#.*$", "", pending).strip())
            pending = ""
    return lines


def documented(start: str) -> list[str]:
    """The one command the guide gives that starts with `start`, as arguments."""
    found = {line for line in code_lines(GUIDE) if line.split() and line.startswith(start)}
    assert len(found) == 1, f"the guide should give one `{start}...` command, not {found}"
    return shlex.split(found.pop())


WEB = documented("gunicorn ")
JOBS_RUNNER = documented("flask --app wsgi jobs run")
MIGRATE = documented("flask --app wsgi db upgrade")


def settings_table(markdown: str, heading: str) -> set[str]:
    """The variable names in the first column of the table under `heading`."""
    section = markdown.split(heading, 1)[1]
    table = section[: section.find("\n\n", section.find("|"))]
    cells = [line.split("|")[1] for line in table.splitlines() if line.startswith("| `")]
    return {name for cell in cells for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", cell)}


def env_file(path: Path) -> dict[str, str]:
    """NAME=value lines, as systemd's EnvironmentFile= and compose's env_file: read them."""
    lines = [line for line in path.read_text().splitlines() if not line.startswith("#")]
    pairs = [line.split("=", 1) for line in lines if "=" in line]
    return {name.strip(): value for name, value in pairs}


def unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """A systemd unit: section -> key -> every value given (keys may repeat)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, _, value = line.partition("=")
        assert current is not None and _ == "=", f"{path.name}: not a unit line: {raw!r}"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def test_the_guide_gives_the_commands_the_tests_run():
    assert WEB == ["gunicorn", "--config", "python:grants.gunicorn_config", "wsgi:app"]
    assert JOBS_RUNNER == ["flask", "--app", "wsgi", "jobs", "run"]
    assert MIGRATE == ["flask", "--app", "wsgi", "db", "upgrade"]
    for name, job in JOBS.items():  # every job, with its interval, in the guide's table
        every = job.every.total_seconds()
        words = f"{every / 3600:g} hours" if every >= 3600 else f"{every / 60:g} minutes"
        words = f"{every:g} seconds" if every < 60 else words
        assert re.search(rf"^\| `{name}` \| {words} \|", GUIDE, re.M), (name, words)


def test_compose_runs_what_the_guide_says():
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "migrate", "web", "jobs"}
    assert services["web"]["command"] == WEB
    assert services["jobs"]["command"] == JOBS_RUNNER
    assert services["migrate"]["command"] == MIGRATE
    assert services["migrate"]["restart"] == "no"
    for name in ("web", "jobs"):
        after = services[name]["depends_on"]
        assert after["migrate"] == {"condition": "service_completed_successfully"}
        assert after["redis"] == {"condition": "service_healthy"}
    assert services["migrate"]["depends_on"]["postgres"] == {"condition": "service_healthy"}
    for name in ("migrate", "web", "jobs"):
        service = services[name]
        assert service["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
        assert service["env_file"] == "grants.env"
        environment = service["environment"]
        assert environment["GRANTS_ENV"] == "production"
        url = make_url(environment["DATABASE_URL"].replace("${POSTGRES_PASSWORD", "x${"))
        assert (url.drivername, url.host, url.database) == (
            "postgresql+psycopg",
            "postgres",
            "grants",
        )
        assert environment["RATELIMIT_STORAGE_URI"] == "redis://redis:6379/0"
    assert services["web"]["environment"]["GRANTS_BIND"] == "0.0.0.0:8000"
    assert services["web"]["ports"] == ["127.0.0.1:8000:8000"]  # for the proxy on the host
    assert "/readyz" in " ".join(services["web"]["healthcheck"]["test"])
    assert services["postgres"]["image"] == "postgres:15" and "PostgreSQL 15" in GUIDE
    assert "pgdata" in compose["volumes"]


def test_the_image_runs_the_documented_command():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    [command] = re.findall(r"^CMD (\[.*\])$", dockerfile, re.M)
    assert json.loads(command) == WEB
    assert "pip install -e '.[deploy]'" in dockerfile and "pybabel -q compile" in dockerfile
    assert re.search(r"GRANTS_ENV=production", dockerfile) and "USER grants" in dockerfile
    copied = set(re.findall(r"^COPY (\S+) \1$", dockerfile, re.M))
    assert {"grants", "migrations", "templates", "static", "translations"} <= copied


def test_systemd_units_run_what_the_guide_says():
    units = {path.stem: unit(path) for path in (DEPLOY / "systemd").glob("*.service")}
    assert set(units) == {"grants-web", "grants-jobs", "grants-migrate"}
    expected = {"grants-web": WEB, "grants-jobs": JOBS_RUNNER, "grants-migrate": MIGRATE}
    for name, sections in units.items():
        service = sections["Service"]
        [start] = service["ExecStart"]
        assert start.startswith(VENV_BIN)
        assert shlex.split(start[len(VENV_BIN) :]) == expected[name], name
        assert service["User"] == ["grants"] and service["WorkingDirectory"] == ["/srv/grants/app"]
        assert service["EnvironmentFile"] == ["/etc/grants/grants.env"]
        assert service["ReadWritePaths"] == ["/srv/grants/instance"]
        assert f"{name}.service" in GUIDE
    web, jobs = units["grants-web"]["Service"], units["grants-jobs"]["Service"]
    assert web["Type"] == ["notify"] and web["ExecReload"] == ["/bin/kill -s HUP $MAINPID"]
    assert jobs["Restart"] == ["always"] and jobs["KillSignal"] == ["SIGTERM"]
    assert units["grants-migrate"]["Service"]["Type"] == ["oneshot"]
    for name in ("grants-web", "grants-jobs"):
        assert units[name]["Install"]["WantedBy"] == ["multi-user.target"]
    for path in ("/etc/grants/grants.env", "/srv/grants/venv", "/srv/grants/app"):
        assert path in GUIDE


def test_systemd_accepts_the_units(tmp_path):
    """systemd's own check, where it is installed, with the paths pointed at this checkout
    (it insists the programs exist). Any complaint fails the test."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    (tmp_path / "grants.env").write_text("GRANTS_ENV=production\n")
    names = []
    for path in (DEPLOY / "systemd").glob("*.service"):
        text = path.read_text()
        text = text.replace("/srv/grants/venv/bin", str(Path(sys.executable).parent))
        text = text.replace("/srv/grants/app", str(ROOT))
        text = text.replace("/etc/grants/grants.env", str(tmp_path / "grants.env"))
        text = text.replace("/srv/grants/instance", str(tmp_path))
        (tmp_path / path.name).write_text(text)
        names.append(f"./{path.name}")
    done = subprocess.run(
        [analyze, "verify", "--man=no", *names],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and not (done.stdout + done.stderr).strip(), done.stderr


def test_every_setting_is_documented_and_the_example_is_complete(monkeypatch):
    documented_names = settings_table(GUIDE, "## Settings")
    example = env_file(DEPLOY / "grants.env.example")
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    in_compose = {
        name for service in compose["services"].values() for name in service.get("environment", {})
    }
    in_compose -= {"POSTGRES_USER", "POSTGRES_DB", "POSTGRES_PASSWORD"}  # the image's own
    assert set(example) <= documented_names, set(example) - documented_names
    assert in_compose <= documented_names, in_compose - documented_names
    read = (ROOT / "config.py").read_text() + (ROOT / "grants" / "gunicorn_config.py").read_text()
    unread = {name for name in documented_names if f'"{name}"' not in read}
    assert not unread, f"documented but read by nothing: {unread}"
    readme = settings_table((ROOT / "README.md").read_text(), "## Configuration")
    assert documented_names - {"GRANTS_ENV"} <= readme, documented_names - readme
    # Filled in where it is left blank, the example is a configuration production accepts.
    for name in list(os.environ):
        if name in documented_names or name.startswith(("MAIL_", "GRANTS_")):
            monkeypatch.delenv(name)
    for name, value in example.items():
        monkeypatch.setenv(name, value or secrets.token_hex(24))
    settings = config.load()
    assert settings["ENV_NAME"] == "production" and settings["MAIL_BACKEND"] == "smtp"
    assert settings["TRUSTED_HOSTS"] == ["grants.example.org", "localhost", "127.0.0.1"]


# --- the guide's commands, really run ----------------------------------------------------


def _postgres_or_skip() -> None:
    server = make_url(SERVER_URL)
    try:
        psycopg.connect(
            host=server.host, port=server.port or 5432, user=server.username,
            dbname=server.database, connect_timeout=3,
        ).close()  # fmt: skip
    except psycopg.OperationalError as error:
        if REQUIRE_POSTGRES:
            pytest.fail(f"GRANTS_REQUIRE_POSTGRES=1 but PostgreSQL cannot be reached: {error}")
        pytest.skip(f"PostgreSQL is not reachable at {server.host}:{server.port}")


@pytest.fixture
def scratch_database():
    """A new database on the PostgreSQL server, dropped afterwards."""
    _postgres_or_skip()
    with scratch_postgres(SERVER_URL, "grants_deploy") as url:
        yield url


def _as_run_here(command: list[str]) -> list[str]:
    """The guide's command with this Python's copy of the program (`flask`, `gunicorn`)."""
    return [sys.executable, "-m", command[0], *command[1:]]


def _production(tmp_path: Path, database_url: str, smtp_port: int) -> dict[str, str]:
    """The example settings, pointed at the test's PostgreSQL, Redis and SMTP server."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("GRANTS_", "MAIL_", "RATELIMIT_", "DATABASE_", "FLASK_", "LOG_"))
    }
    env.update(env_file(DEPLOY / "grants.env.example"))
    env.update(
        SECRET_KEY=secrets.token_hex(32),
        BASE_URL="https://grants.test",
        DATABASE_URL=database_url,
        RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/0",
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=str(smtp_port),
        MAIL_USE_TLS="0",
        MAIL_USERNAME="",
        MAIL_PASSWORD="",
        GRANTS_INSTANCE_PATH=str(tmp_path / "instance"),
        WEB_CONCURRENCY="2",
    )
    return env


def _get(port: int, path: str, host: str | None = None) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers={"Host": host} if host else {})
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def _json_lines(text: str) -> list[dict]:
    lines = [line for line in text.splitlines() if line.strip()]
    return [json.loads(line) for line in lines]  # each line is one JSON object


def test_the_documented_commands_start_the_stack_on_postgresql(
    tmp_path, scratch_database, smtp_server
):
    need_redis()
    env = _production(tmp_path, scratch_database, smtp_server.port)
    migrated = subprocess.run(
        _as_run_here(MIGRATE), cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert migrated.returncode == 0, migrated.stderr
    assert "database at revision" in migrated.stdout

    web = Gunicorn(env, tmp_path / "gunicorn.log", command=_as_run_here(WEB), probe="/healthz")
    env["GRANTS_BIND"] = f"127.0.0.1:{web.port}"
    runner = None
    try:
        web.start()
        status, body = _get(web.port, "/readyz")
        assert status == 200, body
        assert json.loads(body)["checks"] == {
            "database": "ok",
            "migrations": "current",
            "rate_limits": "ok",
        }
        assert _get(web.port, "/healthz", host="localhost")[0] == 200
        assert _get(web.port, "/auth/login")[0] == 200
        assert _get(web.port, "/auth/login", host="elsewhere.example")[0] == 400
        assert len(web.workers()) == 2  # WEB_CONCURRENCY

        with (tmp_path / "jobs.log").open("wb") as log:
            runner = subprocess.Popen(
                _as_run_here(JOBS_RUNNER),
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        engine = make_engine(scratch_database)
        try:

            def every_job_ran() -> bool:
                assert runner.poll() is None, _tail(tmp_path / "jobs.log")
                with Session(engine) as session:
                    rows = session.scalars(select(JobRun)).all()
                return len(rows) == len(JOBS) and all(row.last_outcome == "ok" for row in rows)

            assert _wait_for(every_job_ran, timeout=30, interval=0.2), _tail(tmp_path / "jobs.log")
        finally:
            engine.dispose()
        runner.send_signal(signal.SIGTERM)  # as systemd and docker stop it
        assert runner.wait(timeout=20) == 0
    finally:
        if runner is not None:
            _kill_group(runner)
        web.stop()

    gunicorn_lines = _json_lines((tmp_path / "gunicorn.log").read_text())
    assert any(line["logger"] == "gunicorn.error" for line in gunicorn_lines)
    requests = [line for line in gunicorn_lines if line["logger"] == "grants.requests"]
    seen = {(line.get("route"), line.get("status")) for line in requests}
    assert ("/auth/login", 200) in seen
    assert ("/readyz", 200) not in seen  # probes that pass log at DEBUG, below INFO
    assert any("host this app does not serve" in line["message"] for line in requests)
    assert "elsewhere.example" not in (tmp_path / "gunicorn.log").read_text()
    jobs_output = (tmp_path / "jobs.log").read_text().splitlines()
    assert jobs_output[0].startswith("jobs: running ")  # the runner's own words, then JSON
    assert "jobs: SIGTERM, stopping after the job under way" in jobs_output
    logged = _json_lines("\n".join(line for line in jobs_output if line.startswith("{")))
    done = {m.group(1) for line in logged if (m := re.match(r"job (\S+) done ", line["message"]))}
    assert done == set(JOBS)
