"""The access-log reader and the usage report (roles/ollama_gate/filter_plugins/usage.py): both
proxies' lines read alike, the period, failures by kind, percentiles, CSV."""
import json

import pytest
from ansible.errors import AnsibleFilterError

from ollama_gate_filters import load

usage = load("usage")


def nginx(time, user="", key="", path="/api/tags", status=200, request_time=0.5, upstream="0.4", method="GET"):
    return json.dumps({"time": time, "client": "10.0.0.2", "user": user, "key": key, "method": method, "path": path,
                       "status": status, "bytes_in": 100, "bytes_out": 1000, "request_time": request_time,
                       "upstream_time": upstream, "proxy": "nginx"})


def caddy(ts, user_id=None, uri="/api/tags?x=1", status=200, duration=0.25):
    entry = {"level": "info", "ts": ts, "logger": "http.log.access", "msg": "handled request",
             "request": {"remote_ip": "10.0.0.3", "method": "GET", "uri": uri}, "duration": duration,
             "size": 150, "status": status, "bytes_read": 20}
    if user_id is not None:
        entry["user_id"] = user_id
    return json.dumps(entry)


def test_both_proxies_read_alike():
    a = usage.ollama_gate_access_record(nginx("2026-12-01T11:00:00+01:00", "alice", "laptop", upstream="0.1, 0.2"))
    assert a == {"time": "2026-12-01T10:00:00.000+00:00", "client": "10.0.0.2", "user": "alice", "key": "laptop",
                 "method": "GET", "path": "/api/tags", "status": 200, "bytes_in": 100, "bytes_out": 1000,
                 "request_time": 0.5, "upstream_time": pytest.approx(0.3), "proxy": "nginx"}
    b = usage.ollama_gate_access_record(caddy(1764583200.0, "bob~ci"))
    assert (b["user"], b["key"], b["path"], b["client"], b["bytes_in"], b["bytes_out"], b["upstream_time"]) == (
        "bob", "ci", "/api/tags", "10.0.0.3", 20, 150, None)
    assert b["time"] == "2025-12-01T10:00:00.000+00:00"
    assert usage.ollama_gate_access_record(nginx("2026-12-01T10:00:00+00:00", upstream=""))["upstream_time"] is None
    with pytest.raises(AnsibleFilterError):
        usage.ollama_gate_access_record("not json")


def test_report_counts_the_period_and_failures_by_kind():
    lines = [nginx("2026-12-01T10:00:00+00:00", "alice", status=s, request_time=t)
             for s, t in [(200, 0.1), (200, 0.2), (401, 0.0), (403, 0.0), (429, 0.0), (502, 1.0), (404, 0.0)]]
    lines += [nginx("2026-10-01T10:00:00+00:00", "alice"),  # before the period
              nginx("2026-12-01T10:00:00+00:00", path="/api/version", status=401),  # no credentials
              caddy(1764583200.0 + 365 * 86400, "alice~laptop"),  # 2026-12-01
              "", "garbage"]
    report = usage.ollama_gate_usage([lines[:5], lines[5:]], 30, now="2026-12-02T00:00:00+00:00")
    rows = {(r["user"], r["key"]): r for r in report}
    alice = rows[("alice", "")]
    assert (alice["requests"], alice["ok"], alice["401"], alice["403"], alice["429"], alice["5xx"],
            alice["other_failures"]) == (7, 2, 1, 1, 1, 1, 1)
    assert alice["bytes_in"] == 700 and alice["bytes_out"] == 7000
    assert alice["p50_seconds"] == 0.0 and alice["p95_seconds"] == 1.0
    assert rows[("(anonymous)", "")]["401"] == 1 and rows[("alice", "laptop")]["requests"] == 1
    assert report[0]["user"] == "alice" and report[0]["key"] == ""  # most requests first
    assert alice["top_endpoints"] == "GET /api/tags (7)"


def test_percentiles_are_nearest_rank():
    lines = [nginx("2026-12-01T10:00:00+00:00", "bob", request_time=t / 10) for t in range(1, 21)]
    [row] = usage.ollama_gate_usage(lines, 1, now="2026-12-01T12:00:00+00:00")
    assert row["p50_seconds"] == pytest.approx(1.0) and row["p95_seconds"] == pytest.approx(1.9)


def test_csv_and_lines():
    report = usage.ollama_gate_usage([nginx("2026-12-01T10:00:00+00:00", "bob", "ci")], 1,
                                     now="2026-12-01T12:00:00+00:00")
    header, row = usage.ollama_gate_usage_csv(report).splitlines()
    assert header == ",".join(usage.COLUMNS) and row.startswith("bob,ci,1,1,0,0,0,0,0,100,1000,0.5,0.5,")
    assert usage.ollama_gate_usage_lines(report)[0].startswith("bob (key ci): 1 requests, 1 ok")
    assert usage.ollama_gate_usage_lines([]) == ["no requests in the period"]
