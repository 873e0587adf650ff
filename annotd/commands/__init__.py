"""Command definitions; importing this package registers them all in ``REGISTRY``."""

from . import canvas, exports, formats, history, rooms, versions  # noqa: F401
from .base import REGISTRY, Caller, Command

__all__ = ["REGISTRY", "Caller", "Command"]
