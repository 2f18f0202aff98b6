"""One server: the JSON API under /api/v1, its OpenAPI docs at /docs, and the Gradio app at /.

Offline by construction: analytics off, no share links, system fonts, Gradio's files kept inside the
data directory. Optional access control (`--auth user:pass`, `--token`) guards every route.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
import threading
import time
from dataclasses import dataclass
from http.cookies import SimpleCookie
from urllib.parse import parse_qs

from service.web import ServeOptions, WebContext

TOKEN_COOKIE = "paperbrief_token"


def offline_environment(ctx: WebContext) -> None:
    """Before Gradio is imported or builds anything: no telemetry, and its upload dir under `home`."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ["GRADIO_TEMP_DIR"] = str(ctx.upload_dir)
    ctx.upload_dir.mkdir(parents=True, exist_ok=True)


def create_app(ctx: WebContext):
    """The FastAPI app with the API routes and the Gradio Blocks mounted at '/'."""
    offline_environment(ctx)
    import gradio as gr
    from fastapi import FastAPI

    from service.api import build_router, install_error_handlers
    from ui.app import CSS, THEME, build_ui

    app = FastAPI(title="paperbrief", version="1", docs_url="/docs", redoc_url=None,
                  description="Today's research papers: search, cited answers, TL;DRs, comparisons, digests.")
    install_error_handlers(app)
    app.include_router(build_router(ctx))
    if ctx.options.protected:
        app.add_middleware(AccessCheck, options=ctx.options)
    blocks = build_ui(ctx)
    return gr.mount_gradio_app(
        app, blocks, path="/", max_file_size=ctx.options.max_upload_bytes, theme=THEME, css=CSS,
        footer_links=["api"], ssr_mode=False, mcp_server=False, run_history=False, pwa=False,
        allowed_paths=[str(ctx.export_dir)], blocked_paths=_blocked(ctx),
    )


def _blocked(ctx: WebContext) -> list[str]:
    """Gradio must never serve the catalogue, the vectors or the caches, whatever a request names."""
    settings = ctx.library.settings
    return [str(settings.catalog_path), str(settings.chroma_path), str(settings.output_cache_path)]


# --- access control ----------------------------------------------------------------------------------


class AccessCheck:
    """ASGI middleware: HTTP Basic (--auth), a bearer token (--token), or the token's cookie.

    A browser opening `/?token=…` once gets the cookie, so Gradio's own requests pass too.
    """

    def __init__(self, app, options: ServeOptions):
        self.app = app
        self.users = options.users
        self.token = options.token

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = {key.decode("latin-1").lower(): value.decode("latin-1") for key, value in scope["headers"]}
        if self._allowed(headers):
            return await self.app(scope, receive, send)
        query_token = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token", [""])[0]
        if self.token and query_token and secrets.compare_digest(query_token, self.token):
            return await self.app(scope, receive, self._setting_cookie(send))
        await self._refuse(scope, send)

    def _allowed(self, headers: dict[str, str]) -> bool:
        scheme, _, value = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and self.token:
            return secrets.compare_digest(value.strip(), self.token)
        if scheme.lower() == "basic" and self.users:
            return self._user_matches(value.strip())
        cookie = SimpleCookie(headers.get("cookie", ""))
        return bool(self.token and TOKEN_COOKIE in cookie
                    and secrets.compare_digest(cookie[TOKEN_COOKIE].value, self.token))

    def _user_matches(self, encoded: str) -> bool:
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        # Every pair is compared, so the time taken says nothing about which user exists.
        matches = [secrets.compare_digest(user, u) & secrets.compare_digest(password, p) for u, p in self.users]
        return any(matches)

    def _setting_cookie(self, send):
        async def send_with_cookie(message):
            if message["type"] == "http.response.start":
                cookie = f"{TOKEN_COOKIE}={self.token}; Path=/; HttpOnly; SameSite=Strict"
                message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", cookie.encode())]}
            await send(message)
        return send_with_cookie

    async def _refuse(self, scope, send) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        headers = [(b"content-type", b"application/json")]
        if self.users:
            headers.append((b"www-authenticate", b'Basic realm="paperbrief", charset="UTF-8"'))
        await send({"type": "http.response.start", "status": 401, "headers": headers})
        await send({"type": "http.response.body", "body": b'{"detail": "authentication required"}'})


# --- running --------------------------------------------------------------------------------------


@dataclass
class RunningServer:
    url: str
    server: object  # uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


def serve_in_background(app, host: str = "127.0.0.1", port: int = 0) -> RunningServer:
    """Start uvicorn in a thread (port 0 = any free port) and return once it accepts connections."""
    import uvicorn

    config = uvicorn.Config(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="paperbrief-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the server did not start on {host}:{port}")
        time.sleep(0.05)
    bound = server.servers[0].sockets[0].getsockname()[1]
    return RunningServer(f"http://{host}:{bound}", server, thread)


def run(ctx: WebContext, on_ready=None) -> None:
    """Serve until interrupted (Ctrl-C)."""
    import uvicorn

    app = create_app(ctx)
    config = uvicorn.Config(app, host=ctx.options.host, port=ctx.options.port, log_level="warning")
    server = uvicorn.Server(config)
    if on_ready is not None:
        threading.Thread(target=_when_started, args=(server, on_ready), daemon=True).start()
    server.run()


def _when_started(server, callback) -> None:
    while not server.started and not server.should_exit:
        time.sleep(0.1)
    if server.started:
        callback()
