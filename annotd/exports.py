"""Export jobs: a bounded queue, a worker that renders off the event loop, results kept
in memory under a byte cap and a TTL. (Interface stub; filled in by the export work.)"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from .hub import Hub


class ExportService:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    async def start(self) -> None:
        """Start the worker task(s); called by the daemon after both ports listen."""

    async def stop(self) -> None:
        """Finish or cancel running jobs by the shutdown deadline; called by the daemon."""

    def metrics(self) -> dict[str, Any]:
        return {"export_jobs_pending": 0, "export_time_ms": {"p50": None, "p95": None}}

    def routes(self) -> list[web.RouteDef]:
        """HTTP routes that are not commands (the download)."""
        return []
