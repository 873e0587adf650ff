"""What a large W3C or COCO import costs everybody else on the server.

For each file, a fresh room receives the import (``POST /v1/rooms/<id>/formats/w3c`` or
``/coco``) while a separate probe process (``bench.probes``) measures what every other user
waited meanwhile: ``/healthz`` every 10 ms and a relay round trip in an unrelated room every
10 ms (p50/p99/max). The daemon's own ``event_loop_lag_ms`` (its last 10 s window) is read
where the server has it. Files: ``w3c-plain`` (10,000 boxes: the schema's cap),
``w3c-comments`` (10,000 boxes each with a comment of ``--comment`` characters: the largest
that fits the default 16 MB document), ``coco`` (10,000 boxes, no labels: with labels they
would pass the 10,000 cap), ``refused`` (10,001 boxes:
over the cap, refused whole), ``max-body`` (the largest body the side port reads, refused
for its document size), ``bundle-9000`` (a room bundle of 9,000 steps, one per tag, loaded
as a new room), ``command-25mb`` and ``command-1mib`` (the costliest JSON body of that size
for a command parsed on the loop, ``annotations.group``: refused by validation after the
parse, or 413 past ``limits.max_command_body_bytes``); ``idle`` first, the same probe with nothing running (the
machine's noise floor). After each file the room is deleted and the probe watches the next
:data:`DELETE_S` seconds (``delete``: freeing what the import built, and the memory trimmer).

    .venv/bin/python -m bench.bench_import [--root /work/main] [--only w3c-plain,coco] [--batch-bytes 65536]

``--root`` runs the server from another tree (for "before" figures).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from .bench_relay import ROOT, Server
from .probes import ProbeProcess, load_avg, proc_sample

N = 10_000
DELETE_S = 7.0
"""How long the probe watches after the room's deletion: the memory trimmer's passes
(``annotd.process.daemon``, five, a second apart) fall inside."""
MAX_BODY_COMMENT = 2_270
"""Comment length that makes ``max-body`` just under the default ``limits.max_http_body_bytes``
(25 MB): a body as large as the server reads, whose document would pass
``max_document_bytes`` (refused whole: what it costs is reading and parsing it)."""


def w3c_page(n: int, comment: int) -> dict[str, Any]:
    items = []
    for i in range(n):
        item: dict[str, Any] = {"type": "Annotation", "id": f"urn:bench:{i}", "target": {
            "source": "http://example.org/a.png",
            "selector": {"type": "FragmentSelector", "value": f"xywh={i % 100 * 10},{i // 100 * 10},8,8"}}}
        if comment:
            item["body"] = [{"type": "TextualBody", "purpose": "commenting", "value": f"{i} " + "c" * comment}]
        items.append(item)
    return {"type": "AnnotationPage", "items": items}


def coco_file(n: int) -> dict[str, Any]:
    anns = [{"id": i + 1, "image_id": 1, "category_id": 1 + i % 3, "bbox": [i % 100 * 10, i // 100 * 10, 8, 8],
             "area": 64, "iscrowd": 0} for i in range(n)]
    cats = [{"id": k, "name": f"class{k}"} for k in (1, 2, 3)]
    return {"images": [{"id": 1, "width": 1000, "height": 1000, "file_name": "a.png"}], "annotations": anns,
            "categories": cats}


def bundle_of_steps(n: int) -> bytes:
    """A bundle of ``n`` steps: a room whose every one of ``n`` tags moved one annotation."""
    from pycrdt import Doc, Map

    from annotd.formats.restore import SavedVersion, encode_room

    doc: Doc[Any] = Doc()
    annotations = doc.get("annotations", type=Map)
    doc.get("meta", type=Map)["schemaVersion"] = 1
    annotations["a"] = Map({"type": "rect", "x": 0, "y": 0, "w": 10, "h": 10})
    versions = []
    for i in range(n):
        annotations["a"]["x"] = i
        versions.append(SavedVersion(f"t{i}", i + 1, 1.0 + i, "bench", doc.get_update()))
    data, _ = encode_room(room_id="steps", name="steps", created_at=1.0, head=doc.get_update(), head_seq=n + 1,
                          versions=versions, images={}, saved_at=2.0)
    return data


def files(comment: int) -> dict[str, tuple[str, bytes]]:
    return {
        "w3c-plain": ("w3c", orjson.dumps(w3c_page(N, 0))),
        "w3c-comments": ("w3c", orjson.dumps(w3c_page(N, comment))),
        "coco": ("coco", orjson.dumps(coco_file(N))),
        "refused": ("w3c", orjson.dumps(w3c_page(N + 1, 0))),
        "max-body": ("w3c", orjson.dumps(w3c_page(N, MAX_BODY_COMMENT))),
        "bundle-9000": ("bundle", bundle_of_steps(9_000)),
        "command-25mb": ("command", command_body(25_000_000 - 100)),
        "command-1mib": ("command", command_body(1_048_576 - 100)),
    }


def command_body(size: int) -> bytes:
    """The costliest JSON body of ``size`` bytes for a command parsed on the loop
    (``annotations.group``): ``{"ids": [[],[],…]}``, every item a container (refused by
    validation, after the parse)."""
    n = (size - 12) // 3
    return b'{"ids":[' + b"[]," * (n - 1) + b"[]]}"


async def run(root: Path, only: list[str] | None, comment: int, batch_bytes: int | None) -> dict[str, Any]:
    extra = f"[limits]\nimport_batch_bytes = {batch_bytes}\n" if batch_bytes else ""
    server = Server(uvloop=True, root=root, extra_toml=extra)
    results: dict[str, Any] = {}
    try:
        probe = ProbeProcess(server.ws_url, server.http_url)
        await probe.start()
        async with aiohttp.ClientSession() as http:
            await asyncio.sleep(11)  # the server's lag window (10 s) forgets the start-up
            await probe.reset()
            await asyncio.sleep(3)
            results["idle"] = {"load_1min": load_avg(), **await probe.report()}  # the noise floor
            print(f"  idle: {json.dumps(results['idle'])}", flush=True)
            for name, (fmt, body) in files(comment).items():
                if only and name not in only:
                    continue
                room = f"imp-{name}"
                if fmt == "bundle":  # loaded as a new room
                    url, mime = f"{server.http_url}/v1/rooms/{room}/bundle", "application/octet-stream"
                else:
                    async with http.post(f"{server.http_url}/v1/rooms", json={"id": room}) as r:
                        assert r.status == 201, await r.text()
                    query = "?labels=false" if fmt == "coco" else ""
                    url, mime = f"{server.http_url}/v1/rooms/{room}/formats/{fmt}{query}", "application/json"
                    if fmt == "command":
                        url = f"{server.http_url}/v1/rooms/{room}/groups"
                await probe.reset()
                t0 = time.perf_counter()
                async with http.post(url, data=body, headers={"Content-Type": mime},
                                     timeout=aiohttp.ClientTimeout(total=600)) as r:
                    answer = await r.read()
                    status = r.status
                seconds = time.perf_counter() - t0
                await asyncio.sleep(0.3)
                res: dict[str, Any] = {"status": status, "body_mb": round(len(body) / 1e6, 2),
                                       "seconds": round(seconds, 3), "load_1min": load_avg()}
                data = orjson.loads(answer)
                if status == 201:
                    res["created"] = len(data["created"]) if "created" in data else len(data["versions"])
                else:
                    res["error"] = data.get("error", {}).get("code")
                res.update(await probe.report())
                await probe.reset()
                async with http.delete(f"{server.http_url}/v1/rooms/{room}") as r:
                    await r.read()
                await asyncio.sleep(DELETE_S)
                res["delete"] = await probe.report()
                results[name] = res
                print(f"  {name}: {json.dumps(res)}", flush=True)
                await asyncio.sleep(11)  # let the lag window forget this import
        await probe.stop()
        return {"root": str(root), "load_1min": load_avg(), "rss": proc_sample(server.pid), "results": results}
    finally:
        server.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", type=Path, default=ROOT)
    ap.add_argument("--only", default="", help="comma-separated file names (default: all)")
    ap.add_argument("--comment", type=int, default=400, help="characters per comment in w3c-comments")
    ap.add_argument("--batch-bytes", type=int, default=None, help="limits.import_batch_bytes (default: the server's)")
    args = ap.parse_args()
    only = [s for s in args.only.split(",") if s] or None
    print(json.dumps(asyncio.run(run(args.root, only, args.comment, args.batch_bytes))), flush=True)


if __name__ == "__main__":
    main()
