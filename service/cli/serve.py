"""`paperbrief serve`: the web app and the JSON API on one local server."""

from __future__ import annotations

import threading

import click

from service.cli import context
from service.web import ServeOptions


def _user_pass(ctx, param, values: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    users = []
    for value in values:
        user, sep, password = value.partition(":")
        if not sep or not user or not password:
            raise click.BadParameter("use user:password", param=param)
        users.append((user, password))
    return tuple(users)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Interface to listen on; anything but localhost needs --auth or --token.")
@click.option("--port", default=7860, show_default=True, type=click.IntRange(0, 65535))
@click.option("--auth", "users", multiple=True, callback=_user_pass, metavar="USER:PASS",
              help="Require HTTP Basic authentication (repeatable).")
@click.option("--token", envvar="PAPERBRIEF_SERVE_TOKEN",
              help="Require 'Authorization: Bearer TOKEN' (browsers: open /?token=TOKEN once).")
@click.option("--max-upload-mb", default=20, show_default=True, type=click.IntRange(1, 256))
@click.option("--queue-size", default=16, show_default=True, type=click.IntRange(1, 1000),
              help="Requests that may wait for the model before new ones are turned away.")
@click.option("--no-auto-tldr", is_flag=True, help="Don't write missing TL;DRs when the Today page opens.")
@click.option("--no-warmup", is_flag=True, help="Load the language model at the first request, not at start.")
@click.option("--insecure", is_flag=True, help="Allow a non-local --host without --auth or --token.")
@click.pass_context
def serve(ctx: click.Context, host, port, users, token, max_upload_mb, queue_size, no_auto_tldr, no_warmup,
          insecure) -> None:
    """Start the web app and the HTTP API (http://127.0.0.1:7860; API docs at /docs)."""
    from service.web import WebContext
    from ui.server import run  # the entry point: the one place service reaches up into ui

    if host not in ("127.0.0.1", "localhost", "::1") and not (users or token or insecure):
        raise click.UsageError(f"--host {host} exposes the app beyond this machine: add --auth or --token "
                               "(or --insecure if the network is trusted)")
    options = ServeOptions(host=host, port=port, users=users, token=token, max_upload_bytes=max_upload_mb * 2**20,
                           queue_size=queue_size, api_model_waiting=queue_size // 2 or 1,
                           auto_tldr=not no_auto_tldr)
    web_context = WebContext(context.library(ctx), options)
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    url = f"http://{shown_host}:{port}"

    def ready() -> None:
        click.echo(f"paperbrief is serving {url}  (API docs: {url}/docs; Ctrl-C stops)")
        if not no_warmup:
            # Load the model now, in the background, so the first question doesn't wait for it.
            threading.Thread(target=lambda: web_context.generator, name="paperbrief-warmup", daemon=True).start()

    run(web_context, on_ready=ready)
