"""External data feeds (issue #3 item 7): enterprise registry and its changes, court enforcement,
administrative penalties, news and illegal-advert leads, generated from the simulated world and served
by a local HTTP server (loopback only) with pagination, ``updated_since``, faults and malformed records,
or written as JSONL files. Hidden labels go to the ground truth only.

* :mod:`.inputs` :class:`ExternalInputs`, :func:`from_world`, :func:`synthetic_inputs`
* :mod:`.feeds` :class:`Feeds` / :func:`build_feeds` (every version of every record + hidden labels)
* :mod:`.schema` served fields per feed (:data:`SPECS`)
* :mod:`.faults` deterministic request faults and malformed records
* :mod:`.server` :class:`FeedServer`, :func:`serve_forever`
"""

from simulator.external.feeds import Feeds, build_feeds
from simulator.external.inputs import ExternalInputs, from_world, synthetic_inputs
from simulator.external.schema import FEEDS, SPECS
from simulator.external.server import FeedServer, serve_forever

__all__ = ["FEEDS", "SPECS", "ExternalInputs", "FeedServer", "Feeds", "build_feeds", "from_world", "serve_forever",
           "synthetic_inputs"]
