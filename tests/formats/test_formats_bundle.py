"""The .annotd bundle file: round trip, seq renumbering, and every hostile input refused."""

from __future__ import annotations

import io
import struct
import zipfile
from typing import Any

import orjson
import pytest
from PIL import Image
from pycrdt import Doc

from annotd.base.errors import InvalidParams, PayloadTooLarge
from annotd.canvas import ops as mut
from annotd.canvas.view import build_view
from annotd.core import images
from annotd.formats.bundle import Bundle, BundleLimits, read_bundle, write_bundle
from annotd.formats.restore import SavedVersion, encode_room, plan_load

LIMITS = BundleLimits(max_bytes=10**8, max_uncompressed_bytes=10**8, max_entries=100,
                      max_image_bytes=10**7, max_image_pixels=10**7)


def png(color: str = "red", size: tuple[int, int] = (40, 30)) -> images.StoredImage:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return images.validate(buf.getvalue(), max_bytes=10**7, max_pixels=10**7)


def history() -> tuple[list[SavedVersion], bytes, dict[str, images.StoredImage]]:
    """A small document history: image A, a rect (tag v1), image B and a moved rect (v2), a thread (head)."""
    a, b = png("red"), png("blue", (50, 20))
    doc: Doc[Any] = Doc()
    mut.ensure_schema(doc)
    mut.set_image(doc, a.ref())
    r = mut.upsert_annotation(doc, {"type": "rect", "x": 1, "y": 2, "w": 3, "h": 4}, "alice", 1)
    v1 = doc.get_update()
    mut.set_image(doc, b.ref())
    mut.upsert_annotation(doc, {"id": r["id"], "x": 10}, "bob", 2)
    v2 = doc.get_update()
    mut.create_thread(doc, {"kind": "point", "x": 1, "y": 1}, "hi", "carol", 3)
    versions = [SavedVersion("v1", 3, 10.0, "alice", v1), SavedVersion("v2", 6, 20.0, "bob", v2),
                SavedVersion("empty", 0, 5.0, "alice", Doc().get_update())]
    return versions, doc.get_update(), {a.sha256: a, b.sha256: b}


_HISTORY: list[tuple[list[SavedVersion], bytes, dict[str, images.StoredImage]]] = []


def saved() -> tuple[list[SavedVersion], bytes, dict[str, images.StoredImage]]:
    """One history per test session, so ids agree between calls."""
    if not _HISTORY:
        _HISTORY.append(history())
    return _HISTORY[0]


def encoded() -> bytes:
    versions, head, imgs = saved()
    data, warnings = encode_room(room_id="r1", name="Room one", created_at=1.5, head=head, head_seq=9,
                                 versions=versions, images=imgs, saved_at=99.0)
    assert warnings == []
    return data


def state_of(bundle: Bundle, steps: int) -> bytes:
    doc: Doc[Any] = Doc()
    for step in bundle.steps[:steps]:
        doc.apply_update(step)
    return doc.get_update()


def test_round_trip_keeps_metadata_states_and_every_tagged_image() -> None:
    versions, head, imgs = saved()
    b = read_bundle(encoded(), LIMITS)
    assert (b.room_id, b.name, b.created_at, b.head_seq, b.saved_at) == ("r1", "Room one", 1.5, 9, 99.0)
    assert [(v.tag, v.seq, v.created_at, v.created_by) for v in b.versions] == [
        (v.tag, v.seq, v.created_at, v.created_by) for v in sorted(versions, key=lambda v: v.seq)]
    assert {i.sha256 for i in b.images} == set(imgs)  # v1 shows image A, the head image B
    assert {i.sha256: i.data for i in b.images} == {k: v.data for k, v in imgs.items()}
    by_tag = {v.tag: v for v in versions}
    for v in b.versions:
        assert build_view(_doc(state_of(b, v.step))) == build_view(_doc(by_tag[v.tag].state))
    assert build_view(_doc(state_of(b, len(b.steps)))) == build_view(_doc(head))


def test_untagged_images_are_not_kept() -> None:
    versions, head, imgs = saved()
    extra = png("green")
    data, _ = encode_room(room_id="r1", name="r", created_at=0, head=head, head_seq=1, versions=[],
                          images={**imgs, extra.sha256: extra}, saved_at=0)
    b = read_bundle(data, LIMITS)
    assert [i.mime for i in b.images] == ["image/png"] and len(b.images) == 1


def test_missing_image_is_a_warning_not_a_failure() -> None:
    versions, head, _ = saved()
    data, warnings = encode_room(room_id="r1", name="r", created_at=0, head=head, head_seq=1,
                                 versions=versions, images={}, saved_at=0)
    assert len(warnings) == 2 and read_bundle(data, LIMITS).images == ()
    assert len(plan_load(read_bundle(data, LIMITS)).images) == 2


def test_tags_store_only_what_changed() -> None:
    """Steps, not whole states: ten tags of a growing document cost about one head state."""
    doc: Doc[Any] = Doc()
    mut.ensure_schema(doc)
    tags = []
    for k in range(10):
        for i in range(20):
            mut.upsert_annotation(doc, {"type": "freehand", "points": [float(v) for v in range(40)]}, "u", k * 100 + i)
        tags.append(SavedVersion(f"v{k}", k + 1, 0.0, "u", doc.get_update()))
    data, _ = encode_room(room_id="r", name="r", created_at=0, head=doc.get_update(), head_seq=11,
                          versions=tags, images={}, saved_at=0)
    full = sum(len(t.state) for t in tags)
    b = read_bundle(data, LIMITS)
    assert len(b.steps) == 10 and sum(len(s) for s in b.steps) < full / 4


def test_tags_at_the_same_state_share_a_step() -> None:
    versions, head, imgs = saved()
    same = [SavedVersion("a", 9, 1.0, "u", head), SavedVersion("b", 9, 1.0, "u", head)]
    data, _ = encode_room(room_id="r", name="r", created_at=0, head=head, head_seq=9, versions=same,
                          images=imgs, saved_at=0)
    b = read_bundle(data, LIMITS)
    assert len(b.steps) == 1 and plan_load(b).version_seqs == {"a": 1, "b": 1}


def test_plan_renumbers_tags_in_seq_order() -> None:
    plan = plan_load(read_bundle(encoded(), LIMITS))
    assert plan.version_seqs == {"empty": 0, "v1": 1, "v2": 2}
    assert len(plan.updates) == 3 and not plan.needs_schema  # v1, v2, then the head's thread
    doc: Doc[Any] = Doc()
    for u in plan.updates:
        doc.apply_update(u)
    assert build_view(doc) == build_view(_doc(saved()[1]))


def test_plan_of_empty_room_needs_schema() -> None:
    plan = plan_load(Bundle("r", "r", 0.0, (), 0))
    assert plan.updates == () and plan.needs_schema


def test_undecodable_step_is_refused() -> None:
    bad = Bundle("r", "r", 0.0, (b"\x05garbage",), 1)
    with pytest.raises(InvalidParams) as exc:
        plan_load(read_bundle(write_bundle(bad), LIMITS))
    assert exc.value.field == "bundle.manifest.steps[0]"


# -- hostile files ---------------------------------------------------------------------------


def _doc(state: bytes) -> Doc[Any]:
    d: Doc[Any] = Doc()
    d.apply_update(state)
    return d


def rezip(data: bytes, change: dict[str, bytes | None], *, manifest: dict[str, Any] | None = None) -> bytes:
    """Copy a bundle, replacing (or with None removing) entries, or rewriting the manifest."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in src.namelist():
            body = src.read(name)
            if name == "manifest.json" and manifest is not None:
                body = orjson.dumps(manifest)
            if name in change:
                if change[name] is None:
                    continue
                body = change[name]  # type: ignore[assignment]
            dst.writestr(name, body)
        for name, body in change.items():
            if body is not None and name not in src.namelist():
                dst.writestr(name, body)
    return out.getvalue()


def manifest_of(data: bytes) -> dict[str, Any]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return orjson.loads(zf.read("manifest.json"))  # type: ignore[no-any-return]


def refused(data: bytes, limits: BundleLimits = LIMITS) -> InvalidParams:
    with pytest.raises(InvalidParams) as exc:
        plan_load(read_bundle(data, limits))
    return exc.value


def test_over_the_byte_limit_is_413() -> None:
    data = encoded()
    with pytest.raises(PayloadTooLarge):
        read_bundle(data, BundleLimits(len(data) - 1, 10**8, 100, 10**7, 10**7))


def test_not_a_zip_names_the_bundle() -> None:
    assert refused(b'{"format": "annotd.bundle"}').field == "bundle"
    assert refused(b"").field == "bundle"


def test_truncated_zip_is_refused() -> None:
    data = encoded()
    for cut in (len(data) // 2, len(data) - 10, 30):
        assert refused(data[:cut]).field.startswith("bundle")


def test_zip_bomb_by_declared_size_is_413_before_inflating() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", b"{}")
        zf.writestr("steps/bomb.yupdate", b"\0" * 50_000_000)
    data = out.getvalue()
    assert len(data) < 100_000
    with pytest.raises(PayloadTooLarge) as exc:
        read_bundle(data, BundleLimits(10**8, 10_000_000, 100, 10**7, 10**7))
    assert "inflate" in exc.value.message


def test_zip_bomb_with_lying_sizes_stops_at_the_declared_size() -> None:
    """Headers claim 100 bytes; the stream inflates to 50 MB. Reading stops early (CRC/size)."""
    payload = b"\0" * 50_000_000
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", payload)
    data = bytearray(out.getvalue())
    # Patch the uncompressed size in the local header (offset 22) and the central directory (offset 24).
    struct.pack_into("<I", data, 22, 100)
    cd = data.rfind(b"PK\x01\x02")
    struct.pack_into("<I", data, cd + 24, 100)
    err = refused(bytes(data))
    assert err.field == "bundle.manifest.json"


def test_too_many_entries_is_413_before_the_directory_is_parsed() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for i in range(150):
            zf.writestr(f"x{i}", b"")
    with pytest.raises(PayloadTooLarge):
        read_bundle(out.getvalue(), LIMITS)


def test_duplicate_and_encrypted_entries_are_refused() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("manifest.json", b"{}")
        with pytest.warns(UserWarning):
            zf.writestr("manifest.json", b"{}")
    assert refused(out.getvalue()).field == "bundle.manifest.json"
    data = bytearray(encoded())
    struct.pack_into("<H", data, data.rfind(b"PK\x01\x02") + 8, 1)  # flag bit 0 on the last entry
    assert "encrypted" in refused(bytes(data)).message


@pytest.mark.parametrize("bit", [0x20, 0x40])
def test_zip_features_zipfile_cannot_read_are_refused_in_words(bit: int) -> None:
    """Patched data (bit 5) and strong encryption (bit 6) in the central directory made
    zipfile raise NotImplementedError, an internal error (found by the fuzz test): now 422."""
    data = bytearray(encoded())
    at = data.rfind(b"PK\x01\x02") + 8
    struct.pack_into("<H", data, at, struct.unpack_from("<H", data, at)[0] | bit)
    err = refused(bytes(data))
    assert err.field.startswith("bundle.") and "zip feature" in err.message


def test_a_zip_version_zipfile_cannot_read_is_refused_in_words() -> None:
    """A central directory entry claiming it needs zip version 6.4 made zipfile raise
    NotImplementedError while opening (found by the fuzz test): now 422 naming the bundle."""
    data = bytearray(encoded())
    struct.pack_into("<H", data, data.rfind(b"PK\x01\x02") + 6, 64)  # version needed to extract
    err = refused(bytes(data))
    assert err.field == "bundle" and "zip file version 6.4" in err.message


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda m: m.update(format="something.else"), "bundle.manifest.format"),
        (lambda m: m.update(formatVersion=2), "bundle.manifest.formatVersion"),
        (lambda m: m.update(formatVersion="1"), "bundle.manifest.formatVersion"),
        (lambda m: m.update(schemaVersion=99), "bundle.manifest.schemaVersion"),
        (lambda m: m.update(room=[]), "bundle.manifest.room"),
        (lambda m: m["room"].update(id="../../etc"), "bundle.manifest.room.id"),
        (lambda m: m["room"].update(createdAt="yesterday"), "bundle.manifest.room.createdAt"),
        (lambda m: m["head"].update(seq="x"), "bundle.manifest.head.seq"),
        (lambda m: m["steps"][0].update(path="steps/nope"), "bundle.steps/nope"),
        (lambda m: m.update(versions={}), "bundle.manifest.versions"),
        (lambda m: m["versions"][0].update(tag="bad tag"), "bundle.manifest.versions[0].tag"),
        (lambda m: m["versions"][1].update(tag=m["versions"][0]["tag"]), "bundle.manifest.versions[1].tag"),
        (lambda m: m["versions"][0].update(seq=-1), "bundle.manifest.versions[0].seq"),
        (lambda m: m["versions"][0].update(createdBy=None), "bundle.manifest.versions[0].createdBy"),
        (lambda m: m["versions"][0].update(name=""), "bundle.manifest.versions[0].name"),
        (lambda m: m["versions"][0].update(name=["x"]), "bundle.manifest.versions[0].name"),
        (lambda m: m["steps"][0].update(sha256="0" * 64), None),
        (lambda m: m["steps"][0].update(sha256=5), "bundle.manifest.steps[0].sha256"),
        (lambda m: m.update(steps=None), "bundle.manifest.steps"),
        (lambda m: m["versions"][0].update(step=99), "bundle.manifest.versions[0].step"),
        (lambda m: m["images"][0].update(sha256="f" * 64), None),
        (lambda m: m.update(images="none"), "bundle.manifest.images"),
    ],
)
def test_bad_manifest_fields_are_named(edit: Any, field: str | None) -> None:
    data = encoded()
    m = manifest_of(data)
    edit(m)
    err = refused(rezip(data, {}, manifest=m))
    if field is None:
        assert "sha256" in err.message
    else:
        assert err.field == field, err.message


def test_manifest_that_is_not_json_or_not_an_object() -> None:
    data = encoded()
    assert refused(rezip(data, {"manifest.json": b"\xff not json"})).field == "bundle.manifest"
    assert refused(rezip(data, {"manifest.json": b"[1, 2]"})).field == "bundle.manifest"
    assert refused(rezip(data, {"manifest.json": None})).field == "bundle.manifest"


def test_damaged_state_or_image_bytes_are_refused() -> None:
    data = encoded()
    m = manifest_of(data)
    state, image = m["steps"][0]["path"], m["images"][0]["path"]
    assert refused(rezip(data, {state: b"\x00"})).field == f"bundle.{state}"
    assert refused(rezip(data, {image: b"\x89PNG not really"})).field == f"bundle.{image}"


def test_image_that_is_not_an_image_is_refused_even_with_a_matching_hash() -> None:
    import hashlib

    data = encoded()
    m = manifest_of(data)
    junk = b"not an image at all"
    m["images"][0].update(sha256=hashlib.sha256(junk).hexdigest(), path="images/junk")
    with pytest.raises(Exception) as exc:  # UnsupportedMedia (415) from the upload validator
        read_bundle(rezip(data, {"images/junk": junk}, manifest=m), LIMITS)
    assert "images/junk" in str(exc.value)


async def test_a_bundle_with_more_tags_than_the_history_retains_loads_whole() -> None:
    """Each tag is added as soon as its step is applied: with the steps applied first, a tag
    older than what the history retains (``snapshots_kept`` × ``snapshot_every_ops``) was
    refused as gone, and the whole bundle with it."""
    import dataclasses

    from annotd.base.config import Config
    from annotd.live.hub import Hub
    from annotd.roomfiles import bundles

    doc: Doc = Doc()
    mut.ensure_schema(doc)
    mut.upsert_annotation(doc, {"id": "a", "type": "rect", "x": 0, "y": 0, "w": 5, "h": 5}, "u", 1)
    versions = []
    for i in range(60):
        mut.upsert_annotation(doc, {"id": "a", "x": i}, "u", 2 + i)
        versions.append(SavedVersion(f"t{i}", i + 1, 1.0 + i, "u", doc.get_update()))
    data, _ = encode_room(room_id="many", name="many", created_at=1.0, head=doc.get_update(), head_seq=61,
                          versions=versions, images={}, saved_at=2.0)
    cfg = Config()
    cfg = dataclasses.replace(cfg, history=dataclasses.replace(cfg.history, snapshot_every_ops=5, snapshots_kept=2))
    hub = Hub(cfg)
    live, _ = await bundles.load(hub, data, None, "loader")
    assert [v.tag for v in live.versions()] == [f"t{i}" for i in range(60)]
    x = {v.tag: await build_view_at(live, v.seq) for v in live.versions()}
    assert x["t0"] == 0 and x["t59"] == 59
    await hub.close()


async def build_view_at(live: Any, seq: int) -> float:
    return next(a.x for a in (await live.view_at(seq)).annotations if a.id == "a")
