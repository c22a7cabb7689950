"""The institution simulator: a synthetic but realistic regulated universe that delivers regulatory
submissions into the landing zone, plus the ground truth to grade the pipeline.

Layout (one module per concern, each drawing from its own named random stream, see :mod:`.rng`):

* :mod:`.ids` identifiers (USCC, resident ID, LEI, licence numbers), pure functions
* :mod:`.geography` provinces, cities, supervising bureaus
* :mod:`.universe` institutions of every registered type
* :mod:`.names`, :mod:`.entities` persons, firms, shareholders, developers' balance sheets
* :mod:`.health` latent health per institution and quarter (drives every indicator)
* :mod:`.banking` accounts, customers, loans (monthly life, five categories), guarantees
* :mod:`.patterns` planted fundraising schemes and the hard negatives that resemble them
* :mod:`.transactions` the TRANSACTION dataset, one month at a time
* :mod:`.prudential` INSTITUTION and CAPITAL_REPORT; :mod:`.reports` the other quarterly reports
* :mod:`.supervision` the regulator's own records (ratings, interventions, cases) as REG0000
* :mod:`.schedule` submission timestamps (weak institutions submit late)
* :mod:`.world` a run in memory (:class:`World`); :mod:`.build` builds it (:func:`build_world`);
  :mod:`.frames` the customer, account, loan and guarantee datasets made from the simulated objects
* :mod:`.landing` landing-zone writer (manifest + CSV files, atomic per submission);
  :mod:`.writer` writes a world through it (:func:`write_world`)
* :mod:`.ground_truth` the answers, beside the landing zone
* :mod:`.defects` delivery defects planted after writing; :mod:`.external` the external feeds
* :mod:`.generation` one whole run (:func:`generate`); :mod:`.advance` the next month (:func:`advance`)
* :mod:`.presets` run sizes and knobs; :mod:`.docs` the README's dataset table

:func:`build_world` simulates in memory (no I/O): every dataset is a frame in ``World.frames``
(except transactions when the preset streams them: :meth:`World.transactions` generates a month on
demand; and loans and guarantees when it streams loans: :meth:`World.loans` makes a month's snapshots
on demand). :func:`write_world` is the one writer: month by month it takes :meth:`World.month_frames`
(a hook for defect injection sits between the two), writes one submission per institution and month,
then the ground truth. The same seed and preset give byte-identical files.
"""

from __future__ import annotations

from simulator.advance import advance
from simulator.build import build_world
from simulator.generation import external_dir, generate, write_external
from simulator.presets import PRESETS, Preset, get_preset
from simulator.world import LoanDetail, World
from simulator.writer import write_world

__all__ = ["PRESETS", "LoanDetail", "Preset", "World", "advance", "build_world", "external_dir", "generate",
           "get_preset", "write_external", "write_world"]
