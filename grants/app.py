"""The Flask application factory: configuration, extensions, blueprints, CLI commands."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, g, request

import config as app_config
from grants import database, health, i18n, labels, limits, logs, mailer, privacy, security, web
from grants.core import audit, passwords
from grants.core.clock import clock
from grants.hosts import TrustedHosts
from grants.security import areas_for

ROOT = Path(__file__).resolve().parent.parent


def create_app(overrides: dict | None = None, *, env: str | None = None) -> Flask:
    """The application factory. `overrides` replace settings (tests pass DATABASE_URL)."""
    settings = app_config.load(env, overrides)
    app = Flask(
        __name__,
        instance_path=settings["INSTANCE_PATH"],
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.from_mapping(settings)
    # First: its request hooks then time (and log) everything the others do.
    logs.init_app(app)
    if app.config.get("PROXY_HOPS"):
        # Behind N reverse proxies that each append the client's address: only the
        # addresses they wrote are believed, so a forged X-Forwarded-For sent by a
        # client cannot dodge rate limits or fake the origin in the audit log.
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["PROXY_HOPS"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=0)
    if app.config.get("TRUSTED_HOSTS"):
        app.wsgi_app = TrustedHosts(app.wsgi_app, app.config["TRUSTED_HOSTS"])
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    passwords.configure(
        time_cost=app.config["ARGON2_TIME_COST"],
        memory_cost=app.config["ARGON2_MEMORY_COST"],
        parallelism=app.config["ARGON2_PARALLELISM"],
    )
    # Before any blueprint is registered, so every <int:...> in a route is bounded.
    app.url_map.converters["int"] = web.BoundedInt
    web.init_app(app)
    database.init_app(app)
    security.init_app(app)
    mailer.init_app(app)
    i18n.init_app(app)
    labels.init_app(app)
    privacy.init_app(app)
    limits.init_app(app)
    _record_origin(app)

    from grants import admin, auth, errors, finance, home, partner, resources, staff, wallet
    from grants.cli import register_commands

    for area in (home, auth, wallet, staff, partner, finance, admin, resources):
        app.register_blueprint(area.bp)
    health.init_app(app)
    errors.init_app(app)
    app.context_processor(
        lambda: {"site_name": app.config["SITE_NAME"], "areas_for": areas_for, "now": clock.now}
    )
    register_commands(app)
    return app


def _record_origin(app: Flask) -> None:
    """Audit entries written during a request say which address it came from."""

    @app.before_request
    def _set():
        g.audit_origin = audit.set_origin(request.remote_addr)

    @app.teardown_request
    def _reset(_error):
        token = g.pop("audit_origin", None)
        if token is not None:
            audit.reset_origin(token)
