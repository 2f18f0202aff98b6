"""`paperbrief` command line: one module per command group, the shared context helpers in `context`,
and the group itself in `main`. Every command calls the same service functions as the web app and API."""

from service.cli.main import main

__all__ = ["main"]
