"""The browser pages, the static files they load, and the headers every response carries.

- Pages (``PAGES``) are sent with ``Cache-Control: no-cache`` and the security headers of
  ``PAGE_HEADERS``: a strict Content-Security-Policy (scripts and styles from this origin
  only, nothing inline), no framing by any site (clickjacking), no referrer, the camera,
  microphone and screen for this origin only, and a browsing context of their own.
- ``/static/`` serves only what the pages load: files of ``STATIC_SUFFIXES`` in the folders
  of ``STATIC_FOLDERS``. Everything else of ``web/`` (node_modules, package.json and its
  lock, source maps, the pages themselves, dotfiles) answers 404, as do symlinks.
- With ``page_test_hooks`` on (browser tests only), each page carries
  ``<meta name="kotha-test-hooks" content="on">``, and only then does it expose its
  state as ``window.kotha``; without it the page is sent as the file it is.
- Every response that goes through the app (pages, API, socket.io, errors, 404s) names
  the server only as ``kotha`` (aiohttp would name itself and the Python version) and
  carries ``X-Content-Type-Options: nosniff``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import hdrs, web

from signaling.keys import CONFIG

WEB_ROOT = Path(__file__).resolve().parent.parent / "web"
PAGES = {
    "/": "index.html",
    "/support": "support.html",
    "/agent": "agent.html",
    "/replay": "replay.html",
    "/dashboard": "dashboard.html",
    "/audit": "audit.html",
    "/reports": "reports.html",
}
# What the pages load from /static/<folder>/: their modules, styles, icons and the
# socket.io client. Source maps (.map) are left out on purpose.
STATIC_FOLDERS = frozenset({"js", "css", "img", "vendor"})
STATIC_SUFFIXES = frozenset({".js", ".css", ".svg", ".png", ".webp", ".woff2"})
SERVER_NAME = "kotha"
# Read by web/js/ui.js exposeForTests(); a meta tag, so the page knows before any request.
TEST_HOOKS_META = '<meta name="kotha-test-hooks" content="on">'

# https://www.w3.org/TR/CSP3/. 'self' also matches ws: and wss: on the page's own host
# and port (CSP3 "self" scheme rule, in Chromium and Firefox), which is how socket.io
# connects. Styles: the pages have no inline style attribute or <style>; scripts set
# element.style (CSSOM), which style-src does not govern. data: is the empty favicon.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    # frame-ancestors for browsers that predate it.
    "X-Frame-Options": "DENY",
    # The agent's and the customer's tokens ride in the fragment, which is never sent,
    # but the path and query of a page are nobody else's business either.
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(self), microphone=(self), display-capture=(self)",
    # A page opened from another site cannot reach this one through window.opener.
    "Cross-Origin-Opener-Policy": "same-origin",
}


def add_routes(app: web.Application) -> None:
    """The pages, ``/static/``, and the Server and nosniff headers on every response."""
    for path, filename in PAGES.items():
        app.router.add_get(path, _page(WEB_ROOT / filename))
    app.router.add_get("/static/{path:.+}", _static)
    app.on_response_prepare.append(_common_headers)


def _page(path: Path) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handler(request: web.Request) -> web.StreamResponse:
        response: web.StreamResponse
        if request.app[CONFIG].page_test_hooks:
            response = web.Response(text=with_test_hooks(path), content_type="text/html")
        else:
            response = web.FileResponse(path)
        response.headers["Cache-Control"] = "no-cache"
        response.headers.update(PAGE_HEADERS)
        return response

    return handler


def with_test_hooks(path: Path) -> str:
    """The page with the meta tag that lets it expose ``window.kotha`` (browser tests)."""
    html = path.read_text(encoding="utf-8")
    return html.replace("</head>", f"  {TEST_HOOKS_META}\n</head>", 1)


async def _static(request: web.Request) -> web.FileResponse:
    loop = asyncio.get_running_loop()
    path = await loop.run_in_executor(None, static_file, request.match_info["path"])
    if path is None:
        raise web.HTTPNotFound()
    return web.FileResponse(path)


def static_file(relative: str) -> Path | None:
    """The file under ``web/`` that ``/static/<relative>`` may serve, or None (a 404).

    Args:
        relative: the path after ``/static/``, already percent-decoded.
    """
    parts = relative.split("/")
    if len(parts) < 2 or parts[0] not in STATIC_FOLDERS:
        return None
    # Empty, dot (".", "..", ".env") and odd segments never name a file we serve.
    if any(not part or part.startswith(".") or "\\" in part or "\0" in part for part in parts):
        return None
    path = WEB_ROOT.joinpath(*parts)
    if path.suffix not in STATIC_SUFFIXES:
        return None
    # Nothing reached through a symlink: WEB_ROOT is resolved, so any link changes the path.
    if path.resolve() != path or not path.is_file():
        return None
    return path


async def _common_headers(request: web.Request, response: web.StreamResponse) -> None:
    # aiohttp has set its own Server header (name and Python version) before this signal.
    response.headers[hdrs.SERVER] = SERVER_NAME
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
