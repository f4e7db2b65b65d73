import functools

from flask.cli import AppGroup

from grants.core import audit


class Group(AppGroup):
    """A command group whose commands record "cli" as the origin of their changes."""

    def command(self, *args, **kwargs):
        wrap = super().command(*args, **kwargs)

        def decorator(callback):
            @functools.wraps(callback)
            def with_origin(*a, **kw):
                with audit.origin("cli"):
                    return callback(*a, **kw)

            return wrap(with_origin)

        return decorator
