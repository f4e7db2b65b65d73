"""Logging in and out."""

from flask import Blueprint

bp = Blueprint("auth", __name__, url_prefix="/auth")

from grants.auth import gift_links, invitations, two_step, views  # noqa: E402,F401

bp.before_app_request(two_step.require_setup)
