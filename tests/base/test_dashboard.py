"""docs/grafana-dashboard.json imports into Grafana and plots series annotd really exports.

Grafana is not run here; the test checks what an import needs (dashboard fields, unique
panel ids, a 24-column grid without overlaps, a Prometheus data-source variable that every
panel uses, defined variables) and that every query is sane PromQL over existing series:
brackets balance, ``rate``/``increase`` only of counters and buckets, and each metric name
appears in a live scrape of a daemon.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from annotd.process.daemon import Daemon

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana-dashboard.json"
PANEL_TYPES = {"timeseries", "heatmap", "stat", "gauge", "bargauge", "table", "text"}
BUILTINS = {"__rate_interval", "__interval", "__range"}
METRIC = re.compile(r"\b((?:annotd|process|python)_[a-z0-9_]+)\b")


def load() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())  # type: ignore[no-any-return]


def targets(dash: dict[str, Any]) -> list[dict[str, Any]]:
    return [t for p in dash["panels"] for t in p["targets"]]


def test_dashboard_has_what_an_import_needs() -> None:
    dash = load()
    assert dash["title"] and dash["uid"] and isinstance(dash["schemaVersion"], int)
    assert {"from", "to"} <= set(dash["time"])
    variables = {v["name"]: v for v in dash["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids)) and all(isinstance(i, int) for i in ids)
    cells: set[tuple[int, int]] = set()
    for p in dash["panels"]:
        assert p["type"] in PANEL_TYPES and p["title"], p
        g = p["gridPos"]
        assert all(isinstance(g[k], int) and g[k] >= 0 for k in ("x", "y", "w", "h")) and g["w"] > 0 and g["h"] > 0
        assert g["x"] + g["w"] <= 24, p["title"]
        mine = {(x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])}
        assert not cells & mine, f"{p['title']} overlaps another panel"
        cells |= mine
        assert p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        refs = [t["refId"] for t in p["targets"]]
        assert refs and len(refs) == len(set(refs))
    for t in targets(dash):
        for var in re.findall(r"\$\{?(\w+)", t["expr"]):
            assert var in variables or var in BUILTINS, var


def test_queries_are_sane_promql() -> None:
    for t in targets(load()):
        expr = t["expr"]
        for open_, close in ("()", "[]", "{}"):
            depth = 0
            for ch in expr:
                depth += (ch == open_) - (ch == close)
                assert depth >= 0, expr
            assert depth == 0, expr
        for fn, arg in re.findall(r"\b(rate|increase)\((\w+)", expr):
            assert arg.endswith(("_total", "_bucket")), f"{fn} of a gauge: {expr}"
        for m in METRIC.findall(expr):
            if m.endswith("_bucket"):
                assert "by (le" in expr or "by (le," in expr, f"buckets need 'by (le)': {expr}"


def test_the_panels_the_issue_asks_for() -> None:
    dash = load()
    heatmaps = [p for p in dash["panels"] if p["type"] == "heatmap"]
    assert any("annotd_relay_duration_seconds_bucket" in t["expr"] and t.get("format") == "heatmap"
               for p in heatmaps for t in p["targets"])
    exprs = " ".join(t["expr"] for t in targets(dash))
    for needed in ("annotd_deliveries_total", "annotd_connected_clients", "annotd_rooms",
                   "annotd_event_loop_lag_seconds_bucket", "annotd_exports_total", "annotd_export_duration_seconds_bucket",
                   "annotd_export_queue_depth", "annotd_clients_closed_total"):
        assert needed in exprs, needed


async def test_every_metric_in_the_dashboard_is_exported(daemon: Daemon, http: aiohttp.ClientSession) -> None:
    assert (await http.get("/healthz")).status == 200  # labelled HTTP series exist once a request was answered
    text = await (await http.get("/metrics", params={"format": "prometheus"})).text()
    names = {s.name for f in text_string_to_metric_families(text) for s in f.samples}
    used = {m for t in targets(load()) for m in METRIC.findall(t["expr"])}
    assert used and used <= names, used - names
