"""The staff console's files (app/console), served at /console/ on the public origin.

The page holds no data: everything it shows comes from the staff-only operations API,
with the token staff sign in for. Its headers keep it to its own origin: scripts and
styles from its own files only, no framing, no referrer, and a revalidation on each load
so a release's console is the one staff get.
"""

from __future__ import annotations

from pathlib import Path

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

FILES = Path(__file__).resolve().parents[1] / "console"
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


class ConsoleFiles(StaticFiles):
    def __init__(self) -> None:
        super().__init__(directory=FILES, html=True)

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.update(HEADERS)
        return response
