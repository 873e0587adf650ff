"""``/openapi.json`` is a document a generator can build a client on: valid, complete (every
route of the side port), and true (every answer matches its declared schema)."""

from __future__ import annotations

import asyncio
import copy
import io
import json
from typing import Any, get_args, get_type_hints

import aiohttp
import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_spec
from PIL import Image

from annotd.canvas import schema
from annotd.canvas.jsontypes import AnchorInput, AnnotationPatch, StylePatch
from annotd.canvas.validate import validate_anchor
from annotd.commands import REGISTRY
from annotd.net import httpserver, webui
from annotd.net.openapi import document
from annotd.process.daemon import Daemon

from ..helpers import T, create_room

Spec = dict[str, Any]


def png(w: int = 40, h: int = 30) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (w, h), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


async def test_the_served_document_is_valid_openapi_3_1(http: aiohttp.ClientSession) -> None:
    spec = await (await http.get("/openapi.json")).json()
    assert spec == json.loads(json.dumps(document()))
    validate_spec(spec)
    assert spec["openapi"] == "3.1.0"


def test_it_lists_exactly_the_routes_the_side_port_serves(daemon: Daemon) -> None:
    app = httpserver.build_app(daemon.hub)
    pages = {(r.method, r.path) for r in webui.routes(daemon.hub)}  # the bundled app's pages and assets
    served = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("formatter") or info.get("path")
        if route.method != "HEAD" and (route.method, path) not in pages:
            served.add((route.method, path))
    documented = {(m.upper(), p) for p, ops in document()["paths"].items() for m in ops}
    assert documented == served


def _operations(spec: Spec) -> list[tuple[str, str, Spec]]:
    return [(m.upper(), p, op) for p, ops in spec["paths"].items() for m, op in ops.items()]


def _walk(node: Any, path: str = "") -> list[tuple[str, Spec]]:
    """Every schema-like object in ``node`` with where it is."""
    found: list[tuple[str, Spec]] = []
    if isinstance(node, dict):
        found.append((path, node))
        for k, v in node.items():
            found += _walk(v, f"{path}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            found += _walk(v, f"{path}/{i}")
    return found


def test_what_a_generator_needs_is_there() -> None:
    spec = document()
    ids = [op["operationId"] for _, _, op in _operations(spec)]
    assert len(ids) == len(set(ids))
    assert {op["x-jsonrpc-method"] for _, _, op in _operations(spec) if "x-jsonrpc-method" in op} == set(REGISTRY)
    for method, path, op in _operations(spec):
        where = f"{method} {path}"
        ok = [s for s in op["responses"] if s.startswith("2")]
        assert ok and all("content" in op["responses"][s] for s in ok), where
        in_path = {p["name"] for p in op["parameters"] if p["in"] == "path"}
        assert in_path == {seg[1:-1] for seg in path.replace(":", "/").split("/") if seg.startswith("{")}, where
        for p in op["parameters"]:
            assert "null" not in json.dumps(p), f"{where}: parameter {p['name']} may be null"
            assert p["required"] is (p["in"] == "path") or p["in"] != "path", where
    for where, node in _walk(spec):
        if "pattern" in node and isinstance(node["pattern"], str):
            assert node["pattern"].startswith("^") and node["pattern"].endswith("$"), where
            assert node.get("type") != "array", f"{where}: a pattern on an array (it belongs on the items)"


def test_no_stray_parameters() -> None:
    spec = document()

    def names(path: str, method: str) -> set[str]:
        return {p["name"] for p in spec["paths"][path][method]["parameters"] if p["in"] != "header"}

    assert names("/v1/rooms/{roomId}/annotations", "post") == {"roomId"}
    assert names("/v1/rooms/{roomId}/annotations/{id}", "put") == {"roomId", "id"}
    assert names("/v1/rooms/{roomId}/annotations", "delete") == {"roomId", "ids"}
    assert names("/v1/bundles", "post") == set()
    assert names("/v1/rooms/{roomId}/bundle", "post") == {"roomId"}
    ids = spec["paths"]["/v1/rooms/{roomId}/annotations"]["delete"]["parameters"][1]["schema"]
    user = spec["paths"]["/v1/rooms/{roomId}/annotations"]["post"]["parameters"][-1]
    assert (user["name"], user["in"], user["required"]) == ("X-Annotd-User", "header", False)
    assert ids["type"] == "array" and ids["items"]["pattern"] == "^[A-Za-z0-9_-]{1,64}$"


def test_the_published_annotation_input_is_what_the_validator_takes() -> None:
    writable = set(schema.COMMON_FIELDS) | {f for fs in schema.TYPE_FIELDS.values() for f in fs}
    assert set(get_type_hints(AnnotationPatch)) == writable - schema.SERVER_FIELDS
    assert set(get_type_hints(StylePatch)) == set(schema.STYLE_FIELDS)
    body = document()["paths"]["/v1/rooms/{roomId}/annotations"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"]["$ref"] == "#/components/schemas/AnnotationPatch"


@pytest.mark.parametrize("variant", get_args(AnchorInput))
def test_every_field_of_a_published_anchor_is_taken(variant: Any) -> None:
    values = {"kind": get_type_hints(variant)["kind"].__args__[0], "annotationId": "a1", "offsetX": 0.25,
              "offsetY": 0.75, "x": 1.0, "y": 2.0, "w": 3.0, "h": 4.0}
    given = {k: values[k] for k in get_type_hints(variant)}
    assert validate_anchor(given) == given


async def test_a_path_parameter_is_taken_from_the_path_only(daemon: Daemon, http: aiohttp.ClientSession) -> None:
    await create_room(http)
    r = await http.post("/v1/rooms/r1/annotations", params={"id": "a1"}, json={"type": "rect"})
    body = await r.json()
    assert r.status == 422 and body["error"]["data"]["field"] == "id"
    assert "/v1/rooms/{roomId}/annotations/{id}" in body["error"]["message"]
    r = await http.post("/v1/bundles", params={"roomId": "r2"}, data=b"PK")
    assert r.status == 422 and (await r.json())["error"]["data"]["field"] == "roomId"
    assert "r2" not in daemon.hub.rooms


class Checker:
    """Validates live answers against the document's response schemas, strictly: every
    declared object refuses keys it does not list, so an undeclared field fails here."""

    def __init__(self, spec: Spec, http: aiohttp.ClientSession) -> None:
        self.spec = spec
        self.http = http
        components = copy.deepcopy(spec["components"])
        for _, node in _walk(components):
            if node.get("type") == "object" and "properties" in node:
                node["additionalProperties"] = False
        self.components = components
        self.seen: set[str] = set()
        self.by_route = {(m, p): op for m, p, op in _operations(spec)}

    async def call(self, method: str, template: str, path: str, **kw: Any) -> Any:
        op = self.by_route[(method, template)]
        headers = {"X-Annotd-User": "checker", **kw.pop("headers", {})}
        async with self.http.request(method, path, headers=headers, **kw) as r:
            raw = await r.read()
            ctype = r.content_type
            code = r.status
        declared = [s for s in op["responses"] if s.startswith("2")]
        assert str(code) in declared, (method, path, code, raw[:300])
        content = op["responses"][str(code)]["content"]
        assert ctype in {c.split(";")[0] for c in content}, (method, path, ctype)
        schema = next(v["schema"] for c, v in content.items() if c.split(";")[0] == ctype)
        self.seen.add(op["operationId"])
        if schema.get("format") == "binary":
            assert raw
            return raw
        if schema == {"type": "string"}:  # text: the Prometheus format
            return raw.decode()
        body = json.loads(raw)
        Draft202012Validator({**schema, "components": self.components}).validate(body)
        return body


async def test_every_answer_matches_its_declared_schema(daemon: Daemon, http: aiohttp.ClientSession) -> None:
    check = Checker(document(), http)
    c = check.call
    await c("POST", "/v1/rooms", "/v1/rooms", json={"id": "r1", "name": "Room one"})
    await c("PATCH", "/v1/rooms/{roomId}", "/v1/rooms/r1", json={"name": "Room one, renamed"})
    await c("POST", "/v1/rooms/{roomId}/image", "/v1/rooms/r1/image", data=png(), headers={"Content-Type": "image/png"})
    await c("GET", "/v1/rooms/{roomId}/image", "/v1/rooms/r1/image")
    a = "/v1/rooms/{roomId}/annotations"
    one = a + "/{id}"
    await c("POST", a, "/v1/rooms/r1/annotations", json={"id": "a1", "type": "rect", "x": 1, "y": 2, "w": 10, "h": 5})
    await c("PUT", one, "/v1/rooms/r1/annotations/t1", json={"type": "text", "text": "hi", "x": 3, "y": 3, "w": 20, "h": 9})
    await c("PUT", one, "/v1/rooms/r1/annotations/f1",
            json={"type": "freehand", "x": 0, "y": 0, "w": 5, "h": 5, "points": [0, 0, 1, 1], "pressures": [0.5, 0.7]})
    await c("PUT", one, "/v1/rooms/r1/annotations/l1", json={"type": "arrow", "x": 0, "y": 0, "w": 5, "h": 5,
                                                            "points": [0, 0, 5, 5]})
    await c("PUT", one, "/v1/rooms/r1/annotations/p1", json={"type": "polygon", "x": 0, "y": 0, "w": 5, "h": 5,
                                                            "points": [0, 0, 5, 0, 5, 5]})
    await c("PATCH", one, "/v1/rooms/r1/annotations/a1", json={"style": {"stroke": "#00ff00"}})
    await c("GET", one, "/v1/rooms/r1/annotations/a1")
    await c("GET", a, "/v1/rooms/r1/annotations")
    await c("POST", one + "/reorder", "/v1/rooms/r1/annotations/a1/reorder", json={"direction": "front"})
    await c("POST", "/v1/rooms/{roomId}/groups", "/v1/rooms/r1/groups", json={"ids": ["a1", "t1"], "groupId": "g1"})
    await c("DELETE", "/v1/rooms/{roomId}/groups/{groupId}", "/v1/rooms/r1/groups/g1")
    cm = "/v1/rooms/{roomId}/comments"
    await c("POST", cm, "/v1/rooms/r1/comments", json={"id": "th1", "body": "look",
                                                        "anchor": {"kind": "annotation", "annotationId": "a1"}})
    await c("POST", cm, "/v1/rooms/r1/comments", json={"id": "th2", "body": "here", "anchor": {"kind": "point", "x": 4, "y": 4}})
    await c("POST", cm, "/v1/rooms/r1/comments", json={"id": "th3", "body": "area",
                                                        "anchor": {"kind": "region", "x": 1, "y": 1, "w": 3, "h": 3}})
    await c("POST", cm + "/{commentId}/replies", "/v1/rooms/r1/comments/th1/replies", json={"body": "yes"})
    edited = await c("PATCH", cm + "/{commentId}", "/v1/rooms/r1/comments/th1", json={"action": "edit", "body": "look!"})
    assert edited["message"]["body"] == "look!" and edited["thread"]["messages"][0] == edited["message"]
    resolved = await c("PATCH", cm + "/{commentId}", "/v1/rooms/r1/comments/th2", json={"action": "resolve"})
    assert resolved["thread"]["status"] == "resolved" and "message" not in resolved
    await c("GET", cm, "/v1/rooms/r1/comments")
    await c("POST", "/v1/rooms/{roomId}/snapshots", "/v1/rooms/r1/snapshots")
    await c("GET", "/v1/rooms/{roomId}/snapshots", "/v1/rooms/r1/snapshots")
    await c("POST", "/v1/rooms/{roomId}/versions", "/v1/rooms/r1/versions", json={"tag": "v1"})
    await c("GET", "/v1/rooms/{roomId}/versions", "/v1/rooms/r1/versions")
    await c("DELETE", one, "/v1/rooms/r1/annotations/l1")  # detaches nothing; th1 keeps a1
    await c("DELETE", a, "/v1/rooms/r1/annotations", params=[("ids", "p1")])
    await c("DELETE", one, "/v1/rooms/r1/annotations/a1")  # th1's pin becomes a point: detachedFrom
    await c("GET", cm, "/v1/rooms/r1/comments")
    await c("POST", "/v1/rooms/{roomId}/versions/{tag}:revert", "/v1/rooms/r1/versions/v1:revert")
    await c("GET", "/v1/rooms/{roomId}/history", "/v1/rooms/r1/history", params={"fromSeq": "1"})
    await c("POST", "/v1/rooms/{roomId}/exports/plan", "/v1/rooms/r1/exports/plan",
            json={"format": "png", "includeComments": True, "commentStates": ["open", "resolved"]})
    job = await c("POST", "/v1/rooms/{roomId}/exports", "/v1/rooms/r1/exports", json={"format": "jpg", "quality": 80})
    async with asyncio.timeout(T):
        await daemon.hub.exports.wait(job["jobId"], ("done", "failed"))
    done = await c("GET", "/v1/exports/{jobId}", f"/v1/exports/{job['jobId']}")
    assert done["status"] == "done"
    await c("GET", "/v1/exports/{jobId}/download", f"/v1/exports/{job['jobId']}/download")
    await c("GET", "/v1/rooms/{roomId}/exports", "/v1/rooms/r1/exports")
    bundle = await c("GET", "/v1/rooms/{roomId}/bundle", "/v1/rooms/r1/bundle")
    await c("POST", "/v1/rooms/{roomId}/bundle", "/v1/rooms/r2/bundle", data=bundle)
    await c("DELETE", "/v1/rooms/{roomId}", "/v1/rooms/r1")
    await c("POST", "/v1/bundles", "/v1/bundles", data=bundle)  # r1 again, from its own bundle
    page = await c("GET", "/v1/rooms/{roomId}/formats/w3c", "/v1/rooms/r1/formats/w3c")
    await c("POST", "/v1/rooms/{roomId}/formats/w3c", "/v1/rooms/r2/formats/w3c", json=page)
    coco = await c("GET", "/v1/rooms/{roomId}/formats/coco", "/v1/rooms/r1/formats/coco")
    await c("POST", "/v1/rooms/{roomId}/formats/coco", "/v1/rooms/r2/formats/coco", json=coco)
    await c("GET", "/v1/rooms", "/v1/rooms")
    await c("GET", "/v1/rooms/{roomId}", "/v1/rooms/r1")
    await c("DELETE", "/v1/rooms/{roomId}", "/v1/rooms/r2")
    await c("GET", "/healthz", "/healthz")
    await c("GET", "/metrics", "/metrics")
    await c("GET", "/metrics", "/metrics", params={"format": "prometheus"})
    await c("GET", "/openapi.json", "/openapi.json")
    assert check.seen == {op["operationId"] for _, _, op in _operations(check.spec)}


@pytest.mark.parametrize("status", [404, 422])
async def test_errors_match_the_declared_error_schema(http: aiohttp.ClientSession, status: int) -> None:
    check = Checker(document(), http)
    path = "/v1/rooms/missing" if status == 404 else "/v1/rooms/bad%20id"
    r = await http.get(path)
    assert r.status == status
    Draft202012Validator({"$ref": "#/components/schemas/Error", "components": check.components}).validate(await r.json())
