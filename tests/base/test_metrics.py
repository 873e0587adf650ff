"""/metrics as a Prometheus server and an operator see it: typed families parsed with
prometheus_client's own parser, counters that only grow, consistent histograms, the JSON view
agreeing with the series, bounded labels, content negotiation, one registry per daemon."""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Awaitable, Callable

import aiohttp
import prometheus_client
from prometheus_client.parser import text_string_to_metric_families
from pycrdt import Map
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from annotd.base import metrics as metrics_mod
from annotd.base.metrics import RELAY_SAMPLE_EVERY, Metrics
from annotd.client.roomclient import RoomClient
from annotd.process.daemon import Daemon

from ..helpers import T, create_room, settle, within

DaemonFactory = Callable[..., Awaitable[Daemon]]
Series = dict[tuple[str, tuple[tuple[str, str], ...]], float]

FAMILIES = {
    "annotd_updates_sequenced": "counter",
    "annotd_deliveries": "counter",
    "annotd_frames_rejected": "counter",
    "annotd_clients_closed": "counter",
    "annotd_exports": "counter",
    "annotd_export_evictions": "counter",
    "annotd_http_requests": "counter",
    "annotd_connected_clients": "gauge",
    "annotd_rooms": "gauge",
    "annotd_rooms_active": "gauge",
    "annotd_export_queue_depth": "gauge",
    "annotd_export_bytes_held": "gauge",
    "annotd_image_bytes": "gauge",
    "annotd_relay_duration_seconds": "histogram",
    "annotd_join_duration_seconds": "histogram",
    "annotd_event_loop_lag_seconds": "histogram",
    "annotd_gc_pause_seconds": "histogram",
    "annotd_export_duration_seconds": "histogram",
    "annotd_snapshot_duration_seconds": "histogram",
}
"""Every annotd family and its type (``*_created`` gauges are the library's creation times)."""


async def scrape(http: aiohttp.ClientSession) -> tuple[dict[str, str], Series]:
    """Parse ``/metrics?format=prometheus``: family types, and every sample by (name, labels)."""
    r = await http.get("/metrics", params={"format": "prometheus"})
    assert r.status == 200 and r.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    types: dict[str, str] = {}
    series: Series = {}
    for family in text_string_to_metric_families(await r.text()):
        types[family.name] = family.type
        for s in family.samples:
            key = (s.name, tuple(sorted(s.labels.items())))
            assert key not in series, f"duplicate series {key}"
            series[key] = s.value
    return types, series


def value(series: Series, name: str, **labels: str) -> float:
    return series[(name, tuple(sorted(labels.items())))]


def total(series: Series, name: str, **match: str) -> float:
    return sum(v for (n, labels), v in series.items() if n == name and all((k, m) in labels for k, m in match.items()))


def check_types(types: dict[str, str]) -> None:
    ours = {n: t for n, t in types.items() if n.startswith("annotd_") and not n.endswith("_created")}
    assert ours == FAMILIES
    assert types["process_resident_memory_bytes"] == "gauge"
    for name, kind in types.items():
        if name.endswith("_created"):
            assert kind == "gauge" and name.removesuffix("_created") in types


def check_counters(series: Series) -> None:
    for (name, _), v in series.items():
        family = name.removesuffix("_total").removesuffix("_created")
        if FAMILIES.get(family) == "counter" and not name.endswith("_created"):
            assert name.endswith("_total") and v >= 0, name


def check_histograms(series: Series) -> None:
    """Per histogram and label set: ``le`` bounds ascending and ending in +Inf, cumulative
    counts non-decreasing, the +Inf bucket equal to ``_count``, ``_sum`` non-negative."""
    for family, kind in FAMILIES.items():
        if kind != "histogram":
            continue
        groups: dict[tuple[tuple[str, str], ...], list[tuple[float, float]]] = {}
        for (name, labels), v in series.items():
            if name == f"{family}_bucket":
                le = dict(labels)["le"]
                rest = tuple(kv for kv in labels if kv[0] != "le")
                groups.setdefault(rest, []).append((float(le), v))
        assert groups, family
        for rest, buckets in groups.items():
            buckets.sort()
            assert math.isinf(buckets[-1][0]) and len(buckets) >= 5, (family, rest)
            counts = [c for _, c in buckets]
            assert counts == sorted(counts), (family, rest, counts)
            assert counts[-1] == series[(f"{family}_count", rest)], (family, rest)
            assert series[(f"{family}_sum", rest)] >= 0


def check_grew(before: Series, after: Series) -> None:
    """No counter sample went down; no series disappeared."""
    for key, v in before.items():
        name = key[0]
        assert key in after, key
        if name.endswith(("_total", "_bucket", "_count", "_sum")) and name.startswith("annotd_"):
            assert after[key] >= v, (key, v, after[key])


async def test_series_types_and_counters_across_a_scenario(make_daemon: DaemonFactory) -> None:
    """Updates, a malformed frame, a slow client closed with 4008, a snapshot and an export:
    every family keeps its type, counters only grow, histograms stay consistent."""
    # 30 MB in one room, as fast as possible: above the default document limit and read pace
    d = await make_daemon(limits={"send_queue_frames": 8, "max_document_bytes": 64_000_000,
                                  "max_inbound_bytes_per_s": 1_000_000_000, "inbound_burst_bytes": 1_000_000_000})
    async with aiohttp.ClientSession(base_url=d.http_url) as http:
        scrapes: list[Series] = []

        async def step() -> Series:
            types, series = await scrape(http)
            check_types(types)
            check_counters(series)
            check_histograms(series)
            if scrapes:
                check_grew(scrapes[-1], series)
            scrapes.append(series)
            return series

        s0 = await step()
        await create_room(http, "r1")
        a = RoomClient(d.ws_url, "r1", user_id="a")
        b = RoomClient(d.ws_url, "r1", user_id="b")
        await a.connect()
        await b.connect()
        try:
            for i in range(2 * RELAY_SAMPLE_EVERY):
                a.doc.get("annotations", type=Map)[f"k{i}"] = i
            await settle(d, "r1", a, b)
            s1 = await step()
            updates = total(s1, "annotd_updates_sequenced_total") - total(s0, "annotd_updates_sequenced_total")
            assert updates >= 2 * RELAY_SAMPLE_EVERY
            assert total(s1, "annotd_deliveries_total") - total(s0, "annotd_deliveries_total") >= 2 * RELAY_SAMPLE_EVERY
            assert value(s1, "annotd_relay_duration_seconds_count") >= 2  # 1 in 8 sampled
            assert value(s1, "annotd_join_duration_seconds_count") == 2
            assert value(s1, "annotd_connected_clients") == 2 and value(s1, "annotd_rooms_active") == 1

            async with connect(f"{d.ws_url}/v1/ws/rooms/r1?userId=bad") as bad:
                await bad.send(b"\x00\x07")  # unknown sync message type
                await within(bad.wait_closed(), "the malformed frame's close")
            await b.close()  # only the slow client may fall behind (b shares this loop)
            await slow_client_closed(d, a)
            assert (await http.post("/v1/rooms/r1/snapshots")).status == 201
            s2 = await step()
            assert value(s2, "annotd_frames_rejected_total", reason="malformed") == 1
            assert value(s2, "annotd_clients_closed_total", code="4008") == 1
            assert value(s2, "annotd_clients_closed_total", code="1002") == 1
            assert value(s2, "annotd_snapshot_duration_seconds_count") >= 1

            r = await http.post("/v1/rooms/r1/exports", json={"format": "svg"})
            assert r.status == 202
            job = await within(d.hub.exports.wait((await r.json())["jobId"]), "the export")
            assert job.status == "done"
            s3 = await step()
            assert value(s3, "annotd_exports_total", format="svg", status="done") == 1
            assert value(s3, "annotd_export_duration_seconds_count", format="svg") == 1
            assert value(s3, "annotd_export_bytes_held") == job.size
            assert value(s3, "annotd_http_requests_total", route="/v1/rooms/{roomId}/exports", status="202") == 1
            assert value(s3, "annotd_http_requests_total", route="/v1/rooms", status="201") == 1
            assert value(s3, "annotd_event_loop_lag_seconds_count") > 0
            await json_agrees_with_series(http)
        finally:
            await a.close()
            await b.close()


async def slow_client_closed(d: Daemon, a: RoomClient) -> None:
    """A client that never reads is closed with 4008 once its queue (8 frames) is full."""
    slow = await connect(f"{d.ws_url}/v1/ws/rooms/r1?userId=slow", max_queue=1, compression=None)
    try:
        blob = "x" * 200_000
        m = a.doc.get("annotations", type=Map)
        for i in range(150):  # 30 MB: more than loopback socket buffers plus the 8-frame queue
            m[f"big{i}"] = blob + str(i)
        await settle(d, "r1", a)
        with contextlib.suppress(ConnectionClosed):  # read what reached it: it ends in 4008
            async with asyncio.timeout(T):
                while True:
                    await slow.recv()
        assert slow.close_code == 4008
    finally:
        await slow.close()


async def json_agrees_with_series(http: aiohttp.ClientSession) -> None:
    """The JSON fields read what the series read (an idle daemon: nothing moves between the
    two requests but the lag monitor and RSS)."""
    j = await (await http.get("/metrics")).json()
    _, s = await scrape(http)
    pairs = {
        "connected_clients": value(s, "annotd_connected_clients"),
        "rooms_total": value(s, "annotd_rooms"),
        "rooms_active": value(s, "annotd_rooms_active"),
        "deliveries_total": value(s, "annotd_deliveries_total"),
        "updates_sequenced_total": value(s, "annotd_updates_sequenced_total"),
        "frames_rejected_total": total(s, "annotd_frames_rejected_total"),
        "clients_too_slow_total": value(s, "annotd_clients_closed_total", code="4008"),
        "image_bytes": value(s, "annotd_image_bytes"),
        "export_jobs_pending": value(s, "annotd_export_queue_depth"),
        "export_jobs_completed_total": total(s, "annotd_exports_total", status="done"),
        "export_failures_total": total(s, "annotd_exports_total", status="failed"),
        "export_evictions_total": value(s, "annotd_export_evictions_total"),
        "export_bytes_held": value(s, "annotd_export_bytes_held"),
    }
    assert {k: j[k] for k in pairs} == pairs
    assert j["ops_broadcast_per_sec"] >= 0 and set(j["export_time_ms"]) == {"p50", "p95"}
    assert j["process_rss_bytes"] > 0 and value(s, "process_resident_memory_bytes") > 0
    # Every lag sample of the JSON window is also in the histogram: its max is at most the
    # lowest bucket bound that holds every observation.
    count = value(s, "annotd_event_loop_lag_seconds_count")
    holds_all = min(float(dict(lb)["le"]) for (n, lb), v in s.items()
                    if n == "annotd_event_loop_lag_seconds_bucket" and v == count)
    assert j["event_loop_lag_ms"]["max"] / 1000 <= holds_all


async def test_labels_stay_bounded_with_100_rooms_and_100_users(make_daemon: DaemonFactory) -> None:
    """Label values never carry a room or user id: 100 of each add no series."""
    d = await make_daemon()
    async with aiohttp.ClientSession(base_url=d.http_url) as http:

        async def rooms_and_users(prefix: str, n: int) -> None:
            for i in range(n):
                room, user = f"{prefix}room{i}", f"{prefix}user{i}"
                await create_room(http, room)
                assert (await http.get(f"/v1/rooms/{room}", headers={"X-Annotd-User": user})).status == 200
                assert (await http.get(f"/v1/rooms/{room}/nothing")).status == 404
                c = RoomClient(d.ws_url, room, user_id=user)
                await c.connect()
                c.doc.get("annotations", type=Map)["a"] = 1
                await settle(d, room, c)
                await c.close()

        await rooms_and_users("warm", 2)  # every kind of event has happened once
        await scrape(http)  # and a scrape (counted once answered)
        _, before = await scrape(http)
        await rooms_and_users("many", 100)
        _, after = await scrape(http)
        assert set(after) == set(before)
        ids = {f"manyroom{i}" for i in range(100)} | {f"manyuser{i}" for i in range(100)}
        for _, labels in after:
            for _, v in labels:
                assert not any(i in v for i in ids), v
        assert value(after, "annotd_rooms") == 102
        assert value(after, "annotd_http_requests_total", route="/v1/rooms/{roomId}", status="200") == 102
        assert value(after, "annotd_http_requests_total", route="unmatched", status="404") == 102


async def test_content_negotiation(daemon: Daemon, http: aiohttp.ClientSession) -> None:
    r = await http.get("/metrics")
    assert r.content_type == "application/json" and "connected_clients" in await r.json()
    # what a Prometheus server sends: OpenMetrics first
    prom = ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
            "text/plain;version=0.0.4;q=0.5,*/*;q=0.1")
    r = await http.get("/metrics", headers={"Accept": prom})
    text = await r.text()
    assert r.headers["Content-Type"].startswith("application/openmetrics-text; version=1.0.0")
    assert text.endswith("# EOF\n") and "# TYPE annotd_deliveries counter" in text
    r = await http.get("/metrics", headers={"Accept": "text/plain"})
    assert r.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert "# TYPE annotd_deliveries_total counter" in await r.text()
    r = await http.get("/metrics", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})  # a browser
    assert r.content_type == "application/json"
    r = await http.get("/metrics", params={"format": "json"}, headers={"Accept": prom})
    assert r.content_type == "application/json"
    r = await http.get("/metrics", params={"format": "xml"})
    body = await r.json()
    assert r.status == 422 and body["error"]["data"]["field"] == "format"


async def test_each_daemon_has_its_own_registry(make_daemon: DaemonFactory) -> None:
    one, two = await make_daemon(), await make_daemon()
    one.hub.create_room("only-here")
    assert one.metrics.registry is not two.metrics.registry
    assert one.metrics.gauge("rooms") == 1 and two.metrics.gauge("rooms") == 0
    global_names = {f.name for f in prometheus_client.REGISTRY.collect()}
    assert not any(n.startswith("annotd_") for n in global_names)


def test_relay_time_is_sampled_one_update_in_eight() -> None:
    m = Metrics()
    for _ in range(4 * RELAY_SAMPLE_EVERY):
        m.updates_sequenced += 1
        m.relayed(0.0)
    assert m.registry.get_sample_value("annotd_relay_duration_seconds_count") == 4


def test_close_codes_outside_the_known_set_share_one_label() -> None:
    m = Metrics()
    for code in (4008, 3999, 4777, None):
        m.client_closed(code)
    assert m.total(m.clients_closed, code="4008") == 1
    assert m.total(m.clients_closed, code="other") == 2
    assert m.total(m.clients_closed, code="1006") == 1  # no close frame at all


def test_unknown_gauge_is_refused() -> None:
    m = Metrics()
    try:
        m.watch(roomz=lambda: 1.0)
    except ValueError as exc:
        assert "roomz" in str(exc)
    else:
        raise AssertionError("watch() took an unknown gauge")
    assert set(metrics_mod.GAUGES) >= {"rooms", "rooms_active", "export_queue_depth"}
