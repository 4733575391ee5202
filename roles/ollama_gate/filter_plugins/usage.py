"""The gateways' access logs, read the same for both proxies (usage report, tests)."""
from __future__ import annotations

import csv
import datetime
import io
import json

from ansible.errors import AnsibleFilterError


def _seconds(value) -> float | None:
    """nginx writes "" or "-" when no upstream answered, and "a, b" when it tried two."""
    if value in (None, "", "-"):
        return None
    try:
        return sum(float(part) for part in str(value).split(",") if part.strip() not in ("", "-"))
    except ValueError:
        return None


def ollama_gate_access_record(line: str) -> dict:
    """One access-log line (nginx's ollama_gateway_json format, or Caddy's JSON access log) as
    {time (ISO 8601, UTC), client, user, key, method, path, status, bytes_in, bytes_out,
    request_time, upstream_time (seconds; None where the proxy does not log it), proxy}. An API
    key's account <user>~<key> is split into user and key."""
    try:
        entry = json.loads(line)
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError(f"not a JSON access-log line: {exc}") from exc
    if entry.get("proxy") == "nginx":
        when = datetime.datetime.fromisoformat(entry["time"]).astimezone(datetime.timezone.utc)
        account = entry.get("user", "")
        if entry.get("key"):
            account = f"{account}~{entry['key']}"
        record = {"client": entry.get("client", ""), "method": entry.get("method", ""), "path": entry.get("path", ""),
                  "status": int(entry.get("status", 0)), "bytes_in": int(entry.get("bytes_in", 0)),
                  "bytes_out": int(entry.get("bytes_out", 0)), "request_time": _seconds(entry.get("request_time")),
                  "upstream_time": _seconds(entry.get("upstream_time")), "proxy": "nginx"}
    else:
        request = entry.get("request") or {}
        when = datetime.datetime.fromtimestamp(float(entry["ts"]), datetime.timezone.utc)
        account = entry.get("user_id") or ""
        record = {"client": request.get("client_ip") or request.get("remote_ip", ""),
                  "method": request.get("method", ""), "path": str(request.get("uri", "")).split("?", 1)[0],
                  "status": int(entry.get("status", 0)), "bytes_in": int(entry.get("bytes_read", 0)),
                  "bytes_out": int(entry.get("size", 0)), "request_time": _seconds(entry.get("duration")),
                  "upstream_time": None, "proxy": "caddy"}
    user, _, key = account.partition("~")
    record.update(time=when.isoformat(timespec="milliseconds"), user=user, key=key)
    return record


def _percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile (the value below which `share` of the values lie)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * share // 1))  # ceil(n * share)
    return ordered[int(rank) - 1]


COLUMNS = ["user", "key", "requests", "ok", "401", "403", "429", "5xx", "other_failures", "bytes_in", "bytes_out",
           "p50_seconds", "p95_seconds", "top_endpoints"]


def ollama_gate_usage(logs, days: int = 30, top: int = 3, now: str = "") -> list[dict]:
    """Usage per user and API key from access-log lines (a list of lines, or of lists of lines: one
    per gateway), counting the requests of the last `days` days (before `now`, ISO 8601; default
    the current time): requests, successes, failures
    by kind (401, 403, 429, 5xx, other), bytes in and out, p50 and p95 request time (seconds) and
    the `top` most called endpoints. Requests without credentials count as user "(anonymous)".
    Lines that are no access-log line are skipped. Rows sorted by requests, most first."""
    end = datetime.datetime.fromisoformat(now) if now else datetime.datetime.now(datetime.timezone.utc)
    if end.tzinfo is None:
        end = end.replace(tzinfo=datetime.timezone.utc)
    start = end - datetime.timedelta(days=int(days))
    lines = []
    for entry in logs or []:
        lines.extend(entry if isinstance(entry, list) else [entry])
    rows: dict[tuple[str, str], dict] = {}
    times: dict[tuple[str, str], list[float]] = {}
    endpoints: dict[tuple[str, str], dict[str, int]] = {}
    for line in lines:
        if not str(line).strip():
            continue
        try:
            record = ollama_gate_access_record(line)
        except (AnsibleFilterError, KeyError, TypeError, ValueError):
            continue
        if not start <= datetime.datetime.fromisoformat(record["time"]) <= end:
            continue
        who = (record["user"] or "(anonymous)", record["key"])
        row = rows.setdefault(who, {c: 0 for c in COLUMNS[2:11]})
        row["requests"] += 1
        status = record["status"]
        kind = ("ok" if status < 400 else str(status) if status in (401, 403, 429)
                else "5xx" if status >= 500 else "other_failures")
        row[kind] += 1
        row["bytes_in"] += record["bytes_in"]
        row["bytes_out"] += record["bytes_out"]
        if record["request_time"] is not None:
            times.setdefault(who, []).append(record["request_time"])
        endpoint = f"{record['method']} {record['path']}"
        endpoints.setdefault(who, {})[endpoint] = endpoints.setdefault(who, {}).get(endpoint, 0) + 1
    report = []
    for who, row in rows.items():
        calls = sorted(endpoints.get(who, {}).items(), key=lambda item: (-item[1], item[0]))[:top]
        report.append({"user": who[0], "key": who[1], **row,
                       "p50_seconds": _percentile(times.get(who, []), 0.50),
                       "p95_seconds": _percentile(times.get(who, []), 0.95),
                       "top_endpoints": "; ".join(f"{name} ({count})" for name, count in calls)})
    return sorted(report, key=lambda r: (-r["requests"], r["user"], r["key"]))


def ollama_gate_usage_csv(report: list[dict]) -> str:
    """The usage report as CSV (a header line, then one line per user and key)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in report or []:
        writer.writerow({c: ("" if row.get(c) is None else row.get(c)) for c in COLUMNS})
    return out.getvalue()


def ollama_gate_usage_lines(report: list[dict]) -> list[str]:
    """The usage report as lines for a terminal."""
    def seconds(value):
        return "-" if value is None else f"{value:.3f}s"

    lines = []
    for row in report or []:
        who = row["user"] + (f" (key {row['key']})" if row["key"] else "")
        lines.append(f"{who}: {row['requests']} requests, {row['ok']} ok, failures 401 {row['401']} / 403 {row['403']}"
                     f" / 429 {row['429']} / 5xx {row['5xx']} / other {row['other_failures']}, in {row['bytes_in']} B,"
                     f" out {row['bytes_out']} B, p50 {seconds(row['p50_seconds'])}, p95 {seconds(row['p95_seconds'])};"
                     f" top: {row['top_endpoints']}")
    return lines or ["no requests in the period"]


class FilterModule:
    def filters(self):
        return {
            "ollama_gate_access_record": ollama_gate_access_record,
            "ollama_gate_usage": ollama_gate_usage,
            "ollama_gate_usage_csv": ollama_gate_usage_csv,
            "ollama_gate_usage_lines": ollama_gate_usage_lines,
        }
