"""A small local HTTP server for the external feeds (loopback only), with the faults real feeds have.

API (JSON, UTF-8):

* ``GET /v1/feeds``: ``{"feeds": [{"name", "natural_key", "schema_version", "fields", "description"}],
  "server_time"}``. Never faulted.
* ``GET /v1/<feed>?updated_since=<ISO 8601>&page_size=<n>&cursor=<opaque>``: ``{"feed", "items",
  "next_cursor", "server_time"}``. Items are the latest published version of each record, ordered by
  (updated_at, natural key); ``updated_since`` keeps ``updated_at > since`` (naive = +08:00); the cursor
  is the position after the last item returned (keyset pagination), so a record changed between two
  pages moves behind the cursor and is served again with its new version: nothing is skipped.
  ``page_size`` defaults to ``page_size_default`` and is capped at ``page_size_max``. Bad parameters:
  400; unknown feed: 404.

Faults, decided per feed request number ``n`` (0-based, counted in arrival order) and ``seed``, see
:func:`~simulator.external.faults.request_fault`: ``429`` with ``Retry-After`` (share
``rate_limit``), ``500/502/503`` (share ``fault_rate``; 502 has an HTML body), a response delayed by
``slow_delay`` seconds (share ``slow_rate`` of the rest), and ``latency`` seconds on every response.
Malformed records (share ``malformed_rate`` of record versions, decided per (feed, key, version) so a
re-fetch serves the same bad record): a mandatory field missing, a field of the wrong type, a USCC with
a bad check character, or truncated text; :meth:`FeedServer.malformed_plan` lists them.
``schema_version=2`` (all feeds, or a mapping feed -> version) renames one field per feed
(:data:`~simulator.external.schema.SPECS`).

The simulated clock: everything up to the end of ``published_through`` (default: the last month of the
inputs, even if the feeds were built further) is published; :meth:`FeedServer.advance` publishes the
next month(s). ``server_time`` is the publication cut-off.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import hashlib
import json
import logging
import threading
from collections import Counter
from collections.abc import Mapping
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from simulator.external.clock import iso, month_cutoff_ts, month_of, mord
from simulator.external.clock import parse_ts as _parse_ts
from simulator.external.faults import corrupt, malformation, request_fault
from simulator.external.feeds import Feeds, _atomic_write, build_feeds
from simulator.external.inputs import ExternalInputs
from simulator.external.schema import FEEDS, SPECS

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = False  # handler threads are joined by server_close()
    block_on_close = True
    allow_reuse_address = False


class _Snapshot:
    """One feed as published: records in (updated_at, key) order, malformed ones already broken."""

    __slots__ = ("positions", "ts", "records")

    def __init__(self, positions: list[tuple[int, str]], records: list[dict]) -> None:
        self.positions = positions
        self.ts = [p[0] for p in positions]
        self.records = records


class BadRequest(ValueError):
    pass


def _encode_cursor(feed: str, pos: tuple[int, str]) -> str:
    raw = json.dumps({"f": feed, "t": pos[0], "k": pos[1]}, ensure_ascii=False, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(feed: str, cursor: str) -> tuple[int, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        d = json.loads(raw)
        if d["f"] != feed:
            raise BadRequest("cursor belongs to another feed")
        return int(d["t"]), str(d["k"])
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError) as e:
        if isinstance(e, BadRequest):
            raise
        raise BadRequest("invalid cursor") from None


class FeedServer:
    """Serve :class:`Feeds` (or build them from :class:`ExternalInputs`) on ``127.0.0.1``.

    ``with FeedServer(inputs, seed=7) as srv: urlopen(srv.url + "/v1/news")``, or ``start()`` /
    ``stop()``. ``seed`` drives the faults and malformed records (default: the inputs' seed).
    """

    def __init__(
        self,
        source: ExternalInputs | Feeds,
        *,
        seed: int | None = None,
        fault_rate: float = 0.0,
        rate_limit: float = 0.0,
        retry_after: int = 1,
        slow_rate: float = 0.0,
        slow_delay: float = 2.0,
        latency: float = 0.0,
        malformed_rate: float = 0.0,
        page_size_max: int = 500,
        page_size_default: int = 100,
        schema_version: int | Mapping[str, int] = 1,
        published_through: date | None = None,
        port: int = 0,
    ) -> None:
        self.feeds = source if isinstance(source, Feeds) else build_feeds(source)
        self.seed = self.feeds.seed if seed is None else int(seed)
        for name, v in (("fault_rate", fault_rate), ("rate_limit", rate_limit), ("slow_rate", slow_rate),
                        ("malformed_rate", malformed_rate)):
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"{name} must be in [0, 1]")
        if rate_limit + fault_rate > 1.0:
            raise ValueError("rate_limit + fault_rate must not exceed 1")
        if page_size_max < 1 or not 1 <= page_size_default <= page_size_max:
            raise ValueError("need 1 <= page_size_default <= page_size_max")
        self.fault_rate, self.rate_limit, self.retry_after = fault_rate, rate_limit, int(retry_after)
        self.slow_rate, self.slow_delay, self.latency = slow_rate, float(slow_delay), float(latency)
        self.malformed_rate = malformed_rate
        self.page_size_max, self.page_size_default = int(page_size_max), int(page_size_default)
        self._schema = dict.fromkeys(FEEDS, 1)
        self.set_schema_version(schema_version)
        self.port_requested = int(port)
        self._lock = threading.Lock()
        self._requests = 0
        self.stats: Counter[int] = Counter()  # status code -> responses (feed requests)
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        last_built = self.feeds.month_ords[-1]
        self._cutoff_ord = mord(published_through or self.feeds.inputs.months[-1])
        if self._cutoff_ord > last_built:
            self.feeds.extend(self._cutoff_ord - last_built)
        self._snap: dict[str, _Snapshot] = {}
        self._publish()

    # ---- publication ------------------------------------------------------------------------------
    @property
    def published_through(self) -> date:
        return month_of(self._cutoff_ord)

    @property
    def server_time(self) -> str:
        return iso(month_cutoff_ts(self._cutoff_ord))

    def _publish(self) -> None:
        cutoff = month_cutoff_ts(self._cutoff_ord)
        snap = {}
        for feed in FEEDS:
            spec = SPECS[feed]
            positions, records = [], []
            for ts, key, rec in self.feeds.snapshot(feed, cutoff):
                bad = malformation(self.seed, spec, key, rec["version"], rec, self.malformed_rate)
                positions.append((ts, key))
                records.append(corrupt(rec, *bad, self.seed, spec) if bad else rec)
            snap[feed] = _Snapshot(positions, records)
        with self._lock:
            self._snap = snap  # replaced whole: a request in flight keeps the snapshot it started with

    def advance(self, months: int = 1) -> dict[str, int]:
        """Publish the next ``months`` month(s). Returns, per feed, how many records are new or changed."""
        before = {f: {p[1]: r.get("version") for p, r in zip(s.positions, s.records, strict=True)}
                  for f, s in self._snap.items()}
        target = self._cutoff_ord + int(months)
        if target > self.feeds.month_ords[-1]:
            self.feeds.extend(target - self.feeds.month_ords[-1])
        self._cutoff_ord = target
        self._publish()
        changed = {}
        for f, s in self._snap.items():
            old = before[f]
            changed[f] = sum(1 for p, r in zip(s.positions, s.records, strict=True)
                             if old.get(p[1]) != r.get("version"))
        log.info("feed server: published through %s (%s)", self.published_through, changed)
        return changed

    def set_schema_version(self, version: int | Mapping[str, int], feed: str | None = None) -> None:
        """Serve ``feed`` (or every feed) in schema ``version`` (1 or 2) from now on."""
        updates = dict(version) if isinstance(version, Mapping) else {f: version for f in ([feed] if feed else FEEDS)}
        for f, v in updates.items():
            if f not in SPECS or v not in (1, 2):
                raise ValueError(f"unknown feed {f!r} or schema version {v!r}")
        self._schema.update(updates)

    def schema_version(self, feed: str) -> int:
        return self._schema[feed]

    def records(self, feed: str) -> list[dict]:
        """What the server publishes now for ``feed``, in order and shape (no faults)."""
        return [self._shape(feed, r) for r in self._snap[feed].records]

    def malformed_plan(self) -> list[dict]:
        """Every record version served malformed at this server's seed and rate (published or not yet)."""
        out = []
        for feed in FEEDS:
            spec = SPECS[feed]
            for ts, key, rec in self.feeds.versions[feed]:
                bad = malformation(self.seed, spec, key, rec["version"], rec, self.malformed_rate)
                if bad:
                    out.append({"feed": feed, "key": key, "version": rec["version"], "updated_at": iso(ts),
                                "kind": bad[0], "field": bad[1]})
        return out

    def _shape(self, feed: str, rec: dict) -> dict:
        if self._schema[feed] == 2:
            old, new = SPECS[feed].v2_rename
            return {(new if k == old else k): v for k, v in rec.items()}
        return rec

    # ---- files ------------------------------------------------------------------------------------
    def write_files(self, out_dir: Path) -> dict[str, dict]:
        """Write every feed as published now to ``out_dir/<feed>.jsonl`` (same records, same order, same
        malformed records and schema as served) and ``manifest.json``; returns the manifest entries."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        entries = {}
        for feed in FEEDS:
            recs = self.records(feed)
            data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs).encode("utf-8")
            _atomic_write(out / f"{feed}.jsonl", data)
            entries[feed] = {"file": f"{feed}.jsonl", "records": len(recs), "sha256": hashlib.sha256(data).hexdigest(),
                             "natural_key": SPECS[feed].key, "schema_version": self._schema[feed]}
        manifest = {"published_through": self.published_through.isoformat(), "server_time": self.server_time,
                    "feeds": entries}
        _atomic_write(out / "manifest.json", (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode())
        return entries

    def write_ground_truth(self, ground_truth_dir: Path) -> list[Path]:
        """Hidden labels (tone, mentions, advert labels) plus the malformed records of this server."""
        return self.feeds.write_ground_truth(
            ground_truth_dir, malformed=self.malformed_plan(),
            extra={"server_seed": self.seed, "malformed_rate": self.malformed_rate,
                   "published_through": self.published_through.isoformat()})

    # ---- faults -----------------------------------------------------------------------------------
    def fault_for(self, n: int):
        """The fault decision for feed request number ``n`` (0-based)."""
        return request_fault(self.seed, n, rate_limit=self.rate_limit, fault_rate=self.fault_rate,
                             slow_rate=self.slow_rate, slow_delay=self.slow_delay)

    @property
    def request_count(self) -> int:
        return self._requests

    # ---- lifecycle --------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("server not started")
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("server not started")
        return self._httpd.server_address[1]

    @property
    def server_address(self) -> tuple[str, int]:
        if self._httpd is None:
            raise RuntimeError("server not started")
        return self._httpd.server_address[:2]

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> FeedServer:
        if self._httpd is not None:
            raise RuntimeError("server already started")
        self._stopping = threading.Event()
        self._httpd = _HTTPServer((LOOPBACK, self.port_requested), _make_handler(self))
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"feed-server-{self.port}", daemon=True)
        self._thread.start()
        log.info("feed server listening on %s (published through %s)", self.url, self.published_through)
        return self

    def stop(self) -> None:
        """Stop serving, wake slow responses, join every thread and close the socket."""
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        httpd.server_close()  # joins the handler threads (block_on_close)
        if thread is not None:
            thread.join(timeout=10)
        self._httpd = self._thread = None
        log.info("feed server stopped")

    def __enter__(self) -> FeedServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ---- request handling -------------------------------------------------------------------------
    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        path = parts.path.rstrip("/")
        if path == "/v1/feeds":
            body = {"feeds": [{"name": f, "natural_key": SPECS[f].key, "schema_version": self._schema[f],
                               "fields": list(SPECS[f].fields_for(self._schema[f])), "description": SPECS[f].doc}
                              for f in FEEDS], "server_time": self.server_time}
            return _send_json(h, 200, body)
        if not path.startswith("/v1/") or path[4:] not in SPECS:
            return _send_json(h, 404, {"error": f"no such resource: {parts.path}"})
        feed = path[4:]
        with self._lock:
            n = self._requests
            self._requests += 1
            snap = self._snap[feed]
        fault = self.fault_for(n)
        if self.latency and self._stopping.wait(self.latency):
            return
        if fault.status == 429:
            self._count(429)
            return _send_json(h, 429, {"error": "rate limit exceeded"}, {"Retry-After": str(self.retry_after)})
        if fault.status == 502:
            self._count(502)
            return _send(h, 502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html")
        if fault.status >= 500:
            self._count(fault.status)
            return _send_json(h, fault.status, {"error": "internal error" if fault.status == 500 else "unavailable"})
        if fault.delay and self._stopping.wait(fault.delay):
            return  # shutting down: drop the slow response
        try:
            body = self._page(feed, snap, parse_qs(parts.query, keep_blank_values=True))
        except BadRequest as e:
            self._count(400)
            return _send_json(h, 400, {"error": str(e)})
        self._count(200)
        _send_json(h, 200, body)

    def _count(self, status: int) -> None:
        with self._lock:
            self.stats[status] += 1

    def _page(self, feed: str, snap: _Snapshot, q: dict[str, list[str]]) -> dict:
        def one(name: str) -> str | None:
            v = q.get(name)
            return v[-1] if v else None

        size_s = one("page_size")
        try:
            size = self.page_size_default if size_s in (None, "") else int(size_s)
        except ValueError:
            raise BadRequest("page_size must be an integer") from None
        if size < 1:
            raise BadRequest("page_size must be positive")
        size = min(size, self.page_size_max)
        start = 0
        since = one("updated_since")
        if since:
            try:
                since_ts = _parse_ts(since)
            except ValueError:
                raise BadRequest(f"updated_since is not an ISO 8601 timestamp: {since!r}") from None
            start = bisect.bisect_right(snap.ts, int(since_ts // 1))  # updated_at > since
        cursor = one("cursor")
        if cursor:
            start = max(start, bisect.bisect_right(snap.positions, _decode_cursor(feed, cursor)))
        end = min(start + size, len(snap.records))
        items = [self._shape(feed, r) for r in snap.records[start:end]]
        nxt = _encode_cursor(feed, snap.positions[end - 1]) if end < len(snap.records) else None
        return {"feed": feed, "items": items, "next_cursor": nxt, "server_time": self.server_time}


def _send(h: BaseHTTPRequestHandler, status: int, data: bytes, ctype: str, headers: dict | None = None) -> None:
    try:
        h.send_response(status)
        h.send_header("Content-Type", f"{ctype}; charset=utf-8")
        h.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data)
    except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
        log.debug("client went away before the response was written")


def _send_json(h: BaseHTTPRequestHandler, status: int, body: dict, headers: dict | None = None) -> None:
    _send(h, status, json.dumps(body, ensure_ascii=False).encode("utf-8"), "application/json", headers)


def _make_handler(server: FeedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "SupervisionFeedSim/1.0"
        timeout = 5  # a silent client cannot hold a handler thread (and stop()) for long

        def do_GET(self) -> None:  # noqa: N802
            server._handle(self)

        def log_message(self, fmt: str, *args) -> None:
            log.debug("feed server: " + fmt, *args)

    return Handler


def serve_forever(inputs: ExternalInputs | Feeds, port: int = 0, **options) -> None:
    """Serve on ``127.0.0.1:port`` until interrupted (Ctrl-C)."""
    with FeedServer(inputs, port=port, **options) as srv:
        print(f"serving external feeds on {srv.url} (Ctrl-C to stop)", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
