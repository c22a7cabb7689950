"""How much the extractor's guarantees cost: fetch + screen + load vs plain HTTP pagination.

Baseline, measured in the same run: following the cursors of every feed with the same client and page
size, without touching the database. Then: the full extract into empty ``raw_ext`` tables (one
transaction per feed, history, quarantine, watermark), a rerun with nothing new (watermark), a re-fetch
of everything already stored (watermark reset: every version a no-op), and the news/advert signals.

Runs against a throw-away embedded PostgreSQL in a temporary directory (never the demo's state).

    python bench/external/fetch_speed.py [--firms 5000] [--months 24] [--page-size 200]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--firms", type=int, default=5000)
    ap.add_argument("--institutions", type=int, default=80)
    ap.add_argument("--months", type=int, default=24)
    ap.add_argument("--page-size", type=int, default=200)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)

    home = Path(tempfile.mkdtemp(prefix="sv-bench-ext-"))
    os.environ["SUPERVISION_HOME"] = str(home)
    os.environ.pop("SUPERVISION_DATABASE_URL", None)
    from include.config import StatePaths
    from include.external.client import FeedClient
    from include.external.load import fetch_feed
    from include.external.signals import derive_advert_signals, derive_news_signals
    from include.registry.feeds import FEEDS
    from include.warehouse.bootstrap import bootstrap
    from include.warehouse.connection import libpq_url, role_url
    from include.warehouse.server import EmbeddedServer
    from simulator.external import FeedServer, synthetic_inputs

    state = StatePaths(home)
    server = EmbeddedServer(state)
    out: dict = {"firms": args.firms, "months": args.months, "page_size": args.page_size}
    try:
        server.up()
        bootstrap(state)
        url = role_url("loader", state)
        t = time.perf_counter()
        feeds = FeedServer(synthetic_inputs(args.seed, n_firms=args.firms, n_institutions=args.institutions,
                                            n_months=args.months))
        out["build_feeds_s"] = round(time.perf_counter() - t, 2)
        with feeds as srv, FeedClient(srv.url, page_size=args.page_size) as client:
            out["records"] = {f: len(srv.records(f)) for f in FEEDS}
            total = sum(out["records"].values())

            t = time.perf_counter()
            for f in FEEDS:
                cursor, n = None, 0
                while True:
                    n += 1
                    page = client.get_page(f, page_no=n, cursor=cursor)
                    cursor = page.next_cursor
                    if cursor is None:
                        break
            base = time.perf_counter() - t

            def timed(fn) -> float:
                t0 = time.perf_counter()
                fn()
                return time.perf_counter() - t0

            full = timed(lambda: [fetch_feed(url, f, client) for f in FEEDS])
            nothing_new = timed(lambda: [fetch_feed(url, f, client) for f in FEEDS])
            import psycopg

            with psycopg.connect(libpq_url(url), autocommit=True) as c:
                c.execute("delete from ops.ext_watermark")
            refetch = timed(lambda: [fetch_feed(url, f, client) for f in FEEDS])
            news = timed(lambda: derive_news_signals(url))
            ads = timed(lambda: derive_advert_signals(url))
        out |= {
            "baseline_http_pagination_s": round(base, 3),
            "baseline_records_per_s": round(total / base),
            "full_extract_s": round(full, 3), "full_extract_ratio_vs_baseline": round(full / base, 2),
            "rerun_nothing_new_s": round(nothing_new, 3),
            "refetch_all_stored_s": round(refetch, 3), "refetch_ratio_vs_baseline": round(refetch / base, 2),
            "news_signals_s": round(news, 3), "news_items_per_s": round(out["records"]["news"] / news),
            "advert_signals_s": round(ads, 3), "adverts_per_s": round(out["records"]["advert_leads"] / ads),
        }
    finally:
        server.down()
        shutil.rmtree(home, ignore_errors=True)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
