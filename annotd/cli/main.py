"""``annotd`` command line: a thin click layer over the typed config.

Precedence: option > ``ANNOTD_*`` environment variable > config file > built-in default.
A bad config file or option prints one line on stderr and exits with status 2.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from .. import __version__
from ..base.config import LOG_FORMATS, LOG_LEVELS, Config, ConfigError, load
from ..render.options import DEFAULT_JPEG_QUALITY, FORMATS, QUALITY_MAX, QUALITY_MIN, SCALE_MAX, SCALE_MIN
from .formats import DATA_FORMATS, EXPORT_DATA_FORMATS

EXIT_BAD_CONFIG = 2


def _fail(message: str) -> None:
    click.echo(f"annotd: {message}", err=True)
    sys.exit(EXIT_BAD_CONFIG)


def build_config(config_path: Path | None, **overrides: Any) -> Config:
    cfg = load(config_path)
    server = {k: v for k, v in (("host", overrides.get("host")), ("ws_port", overrides.get("ws_port")),
                                ("http_port", overrides.get("http_port"))) if v is not None}
    if overrides.get("allowed_host"):
        server["allowed_hosts"] = tuple(overrides["allowed_host"])
    if server:
        cfg = cfg.replace("server", **server)
    if overrides.get("data_dir") is not None:
        cfg = cfg.replace("rooms", data_dir=str(overrides["data_dir"]))
    logging_changes = {k: v for k, v in (("level", overrides.get("log_level")),
                                         ("format", overrides.get("log_format"))) if v is not None}
    if logging_changes:
        cfg = cfg.replace("log", **logging_changes)
    return cfg


@click.group(context_settings={"auto_envvar_prefix": "ANNOTD", "help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="annotd")
def main() -> None:
    """annotd: annotate one image together, in real time, over one WebSocket."""


@main.command()
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False),
              help="TOML config file (see config.toml for every key). [env: ANNOTD_SERVE_CONFIG]")
@click.option("--host", help="Address to bind both ports to (default 127.0.0.1). A non-loopback address "
              "logs a warning: there is no authentication.")
@click.option("--allowed-host", multiple=True, metavar="NAME",
              help="Host name browsers may use to reach annotd besides localhost, IP addresses and the bind host "
              "(repeatable; '.example.org' allows subdomains; '*' turns the DNS-rebinding check off). Replaces "
              "server.allowed_hosts. [env: ANNOTD_SERVE_ALLOWED_HOST, space-separated]")
@click.option("--ws-port", type=click.IntRange(0, 65535), help="WebSocket port (default 8765; 0 picks a free port).")
@click.option("--http-port", type=click.IntRange(0, 65535), help="HTTP side port (default 8766; 0 picks a free port).")
@click.option("--log-level", type=click.Choice(LOG_LEVELS), help="Log level (default info).")
@click.option("--log-format", type=click.Choice(LOG_FORMATS), help="Log line format (default text).")
@click.option("--data-dir", type=click.Path(path_type=Path, file_okay=False),
              help="Folder of the on-disk room store (rooms.data_dir; created 0700; one daemon per folder). "
              "[env: ANNOTD_SERVE_DATA_DIR]")
def serve(config_path: Path | None, **overrides: Any) -> None:
    """Run the daemon until SIGINT or SIGTERM, then shut down gracefully (exit 0; 4 if
    rooms.save_dir is set and a room could not be saved)."""
    try:
        cfg = build_config(config_path, **overrides)
    except ConfigError as exc:
        _fail(str(exc))
        return
    from ..process.app import run

    sys.exit(run(cfg))


@main.command("export")
@click.option("--url", default="http://127.0.0.1:8766", show_default=True, help="The daemon's HTTP side port.")
@click.option("--room", "room_id", required=True, help="Room id.")
@click.option("--tag", help="Version tag to export.")
@click.option("--seq", type=int, help="Seq to export (default: head).")
@click.option("--format", "fmt", type=click.Choice([*FORMATS, *EXPORT_DATA_FORMATS]), default="png", show_default=True,
              help="An image (png, jpg, svg), the annotations as data (w3c = wadm: W3C Web Annotation; coco), "
                   "or the whole room (bundle).")
@click.option("--scale", type=float, help=f"Scale factor {SCALE_MIN:g}-{SCALE_MAX:g} (default 1).")
@click.option("--dpi", type=float, help="Alternative to --scale; also written into the file.")
@click.option("--background", help="transparent | white | #rrggbb")
@click.option("--include-comments", is_flag=True, help="Draw numbered badges at open comment threads.")
@click.option("--quality", type=int, help=f"JPG quality {QUALITY_MIN}-{QUALITY_MAX} (default {DEFAULT_JPEG_QUALITY}).")
@click.option("--category", multiple=True, help="coco: map a stroke colour to a category, e.g. '#e03131=crack' "
              "(repeatable; linked label texts still win).")
@click.option("--out", "out_path", type=click.Path(path_type=Path, dir_okay=False), required=True)
def export_cmd(url: str, room_id: str, out_path: Path, **opts: Any) -> None:
    """Export a room (at a tag or seq) from a running daemon to a file, showing progress."""
    fmt = opts.pop("fmt")
    if fmt in EXPORT_DATA_FORMATS:
        from .formats import export_data

        sys.exit(export_data(url, room_id, out_path, fmt, opts))
    from .export import run_export

    opts.pop("category")
    sys.exit(run_export(url, room_id, out_path, {**opts, "fmt": fmt}))


@main.command("import")
@click.option("--url", default="http://127.0.0.1:8766", show_default=True, help="The daemon's HTTP side port.")
@click.option("--room", "room_id", required=True, help="Room to add the annotations to.")
@click.option("--format", "fmt", type=click.Choice(list(DATA_FORMATS)), required=True)
@click.option("--image-id", type=int, help="coco: which image of the file (when it has several).")
@click.option("--no-labels", is_flag=True, help="coco: do not add category names as text labels.")
@click.argument("in_path", metavar="FILE", type=click.Path(path_type=Path, dir_okay=False))
def import_cmd(url: str, room_id: str, fmt: str, image_id: int | None, no_labels: bool, in_path: Path) -> None:
    """Add the annotations of a W3C Web Annotation page or a COCO file to a room, as new ones."""
    from .formats import import_data

    sys.exit(import_data(url, room_id, in_path, fmt, image_id, not no_labels))


@main.group()
def room() -> None:
    """Save a room of a running daemon to a .annotd bundle, or load one into it."""


@room.command("save")
@click.option("--url", default="http://127.0.0.1:8766", show_default=True, help="The daemon's HTTP side port.")
@click.argument("room_id", metavar="ROOM")
@click.option("--out", "out_path", type=click.Path(path_type=Path, dir_okay=False), required=True)
def room_save(url: str, room_id: str, out_path: Path) -> None:
    """Save ROOM (annotations, comments, versions, images) to a .annotd file."""
    from .formats import save_room

    sys.exit(save_room(url, room_id, out_path))


@room.command("load")
@click.option("--url", default="http://127.0.0.1:8766", show_default=True, help="The daemon's HTTP side port.")
@click.argument("in_path", metavar="FILE", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--id", "room_id", help="Create the room under this id instead of the saved one.")
def room_load(url: str, in_path: Path, room_id: str | None) -> None:
    """Create a room from a .annotd FILE (tags renumbered; the saved id unless --id)."""
    from .formats import load_room

    sys.exit(load_room(url, in_path, room_id))
