"""gunicorn's settings for a real deployment:

    gunicorn --config python:grants.gunicorn_config wsgi:app

Read from the environment, like the app's own settings. The app's configuration is checked
here first, so a setting production refuses stops gunicorn at once with the reason, instead
of every worker failing to boot in turn. See docs/deploy.md.
"""

from __future__ import annotations

import os
from pathlib import Path

import config as app_config

try:
    _settings = app_config.load()
except app_config.ConfigError as error:
    raise SystemExit(f"grants cannot start: {error}") from None

proc_name = "grants"
# Behind a reverse proxy on the same host; in a container, GRANTS_BIND=0.0.0.0:8000.
bind = [os.environ.get("GRANTS_BIND", "127.0.0.1:8000")]
# Sync workers: each request holds one worker; requests wait on the database, not the CPU.
workers = int(os.environ.get("WEB_CONCURRENCY") or 2 * (os.cpu_count() or 1) + 1)
worker_class = "sync"
timeout = 30  # a worker stuck longer than this is killed and replaced
graceful_timeout = 25  # on SIGTERM or a reload, requests under way get this long to finish
keepalive = 5  # the reverse proxy keeps connections open between requests
# Each worker is replaced after this many requests (staggered), so slow leaks stay small.
max_requests = 2000
max_requests_jitter = 200
# Each worker imports the app itself: no database connection crosses a fork, and a reload
# (SIGHUP) brings new code in without dropping a request.
preload_app = False
# The app logs each request itself, by route rather than by raw path (grants.logs); the
# access log would write paths with tokens and query strings in them.
accesslog = None
errorlog = "-"
loglevel = _settings["LOG_LEVEL"].lower()
# gunicorn 27 opens a control socket in the home directory unless told not to; nothing here
# uses it, and a service account's home may be read-only.
control_socket_disable = True
if Path("/dev/shm").is_dir():
    # Workers' heartbeat files on memory, not on a disk that may stall (containers).
    worker_tmp_dir = "/dev/shm"

if _settings["LOG_FORMAT"] == "json":
    # gunicorn's own lines (workers booting, timeouts) as JSON too, like the app's.
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "root": {"level": _settings["LOG_LEVEL"], "handlers": []},
        "loggers": {
            "gunicorn.error": {"level": _settings["LOG_LEVEL"], "handlers": ["json"]},
            "gunicorn.access": {"level": "INFO", "handlers": []},
        },
        "handlers": {"json": {"class": "grants.logs.StderrHandler", "formatter": "json"}},
        "formatters": {"json": {"()": "grants.logs.JsonFormatter"}},
    }
