"""HTTP client for the external feeds: one page per call, with timeouts and retries.

Why ``httpx`` and not ``apache-airflow-providers-http``'s ``HttpHook``: the hook's retry support
(tenacity) does not read ``Retry-After``, and the extractor must run (and be tested) outside a task.
``httpx`` is already installed with Airflow 3 (the task SDK uses it) and is pinned in
``requirements.txt``. The Airflow side still configures it the Airflow way: the DAG reads the base URL
from the HTTP connection ``external_feeds`` (see ``dags/ingest_external.py``).

Behaviour of :meth:`FeedClient.get_page`:

* ``429``: wait ``Retry-After`` seconds (delta-seconds or an HTTP date; capped at ``max_wait``), retry;
* ``500``/``502``/``503``/``504``, a timeout or a dropped connection: exponential backoff
  (``backoff * 2**attempt``, capped at ``max_wait``, with jitter), retry;
* any other status: :class:`FeedRequestError` at once (a 4xx is a bug or a bad request, not transient);
* ``200`` whose body is not a JSON page (``items`` list, ``next_cursor``): :class:`FeedShapeError`;
* after ``max_attempts`` failed attempts: :class:`FeedUnavailable` naming the feed, page and last cause.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({500, 502, 503, 504})


class FeedError(RuntimeError):
    """Base class: every message names the feed and the page."""


class FeedRequestError(FeedError):
    pass


class FeedUnavailable(FeedError):
    pass


class FeedShapeError(FeedError):
    """The feed's response or records no longer have the registered shape."""


@dataclass
class Page:
    feed: str
    page_no: int
    request_no: int  # the number of the request (within this client) that returned the page
    url: str
    items: list
    next_cursor: str | None
    server_time: str | None


@dataclass
class FeedClient:
    """``FeedClient("http://127.0.0.1:8123").get_page("news", page_no=1, updated_since=..., cursor=...)``."""

    base_url: str
    timeout: float = 10.0
    max_attempts: int = 8
    backoff: float = 0.5
    max_wait: float = 60.0
    page_size: int = 200
    sleep: Callable[[float], None] = time.sleep
    requests: int = 0
    retries: int = 0
    waits: list[tuple[str, float]] = field(default_factory=list)  # (cause, seconds) per retry
    _http: httpx.Client | None = None

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self._http = httpx.Client(timeout=httpx.Timeout(self.timeout), headers={"Accept": "application/json"})

    def close(self) -> None:
        if self._http is not None:
            self._http.close()

    def __enter__(self) -> FeedClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _wait(self, cause: str, seconds: float) -> None:
        seconds = max(0.0, min(seconds, self.max_wait))
        self.retries += 1
        self.waits.append((cause, seconds))
        self.sleep(seconds)

    def _backoff(self, attempt: int) -> float:
        return self.backoff * 2**attempt * (0.75 + 0.5 * random.random())

    def get_page(self, feed: str, *, page_no: int, updated_since: str | None = None,
                 cursor: str | None = None) -> Page:
        params: dict[str, str | int] = {"page_size": self.page_size}
        if updated_since:
            params["updated_since"] = updated_since
        if cursor:
            params["cursor"] = cursor
        url = f"{self.base_url}/v1/{feed}"
        where = f"feed {feed!r} page {page_no}"
        last = ""
        for attempt in range(self.max_attempts):
            self.requests += 1
            request_no = self.requests
            try:
                r = self._http.get(url, params=params)
            except (httpx.TimeoutException, httpx.TransportError) as e:
                last = f"{type(e).__name__}: {e}"
                log.warning("%s: %s (attempt %d), retrying", where, last, attempt + 1)
                if attempt + 1 < self.max_attempts:
                    self._wait("timeout" if isinstance(e, httpx.TimeoutException) else "transport",
                               self._backoff(attempt))
                continue
            if r.status_code == 200:
                return self._page(feed, page_no, request_no, str(r.request.url), r)
            last = f"HTTP {r.status_code}"
            if r.status_code == 429:
                wait = retry_after_seconds(r.headers.get("Retry-After"), default=self._backoff(attempt))
                log.warning("%s: rate limited, waiting %.1f s (Retry-After %r)", where, wait,
                            r.headers.get("Retry-After"))
                if attempt + 1 < self.max_attempts:
                    self._wait("429", wait)
                continue
            if r.status_code in RETRY_STATUSES:
                log.warning("%s: HTTP %d (attempt %d), retrying", where, r.status_code, attempt + 1)
                if attempt + 1 < self.max_attempts:
                    self._wait(str(r.status_code), self._backoff(attempt))
                continue
            raise FeedRequestError(f"{where}: HTTP {r.status_code} from {r.request.url}: {r.text[:300]}")
        raise FeedUnavailable(f"{where}: gave up after {self.max_attempts} attempts (last: {last})")

    @staticmethod
    def _page(feed: str, page_no: int, request_no: int, url: str, r: httpx.Response) -> Page:
        where = f"feed {feed!r} page {page_no}"
        try:
            body = r.json()
        except ValueError:
            raise FeedShapeError(f"{where}: response is not JSON ({r.headers.get('content-type')}): "
                                 f"{r.text[:200]!r}") from None
        if not isinstance(body, dict) or not isinstance(body.get("items"), list) or "next_cursor" not in body:
            keys = sorted(body) if isinstance(body, dict) else type(body).__name__
            raise FeedShapeError(f"{where}: expected a page with 'items' (list) and 'next_cursor', got {keys}")
        return Page(feed, page_no, request_no, url, body["items"], body.get("next_cursor"), body.get("server_time"))


def retry_after_seconds(value: str | None, *, default: float) -> float:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date; ``default`` if absent
    or unreadable."""
    if not value:
        return default
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
