"""What the commands share: the library, the generator and the output cache of this invocation, each
made once per command line. A caller (a test, an app embedding the CLI) may put its own "library",
"generator", "output_cache" or "embedder" into the root context's `obj`."""

from __future__ import annotations

import sys

import click

from service.dates import parse_range
from service.search import SearchFilter

DATE_HELP = "Feed date or range: today, yesterday, 2026-11-24, 2026-11-01..2026-11-24, last-7-days."


def shared(ctx: click.Context) -> dict:
    """The root context's object, where a caller's own components and this run's ones live."""
    root = ctx.find_root()
    root.ensure_object(dict)
    return root.obj


def settings(ctx: click.Context, **overrides):
    from service.settings import load_settings

    return load_settings(**{**shared(ctx).get("overrides", {}), **overrides})


def library(ctx: click.Context):
    from service.library import Library

    obj = shared(ctx)
    if obj.get("library") is None:
        obj["library"] = Library(settings(ctx), embedder=obj.get("embedder"))
        ctx.find_root().call_on_close(obj["library"].close)
    return obj["library"]


def generator(ctx: click.Context, for_settings=None):
    """The configured generator (`for_settings`, else the library's settings), loaded once a process."""
    obj = shared(ctx)
    if obj.get("generator") is None:
        from service.engines.factory import shared_generator

        obj["generator"] = shared_generator(for_settings or library(ctx).settings)
    return obj["generator"]


def output_cache(ctx: click.Context):
    return shared(ctx).get("output_cache") or library(ctx).outputs


def days(when: str | None):
    """The feed dates of a --date value, or None for every day."""
    try:
        return parse_range(when) if when else None
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--date") from None


def search_filter(when: str | None, sources: tuple[str, ...]) -> SearchFilter:
    return SearchFilter(days(when), tuple(sources))


class progress_bar:
    """A tqdm bar on stderr driven by (done, total) callbacks; silent when nothing to do."""

    def __init__(self, label: str):
        self.label, self.bar = label, None

    def __enter__(self):
        return self.update

    def update(self, done: int, total: int) -> None:
        if total == 0:
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=self.label, unit="chunk", file=sys.stderr, leave=False, disable=None)
        self.bar.n = done
        self.bar.refresh()

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.close()
