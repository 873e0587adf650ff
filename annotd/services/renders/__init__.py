"""Exports: the job service (:mod:`.service`: queue, jobs, eviction), the job record
(:mod:`.jobs`) and the render worker (:mod:`.worker`). No HTTP here: the download route is
in :mod:`annotd.net.httpserver`, the commands in :mod:`annotd.commands.exports`."""

from .jobs import Job
from .service import ExportService, Rooms

__all__ = ["ExportService", "Job", "Rooms"]
