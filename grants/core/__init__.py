"""The framework-free core: models, the ledger and the programme's operations.

Nothing under this package imports Flask. Views, CLI commands and tests all call the
operations the same way: with a database session and the acting user as arguments.
Operations flush and never commit; the caller owns the one commit.
"""
