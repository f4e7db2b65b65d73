"""Requests addressed to a host name the app does not serve are refused before Flask sees
them, with a plain 400.

Flask checks TRUSTED_HOSTS too, but only while it sets up a request, and a request it
refuses there has no way to build URLs, so the error page (which links the stylesheet)
could not be drawn. Refusing here answers cleanly and costs the app nothing.
"""

from __future__ import annotations

import logging

from werkzeug.sansio.utils import host_is_trusted
from werkzeug.wrappers import Response

log = logging.getLogger("grants.requests")


class TrustedHosts:
    """WSGI middleware: only requests whose Host header names one of `hosts` go on."""

    def __init__(self, app, hosts: list[str]) -> None:
        self.app = app
        self.hosts = list(hosts)

    def __call__(self, environ, start_response):
        host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "")
        if host_is_trusted(host, self.hosts):
            return self.app(environ, start_response)
        # The name itself is not logged: it is whatever the client chose to send.
        log.warning("request for a host this app does not serve refused (400)")
        refusal = Response("This address is not served here.\n", status=400, mimetype="text/plain")
        return refusal(environ, start_response)
