"""Process metrics: one ``prometheus_client`` registry per daemon, and the JSON view of it.

Why ``prometheus_client``: scrapers need correctly typed series (counters that ``rate()``
can reset-handle, histograms that aggregate), and its exposition (text 0.0.4 and
OpenMetrics, chosen from ``Accept``) is the reference. The registry belongs to the
:class:`Metrics` object, which the daemon creates (through its hub): nothing is put in
the library's global default registry, so two daemons in one test process never share a
series.

What costs what on the hot path (timed in BENCHMARKS.md, "Metrics"): a
``prometheus_client`` ``Counter.inc`` takes a lock (~0.4–0.9 µs) and ``Histogram.observe``
two (~1–2.5 µs), more than the ~1 µs an update may spend on metrics. So:

* the counts bumped per update or per delivery (``updates_sequenced``, ``deliveries``) and
  the client count are plain ints on this object; :class:`_Totals` turns them into counter
  samples when scraped (exact, and free until then);
* relay time is observed for one update in :data:`RELAY_SAMPLE_EVERY` (the histogram's
  ``_count`` is the number of sampled updates, not of updates);
* everything else (rejections, closes, exports, HTTP requests, joins, snapshots, lag
  samples) happens at most a few hundred times a second and uses the library directly.

Labels are bounded by construction: reasons and statuses are fixed names, close codes
outside the known set become ``"other"``, HTTP routes are route templates; never a room id
or a user id (per-room detail is in ``rooms.get`` and the JSON endpoint).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Literal

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from ..render.options import FORMATS as EXPORT_FORMATS
from . import errors
from .looplag import LagWindow

RELAY_SAMPLE_EVERY = 8
"""Relay time is observed for every 8th sequenced update (a power of two: a mask test)."""
_RELAY_MASK = RELAY_SAMPLE_EVERY - 1

RejectReason = Literal["malformed", "too_large", "text_without_subprotocol", "binary_on_control", "document_too_large"]
REJECT_REASONS: tuple[RejectReason, ...] = ("malformed", "too_large", "text_without_subprotocol", "binary_on_control",
                                            "document_too_large")
"""Why a client's frame was refused (``annotd_frames_rejected_total{reason}``)."""
ExportStatus = Literal["done", "failed"]
EXPORT_STATUSES: tuple[ExportStatus, ...] = ("done", "failed")

SERVER_CLOSE_CODES = tuple(sorted(errors.CLOSE_CODES))
"""Codes annotd closes sockets with (protocol.md "WebSocket close codes"): always present."""
KNOWN_CLOSE_CODES = frozenset({1000, 1001, 1002, 1003, 1005, 1006, 1007, 1008, 1009, 1010, 1011, 1012,
                               1013, 1014, *SERVER_CLOSE_CODES})
"""Close codes kept as label values; any other (a client may send 3000–4999) counts as ``other``."""

# Buckets, in seconds, chosen for what each measures (upper bounds; +Inf is added).
RELAY_BUCKETS = (25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1)
"""Receive → every recipient written or queued: tens of µs in a 10-client room, ms for hundreds."""
JOIN_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Join to sync: ~5 ms for a 10,000-event room; seconds only for huge documents."""
LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
"""Event-loop lag: under 1 ms is timer noise; 20 ms is where rooms start to wait on each other."""
EXPORT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
"""Export render: 0.2–0.6 s at scale 1 for a 500-annotation scene, seconds at scale 3+."""
SNAPSHOT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
"""Snapshot (full-state encode + checksum): sub-ms for small rooms, 100s of ms for huge ones."""

GAUGES = {
    "rooms": "Rooms held in memory.",
    "rooms_active": "Rooms with at least one connected client.",
    "export_queue_depth": "Export jobs queued or running (export.queue_size bounds it).",
    "export_bytes_held": "Bytes of finished exports held for download.",
    "image_bytes": "Bytes of base images held.",
}
"""Gauges read when scraped from functions the hub installs (:meth:`Metrics.watch`)."""


class Metrics:
    """Every metric of one daemon, and its registry."""

    def __init__(self, window_s: float = 10.0) -> None:
        # Hot-path counts: plain ints (see the module docstring); _Totals exports them.
        self.connected_clients = 0
        self.updates_sequenced = 0
        self.deliveries = 0
        self.window_s = window_s
        """The window of ``ops_broadcast_per_sec`` (see :meth:`sample`)."""
        self._samples: deque[tuple[float, int]] = deque()
        self.loop_lag = LagWindow()
        """Event-loop lag samples, filled by the daemon's :class:`annotd.base.looplag.LagMonitor`."""
        self.gc_pause = LagWindow()
        """The garbage collector's pauses, filled by the daemon's :class:`annotd.process.gcpolicy.GcPolicy`."""
        self.sockets_closed = 0
        """Sockets ended so far (every :meth:`client_closed`): the collector policy's churn."""
        self.started = time.time()

        reg = self.registry = CollectorRegistry()
        self.frames_rejected = Counter("annotd_frames_rejected", "Client frames refused (the socket is closed).",
                                       ["reason"], registry=reg)
        self.clients_closed = Counter("annotd_clients_closed", "Sockets ended, by close code (4008: too slow).",
                                      ["code"], registry=reg)
        self.exports = Counter("annotd_exports", "Export jobs finished, by format and outcome.",
                               ["format", "status"], registry=reg)
        self.export_evictions = Counter("annotd_export_evictions", "Finished exports evicted (byte cap or TTL).",
                                        registry=reg)
        self.http_requests = Counter("annotd_http_requests", "HTTP requests on the side port, by route template.",
                                     ["route", "status"], registry=reg)
        self.relay_seconds = Histogram(
            "annotd_relay_duration_seconds",
            f"A client's update from receipt to written or queued for every recipient (1 in {RELAY_SAMPLE_EVERY} sampled).",
            buckets=RELAY_BUCKETS, registry=reg)
        self.join_seconds = Histogram(
            "annotd_join_duration_seconds",
            "A room socket from its accepted handshake to the sync step 2 answering its first sync step 1.",
            buckets=JOIN_BUCKETS, registry=reg)
        self.loop_lag_seconds = Histogram("annotd_event_loop_lag_seconds",
                                          "How late a timer of the event loop fired (every 10 ms while busy, else the 50 ms tick).",
                                          buckets=LAG_BUCKETS, registry=reg)
        self.gc_pause_seconds = Histogram("annotd_gc_pause_seconds",
                                          "How long each garbage collection held the process (the event loop included).",
                                          buckets=LAG_BUCKETS, registry=reg)
        self.export_seconds = Histogram("annotd_export_duration_seconds", "Export render time of finished jobs.",
                                        ["format"], buckets=EXPORT_BUCKETS, registry=reg)
        self.snapshot_seconds = Histogram("annotd_snapshot_duration_seconds",
                                          "Taking a snapshot: full-state encode, checksum, retention.",
                                          buckets=SNAPSHOT_BUCKETS, registry=reg)
        Gauge("annotd_connected_clients", "Open WebSocket connections (room and control sockets).",
              registry=reg).set_function(lambda: self.connected_clients)
        self._gauges: dict[str, Callable[[], float]] = {name: _zero for name in GAUGES}
        for name, doc in GAUGES.items():
            Gauge(f"annotd_{name}", doc, registry=reg).set_function(self._reader(name))
        reg.register(_Totals(self))
        self._process = ProcessCollector(registry=reg)  # process_resident_memory_bytes, CPU seconds, fds
        PlatformCollector(registry=reg)
        GCCollector(registry=reg)
        for reason in REJECT_REASONS:  # known label values exist from the start: rate() and alerts see 0
            self.frames_rejected.labels(reason)
        for code in SERVER_CLOSE_CODES:
            self.clients_closed.labels(str(code))
        for fmt in EXPORT_FORMATS:
            self.export_seconds.labels(fmt)
            for status in EXPORT_STATUSES:
                self.exports.labels(fmt, status)

    # -- recording -------------------------------------------------------------------------
    def watch(self, **functions: Callable[[], float]) -> None:
        """Install the functions the :data:`GAUGES` read (the hub's state) when scraped."""
        unknown = set(functions) - set(GAUGES)
        if unknown:
            raise ValueError(f"unknown gauges: {sorted(unknown)}")
        self._gauges.update(functions)

    def relayed(self, started: float) -> None:
        """An update was sequenced and fanned out; ``started``: ``perf_counter()`` at receipt.

        Call after :attr:`updates_sequenced` was bumped: every :data:`RELAY_SAMPLE_EVERY`-th
        update is timed."""
        if not self.updates_sequenced & _RELAY_MASK:
            self.relay_seconds.observe(time.perf_counter() - started)

    def frame_rejected(self, reason: RejectReason) -> None:
        self.frames_rejected.labels(reason).inc()

    def client_closed(self, code: int | None) -> None:
        """A socket ended with ``code`` (``None``: no close frame, counted as 1006)."""
        code = 1006 if code is None else code
        self.sockets_closed += 1
        self.clients_closed.labels(str(code) if code in KNOWN_CLOSE_CODES else "other").inc()

    def export_finished(self, fmt: str, status: ExportStatus, seconds: float | None) -> None:
        self.exports.labels(fmt, status).inc()
        if status == "done" and seconds is not None:
            self.export_seconds.labels(fmt).observe(seconds)

    def http_request(self, route: str, status: int) -> None:
        self.http_requests.labels(route, str(status)).inc()

    # -- reading ---------------------------------------------------------------------------
    def _reader(self, name: str) -> Callable[[], float]:
        return lambda: self._gauges[name]()

    def gauge(self, name: str) -> float:
        """The current value of one of :data:`GAUGES` (what a scrape reads)."""
        return self._gauges[name]()

    def total(self, counter: Counter, **match: str) -> float:
        """The sum of ``counter``'s ``_total`` samples whose labels include ``match``."""
        return sum(s.value for family in counter.collect() for s in family.samples
                   if s.name.endswith("_total") and all(s.labels.get(k) == v for k, v in match.items()))

    def rss_bytes(self) -> int | None:
        """``process_resident_memory_bytes`` (``None`` where ``/proc`` is missing)."""
        for family in self._process.collect():
            if family.name == "process_resident_memory_bytes":
                return int(family.samples[0].value)
        return None

    def exposition(self, accept: str | None) -> tuple[bytes, str]:
        """The Prometheus text for an ``Accept`` header: OpenMetrics when asked for, else
        text format 0.0.4. Returns the body and its ``Content-Type``."""
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.registry), content_type

    # -- the JSON endpoint's rate ---------------------------------------------------------
    def sample(self, now: float) -> None:
        """Keep a (time, deliveries) sample about once a second (the daemon's tick calls this)."""
        if not self._samples or now - self._samples[-1][0] >= 1.0:
            self._samples.append((now, self.deliveries))
            while len(self._samples) > 1 and now - self._samples[1][0] >= self.window_s:
                self._samples.popleft()

    def deliveries_per_second(self, now: float) -> float:
        """Deliveries per second since the oldest kept sample (~``window_s`` ago)."""
        if not self._samples:
            return 0.0
        t0, n0 = self._samples[0]
        return (self.deliveries - n0) / (now - t0) if now > t0 else 0.0


def _zero() -> float:
    return 0.0


class _Totals(Collector):
    """The hot-path counts as counter samples, read when scraped."""

    def __init__(self, metrics: Metrics) -> None:
        self.m = metrics

    def collect(self) -> Iterator[Metric]:
        m = self.m
        for name, doc, value in (
            ("annotd_updates_sequenced", "Document updates given a seq (from clients and from commands).",
             m.updates_sequenced),
            ("annotd_deliveries", "Document frames written or queued to recipients.", m.deliveries),
        ):
            family = CounterMetricFamily(name, doc)
            family.add_metric([], value, created=m.started)
            yield family

    def describe(self) -> Iterator[Metric]:
        return self.collect()
