"""grants: therapy-funding grant management for a music platform's creator programmes.

The web application lives in grants.app; the framework-free core in grants.core. This
module imports neither eagerly, so `import grants.core` never pulls in Flask.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def create_app(overrides: dict | None = None, *, env: str | None = None) -> Flask:
    """The application factory (see grants.app.create_app)."""
    from grants.app import create_app as factory

    return factory(overrides, env=env)
