"""The simulator's feed server for the demo and ``cli run`` (not pipeline code: the pipeline only sees
the HTTP API). Serves the external feeds of the world ``simulate --preset P --seed S`` wrote, with mild
faults so the demo exercises retries and quarantine; ``SUPERVISION_FEED_FAULTS=none`` turns them off."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)

MILD_FAULTS = {"rate_limit": 0.02, "fault_rate": 0.02, "retry_after": 1, "malformed_rate": 0.005}


@contextmanager
def simulated_feed_server(preset: str = "small", seed: int = 7) -> Iterator:
    from simulator import build_world
    from simulator.external import FeedServer, from_world

    t = time.perf_counter()
    faults = {} if os.environ.get("SUPERVISION_FEED_FAULTS", "mild") == "none" else MILD_FAULTS
    srv = FeedServer(from_world(build_world(preset, seed)), **faults)
    with srv:
        log.info("simulated feed server for preset %s seed %d on %s (faults %s, built in %.1f s)", preset, seed,
                 srv.url, faults or "none", time.perf_counter() - t)
        yield srv
