"""Typed, frozen configuration loaded from ``config.toml``.

Why frozen dataclasses: every limit the daemon enforces is read from one object that
cannot change under a running room, and each key has exactly one default (here) and one
documentation line (in ``config.toml``). Unknown keys are errors, so a typo never
silently falls back to a default.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_type_hints

from ..render.options import DEFAULT_MAX_OUTPUT_PIXELS, DEFAULT_PNG_SPEED, PNG_SPEEDS
from . import hosts


class ConfigError(ValueError):
    """The configuration file or an option is unusable; the message is one clear line."""


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    ws_port: int = 8765
    http_port: int = 8766
    allowed_origins: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] = ()
    shutdown_timeout_s: float = 5.0
    use_uvloop: bool = True
    compression: bool = False
    ping_interval_s: float = 20.0
    ping_timeout_s: float = 20.0
    gc_freeze: bool = True


@dataclass(frozen=True)
class LogConfig:
    level: str = "info"
    format: str = "text"


@dataclass(frozen=True)
class LimitsConfig:
    max_frame_bytes: int = 1_048_576
    max_rooms: int = 1000
    max_clients_per_room: int = 100
    max_connections: int = 2000
    send_queue_frames: int = 1024
    max_image_bytes: int = 20_000_000
    max_image_pixels: int = 40_000_000
    presence_max_hz: float = 30.0
    max_rpc_batch: int = 50
    max_http_body_bytes: int = 25_000_000
    max_command_body_bytes: int = 1_048_576
    max_bundle_bytes: int = 100_000_000
    max_bundle_uncompressed_bytes: int = 400_000_000
    max_bundle_entries: int = 10_000
    max_document_bytes: int = 16_777_216
    max_inbound_bytes_per_s: int = 1_048_576
    inbound_burst_bytes: int = 4_194_304
    max_pending_handshakes: int = 128
    handshake_timeout_s: float = 10.0
    import_batch_bytes: int = 65_536


@dataclass(frozen=True)
class RoomsConfig:
    auto_create: bool = False
    batch_window_ms: float = 12.0
    presence_ttl_s: float = 30.0
    presence_rebroadcast_s: float = 10.0
    save_dir: str = ""
    data_dir: str = ""
    unload_idle_s: float = 300.0


@dataclass(frozen=True)
class HistoryConfig:
    snapshot_every_ops: int = 200
    snapshot_every_s: float = 30.0
    snapshots_kept: int = 5
    snapshot_every_bytes: int = 4_194_304
    snapshot_tail_ratio: int = 16
    reconstruct_cache: int = 8
    max_events_per_request: int = 1000
    inline_encode_bytes: int = 1_048_576


SYNC_LEVELS = ("full", "batch", "off")
"""``storage.sync``: what a commit waits for before an update is acknowledged (see
``annotd/storage/DESIGN.md``): an fsync of the WAL (full), the OS page cache (batch), or
the OS page cache with no fsync ever, not even at checkpoints (off)."""


@dataclass(frozen=True)
class StorageConfig:
    sync: str = "full"
    max_batch_ops: int = 1000
    commit_interval_ms: float = 2.0
    retry_s: float = 1.0
    keep_days: float = 0.0
    keep_events: int = 0
    prune_interval_s: float = 3600.0
    quick_check: bool = False


@dataclass(frozen=True)
class ExportConfig:
    queue_size: int = 16
    result_bytes_cap: int = 256_000_000
    result_ttl_s: float = 3600.0
    png_speed: str = DEFAULT_PNG_SPEED
    max_output_pixels: int = DEFAULT_MAX_OUTPUT_PIXELS
    workers: int = 1
    executor: str = "process"
    worker_nice: int = 5


@dataclass(frozen=True)
class Config:
    server: ServerConfig = field(default_factory=ServerConfig)
    log: LogConfig = field(default_factory=LogConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    rooms: RoomsConfig = field(default_factory=RoomsConfig)
    history: HistoryConfig = field(default_factory=HistoryConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    export: ExportConfig = field(default_factory=ExportConfig)

    def replace(self, section: str, **changes: Any) -> Config:
        """A copy with some keys of one section changed (validated like the file)."""
        current = getattr(self, section)
        raw = {f.name: getattr(current, f.name) for f in fields(current)}
        raw.update(changes)
        return dataclasses.replace(self, **{section: _build(type(current), raw, section)})


_SECTIONS = {f.name: f for f in fields(Config)}
LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMATS = ("json", "text")


def _coerce(name: str, kind: Any, value: Any) -> Any:
    if kind is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{name}: expected true or false, got {value!r}")
    if kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"{name}: expected an integer, got {value!r}")
    if kind is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        raise ConfigError(f"{name}: expected a number, got {value!r}")
    if kind is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{name}: expected a string, got {value!r}")
    if kind == tuple[str, ...]:
        if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
            return tuple(value)
        raise ConfigError(f"{name}: expected a list of strings, got {value!r}")
    raise ConfigError(f"{name}: unsupported type")  # pragma: no cover - schema bug


RENAMED = {"export": "png_compress_level"}
"""Keys that were replaced: named in the error so an old config file says what to change."""


def _build(cls: type, raw: dict[str, Any], section: str) -> Any:
    hints = get_type_hints(cls)
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(raw) - known)
    if section in RENAMED and RENAMED[section] in unknown:
        raise ConfigError(f"[{section}] {RENAMED[section]} was replaced by png_speed (fast or small); see config.toml")
    if unknown:
        raise ConfigError(f"[{section}] unknown key {unknown[0]!r}")
    values = {k: _coerce(f"{section}.{k}", hints[k], v) for k, v in raw.items()}
    obj = cls(**values)
    _check(section, obj)
    return obj


def _check(section: str, obj: Any) -> None:
    """Range checks: a limit of 0 or a negative window is a mistake, not a wish."""
    for f in fields(obj):
        value = getattr(obj, f.name)
        if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
            raise ConfigError(f"{section}.{f.name}: must be >= 0, got {value}")
    if section == "server":
        if obj.ping_interval_s > 0 and obj.ping_timeout_s <= 0:
            raise ConfigError("server.ping_timeout_s: must be > 0 while pings are on (ping_interval_s > 0)")
        for port in (obj.ws_port, obj.http_port):
            if port > 65535:
                raise ConfigError(f"server: port {port} is out of range 0..65535")
        for origin in obj.allowed_origins:
            if origin != "*" and not re.fullmatch(r"https?://[^/\s]+", origin):
                raise ConfigError(f"server.allowed_origins: {origin!r} is not scheme://host[:port]")
        for host in obj.allowed_hosts:
            if host != hosts.ANY and not hosts.NAME_RE.fullmatch(host.lower()):
                raise ConfigError(f"server.allowed_hosts: {host!r} is not a host name (no scheme or port; "
                                  "a leading dot allows subdomains)")
    if section == "log":
        if obj.level not in LOG_LEVELS:
            raise ConfigError(f"log.level: expected one of {', '.join(LOG_LEVELS)}, got {obj.level!r}")
        if obj.format not in LOG_FORMATS:
            raise ConfigError(f"log.format: expected json or text, got {obj.format!r}")
    if section == "limits":
        for name in ("max_frame_bytes", "max_rooms", "max_clients_per_room", "send_queue_frames",
                     "max_image_bytes", "max_image_pixels", "max_connections", "max_bundle_bytes",
                     "max_bundle_uncompressed_bytes", "max_bundle_entries", "max_document_bytes",
                     "max_inbound_bytes_per_s", "max_pending_handshakes", "import_batch_bytes",
                     "max_command_body_bytes"):
            if getattr(obj, name) < 1:
                raise ConfigError(f"limits.{name}: must be at least 1")
        if not obj.handshake_timeout_s > 0:
            raise ConfigError("limits.handshake_timeout_s: must be more than 0")
        if obj.inbound_burst_bytes < obj.max_frame_bytes:
            raise ConfigError("limits.inbound_burst_bytes: must be at least limits.max_frame_bytes "
                              "(a frame larger than the burst could never be read)")
    if section == "rooms" and not 0 <= obj.batch_window_ms <= 1000:
        raise ConfigError("rooms.batch_window_ms: must be within 0..1000")
    if section == "history":
        if (obj.snapshot_every_ops < 1 or obj.snapshots_kept < 1 or obj.snapshot_every_bytes < 1
                or obj.max_events_per_request < 1):
            raise ConfigError("history: snapshot_every_ops, snapshot_every_bytes, snapshots_kept and "
                              "max_events_per_request must be at least 1")
    if section == "storage":
        if obj.sync not in SYNC_LEVELS:
            raise ConfigError(f"storage.sync: expected one of {', '.join(SYNC_LEVELS)}, got {obj.sync!r}")
        if obj.max_batch_ops < 1:
            raise ConfigError("storage.max_batch_ops: must be at least 1")
        if not 0 <= obj.commit_interval_ms <= 100:
            raise ConfigError("storage.commit_interval_ms: must be between 0 and 100")
        if obj.retry_s <= 0 or obj.prune_interval_s <= 0:
            raise ConfigError("storage: retry_s and prune_interval_s must be more than 0")
    if section == "export":
        if obj.png_speed not in PNG_SPEEDS:
            raise ConfigError(f"export.png_speed: expected one of {', '.join(PNG_SPEEDS)}, got {obj.png_speed!r}")
        if obj.max_output_pixels < 1:
            raise ConfigError("export.max_output_pixels: must be at least 1")
        if obj.queue_size < 1 or obj.workers < 1:
            raise ConfigError("export: queue_size and workers must be at least 1")
        if obj.executor not in ("process", "thread"):
            raise ConfigError(f"export.executor: expected process or thread, got {obj.executor!r}")
        if not 0 <= obj.worker_nice <= 19:
            raise ConfigError("export.worker_nice: must be within 0..19")


def from_mapping(data: dict[str, Any]) -> Config:
    """Build a :class:`Config` from parsed TOML, refusing unknown sections and keys."""
    sections: dict[str, Any] = {}
    for name, value in data.items():
        if name not in _SECTIONS:
            raise ConfigError(f"unknown section [{name}]")
        if not isinstance(value, dict):
            raise ConfigError(f"[{name}] must be a table")
        section_type = type(getattr(Config(), name))
        sections[name] = _build(section_type, value, name)
    return Config(**sections)


def load(path: Path | None) -> Config:
    """Read ``path`` (or return the defaults when ``None``); raise ``ConfigError`` on any problem."""
    if path is None:
        return Config()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    return from_mapping(data)
