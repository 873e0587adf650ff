"""An export job's record: what was asked, its status, timings and (while held) its bytes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ...base.docstate import StateParts
from ...base.identifiers import file_stem
from ...render.options import RenderOptions

Status = Literal["queued", "running", "done", "failed", "evicted"]
FINISHED: tuple[Status, ...] = ("done", "failed", "evicted")
MIME = {"png": "image/png", "jpg": "image/jpeg", "svg": "image/svg+xml"}


@dataclass(eq=False)
class Job:
    id: str
    room_id: str
    format: str
    seq: int
    tag: str | None
    options: RenderOptions
    options_json: dict[str, Any]
    state: StateParts | None
    """The document to render (a snapshot and the updates after it); dropped once the job runs or ends."""
    created_at: int
    session: str | None = None
    """The room socket that asked: it alone is told when the job ends."""
    status: Status = "queued"
    started_at: int | None = None
    finished_at: int | None = None
    finished_mono: float | None = None
    render_ms: float | None = None
    cpu_ms: float | None = None
    size: int | None = None
    error: str | None = None
    result: bytes | None = field(default=None, repr=False)

    @property
    def mime(self) -> str:
        return MIME[self.format]

    @property
    def filename(self) -> str:
        """The version's tag, else the time the export was asked (:func:`file_stem`)."""
        return f"{file_stem(self.room_id, self.tag, self.created_at / 1000)}.{self.format}"

    def to_json(self) -> dict[str, Any]:
        return {
            "jobId": self.id,
            "roomId": self.room_id,
            "status": self.status,
            "format": self.format,
            "seq": self.seq,
            "tag": self.tag,
            "mime": self.mime,
            "fileName": self.filename,
            "size": self.size,
            "error": self.error,
            "createdAt": self.created_at,
            "startedAt": self.started_at,
            "finishedAt": self.finished_at,
            "renderMs": None if self.render_ms is None else round(self.render_ms, 1),
            "options": self.options_json,
        }
