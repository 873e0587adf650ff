"""Annotations as data: the room bundle, W3C Web Annotation and COCO, in and out.

Why a package of pure functions: every format here is a conversion between bytes or JSON
and plain values (a :class:`~annotd.canvas.model.CanvasView`, Yjs state blobs, import
plans). None of it touches a room, a socket or the event loop, so each converter is unit
tested on its own and the daemon runs the heavy ones in a thread. The command layer
(:mod:`annotd.commands.formats`) and the save directory (:mod:`annotd.roomfiles.savedir`) are the
only places that connect them to live rooms.
"""
