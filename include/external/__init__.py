"""External data (issue #5): fetch the external feeds over HTTP, screen every batch, load ``raw_ext``,
derive news and advert signals.

* :mod:`.feeds` the feed registry: fields, types, natural key, quality rules (Column/Rule of
  :mod:`include.registry.datasets`)
* :mod:`.client` the HTTP client (pagination, timeouts, backoff on 429 / 5xx)
* :mod:`.gate` the quality gate per fetched page (shape check, type and rule checks)
* :mod:`.load` one fetch batch: upsert + history + quarantine + watermark in one transaction
* :mod:`.lexicon`, :mod:`.linking`, :mod:`.signals` news tone, entity links, advert flags

Tables: see ``README.md`` beside this file.
"""
