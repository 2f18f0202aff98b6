"""The `paperbrief` group: global options, expected failures as one clear line, and every command."""

from __future__ import annotations

import logging

import click

from service.cli import ask, eval, library, serve, summaries
from service.errors import expected_errors


class Friendly(click.Group):
    """Turn expected failures (`service.errors`) into one clear line instead of a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except expected_errors() as error:
            raise click.ClickException(str(error)) from error


@click.group(cls=Friendly)
@click.option("--home", type=click.Path(file_okay=False), help="Data directory (default: PAPERBRIEF_HOME or the user data dir).")
@click.option("--chroma-url", help="Use a Chroma server, e.g. http://127.0.0.1:8000.")
@click.option("-v", "--verbose", is_flag=True, help="Log what happens.")
@click.version_option(package_name="paperbrief")
@click.pass_context
def main(ctx: click.Context, home: str | None, chroma_url: str | None, verbose: bool) -> None:
    """paperbrief: today's papers, summarised, searchable and answerable — locally."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    ctx.ensure_object(dict)
    ctx.obj["overrides"] = {"home": home, "chroma_url": chroma_url}


for command in (*library.COMMANDS, *ask.COMMANDS, *summaries.COMMANDS, eval.eval_group, serve.serve):
    main.add_command(command)
