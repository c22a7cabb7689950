"""What the ``ingest_external`` DAG calls, free of Airflow imports so it is tested directly."""

from __future__ import annotations

import logging
import os

from include.external.client import FeedClient
from include.external.load import fetch_feed

log = logging.getLogger(__name__)

#: The Airflow HTTP connection holding the feeds' base URL (``AIRFLOW_CONN_EXTERNAL_FEEDS=http://host:port``).
FEEDS_CONN_ID = "external_feeds"


def fetch(loader_url: str, feed: str, base_url: str, *, dag_run_id: str | None = None,
          page_size: int | None = None, timeout: float | None = None) -> dict:
    """Fetch ``feed`` from its watermark; returns the counts (small, for XCom)."""
    page_size = page_size or int(os.environ.get("SUPERVISION_FEED_PAGE_SIZE", "200"))
    timeout = timeout or float(os.environ.get("SUPERVISION_FEED_TIMEOUT", "10"))
    with FeedClient(base_url, page_size=page_size, timeout=timeout) as client:
        return fetch_feed(loader_url, feed, client, dag_run_id=dag_run_id).as_dict()


def base_url_of(conn_type: str | None, host: str, port: int | None, path: str | None = None) -> str:
    """``http://host:port[/path]`` from an Airflow HTTP connection's parts."""
    if "://" in host:  # host given as a full URL
        return host.rstrip("/")
    scheme = "https" if (conn_type or "").lower() == "https" else "http"
    return f"{scheme}://{host}{f':{port}' if port else ''}{('/' + path.strip('/')) if path else ''}"
