"""The process-wide Great Expectations runtime: one ephemeral context, built once per process.

Everything GX needs is built once and reused: the context (about 4 s, mostly importing GX), one data
source per database URL (its SQLAlchemy engine and connection pool), and per dataset the suite
(:func:`include.registry.expectations.build_suite`), a table asset, its batch definition, a
validation definition and the screening checkpoint; each batch only re-points the asset at its typed
table. Checkpoints run through :meth:`_Runtime.run`, which checks their freshness once per checkpoint
object instead of on every run. Validation results are stored as JSON under the state directory
(``paths().gx_results / "validations"``): every screen's, and the details runs' (which quote submitted
values) only when Data Docs are built from them; Data Docs (when asked for) go under ``docs_dir``;
neither ever goes into the repository.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy

from include.config import paths, private_files
from include.registry.datasets import Dataset
from include.registry.expectations import (
    DATASOURCE,
    PERIOD_PARAMETER,
    RESULT_FORMAT,
    SCREEN_RESULT_FORMAT,
    _gx,
    build_suite,
)

log = logging.getLogger(__name__)

#: the Data Docs index lists this many most recent validations (older pages stay on disk, and
#: ops.dq_result keeps every result)
DOCS_INDEX_LIMIT = 25
#: settings of the gate's own sessions: the uniqueness window sorts every key of the batch; with the
#: default 4MB of work_mem a 1M-row batch sorts on disk
_SESSION_OPTIONS = "-c work_mem=64MB"


@dataclass
class _Slot:
    """The GX objects validating one dataset in one database, built once per process.

    The asset's table is re-pointed at each batch's typed table: assets, batch definitions,
    validation definitions and checkpoints are pure bookkeeping, and rebuilding them per batch cost
    GX more than validating a small batch.
    """

    dataset: Dataset
    asset: Any
    validation: Any  # ValidationDefinition: the dataset's suite on the asset
    screen: Any  # Checkpoint running it with SCREEN_RESULT_FORMAT


#: the GX release :func:`_kwargs_from_one_configuration` was written against (its methods copied below)
_KWARGS_GX_VERSION = "1.24.1"
#: GX's own methods it replaced, by name (the tests compare both on every expectation of every suite)
GX_OWN_KWARGS_METHODS: dict[str, Callable] = {}


def _kwargs_from_one_configuration(gx: Any) -> bool:
    """Make GX's ``Expectation`` read its kwargs from one configuration per call. GX 1.24.1 builds the whole
    ``ExpectationConfiguration`` (a pydantic ``dict()`` and a new object, ~0.04 ms) for *every key* it looks up:
    ``_get_domain_kwargs`` and ``_get_success_kwargs`` once per key, ``_get_success_kwarg`` twice: 75k of the 86k
    builds of a defective ``tiny`` world's ingest. These are the same four methods, the lookups made on one
    build per call (kwargs are read, never written; a key absent from the configuration takes the field's
    default as before). Installed once, and only on that GX release (another keeps GX's own methods);
    returns whether they are installed."""
    from great_expectations.expectations.expectation import Expectation, parse_result_format

    if getattr(Expectation, "_kwargs_from_one_configuration", False):
        return True
    if getattr(gx, "__version__", None) != _KWARGS_GX_VERSION:
        return False
    gx_log = logging.getLogger("great_expectations.expectations.expectation")

    def _kwarg(self, kwargs: dict, key: str, default: Any = None) -> Any:  # GX's _get_success_kwarg
        if key in kwargs:
            return kwargs[key]
        field = self.__fields__.get(key)
        if field is not None:
            return field.default if not field.required else default
        gx_log.warning(f'_get_success_kwarg called with key "{key}", '
                       f"but it is not a known field of {type(self).__name__}")
        return default

    def _value(self, kwargs: dict, key: str) -> Any:  # kwargs.get(key, self._get_default_value(key))
        return kwargs[key] if key in kwargs else self._get_default_value(key)

    def _success(self, kwargs: dict) -> dict:
        out = {key: _value(self, kwargs, key) for key in self.success_keys}
        out.update({key: _value(self, kwargs, key) for key in self.domain_keys})
        return out

    def _get_domain_kwargs(self) -> dict:
        kwargs = self.configuration.kwargs
        return {key: _value(self, kwargs, key) for key in self.domain_keys}

    def _get_success_kwargs(self) -> dict:
        return _success(self, self.configuration.kwargs)

    def _get_success_kwarg(self, key: str, default: Any = None) -> Any:
        return _kwarg(self, self.configuration.kwargs, key, default)

    def _get_runtime_kwargs(self, runtime_configuration: dict | None = None) -> dict:
        runtime_configuration = runtime_configuration or {}
        kwargs = self.configuration.kwargs
        success_kwargs = _success(self, kwargs)
        runtime_kwargs = {key: runtime_configuration.get(key, _kwarg(self, kwargs, key)) for key in self.runtime_keys}
        runtime_kwargs.update(success_kwargs)
        runtime_kwargs["result_format"] = parse_result_format(runtime_kwargs["result_format"])
        return runtime_kwargs

    for f in (_get_domain_kwargs, _get_success_kwargs, _get_success_kwarg, _get_runtime_kwargs):
        GX_OWN_KWARGS_METHODS[f.__name__] = getattr(Expectation, f.__name__)
        setattr(Expectation, f.__name__, f)
    Expectation._kwargs_from_one_configuration = True
    return True


class _Runtime:
    """The process-wide GX objects that are expensive to build: context, data sources, suites, slots.

    An ephemeral context (suites, validation definitions and checkpoints in memory) whose validation
    results store is a directory under the state directory (``<state>/gx/validations``), so results
    are kept, and Data Docs can list every batch validated, without writing into the repository.
    """

    def __init__(self, results_dir: Path) -> None:
        gx = _gx()
        from great_expectations.data_context.types.base import (
            DataContextConfig,
            InMemoryStoreBackendDefaults,
            ProgressBarsConfig,
        )

        defaults = InMemoryStoreBackendDefaults(init_temp_docs_sites=False)
        defaults.stores[defaults.validation_results_store_name]["store_backend"] = {
            "class_name": "TupleFilesystemStoreBackend", "base_directory": str(results_dir)}
        config = DataContextConfig(
            store_backend_defaults=defaults,
            analytics_enabled=False,
            progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
        )
        self.gx = gx
        _kwargs_from_one_configuration(gx)
        self.results_dir = results_dir
        for d in (results_dir.parent, results_dir):  # private even when validating outside the loader's umask
            d.mkdir(mode=0o700, parents=True, exist_ok=True)
            d.chmod(0o700)
        with private_files():  # the store's id file (.ge_store_backend_id) is written here
            self.context = gx.get_context(mode="ephemeral", project_config=config)
        self.datasources: dict[str, Any] = {}
        self.slots: dict[tuple[str, str], _Slot] = {}
        self.sites: dict[Path, str] = {}
        self.suite_pages: set[tuple[str, str]] = set()
        self.suite_sources: dict[str, Dataset] = {}  # suite name -> the definition it was built from
        #: checkpoint name -> the checkpoint object found fresh (in step with its stores) by its first run
        self.checked: dict[str, Any] = {}

    def datasource(self, url: str):
        ds = self.datasources.get(url)
        if ds is None:
            # one data source per database the process validates in (normally exactly one)
            name = DATASOURCE if not self.datasources else (
                f"{DATASOURCE}_{hashlib.sha256(url.encode()).hexdigest()[:10]}")
            # pool_pre_ping: a pooled connection the server has since closed (a restart, a database dropped
            # and re-created under the same name) is replaced instead of failing the next batch's validation
            ds = self.context.data_sources.add_postgres(
                name, connection_string=url,
                kwargs={"connect_args": {"options": _SESSION_OPTIONS}, "pool_pre_ping": True})
            self.datasources[url] = ds
        return ds

    def slot(self, url: str, dataset: Dataset, typed_table: str) -> _Slot:
        """The dataset's GX objects, their asset pointed at ``landing.<typed_table>`` (which exists)."""
        ds = self.datasource(url)
        if self.suite_sources.get(dataset.name, dataset) != dataset:
            # Another definition under the same name (tests do this): rebuild everything built on it.
            for key in [k for k in self.slots if k[1] == dataset.name]:
                self._remove(self.datasources[key[0]], dataset.name)
                del self.slots[key]
            self.context.suites.delete(dataset.name)
            del self.suite_sources[dataset.name]
        if dataset.name not in self.suite_sources:
            self.context.suites.add(build_suite(dataset))
            self.suite_sources[dataset.name] = dataset
        slot = self.slots.get((url, dataset.name))
        if slot is None:
            prefix = self._prefix(ds, dataset.name)
            asset = ds.add_table_asset(name=dataset.name, table_name=typed_table, schema_name="landing")
            validation = self.context.validation_definitions.add(self.gx.ValidationDefinition(
                name=prefix, data=asset.add_batch_definition_whole_table("batch"),
                suite=self.context.suites.get(dataset.name)))
            screen = self.context.checkpoints.add(self.gx.Checkpoint(
                name=f"{prefix}_screen", validation_definitions=[validation], result_format=SCREEN_RESULT_FORMAT))
            slot = self.slots[(url, dataset.name)] = _Slot(dataset, asset, validation, screen)
        # as the asset's own validator stores it (GX reflects plain strings differently)
        slot.asset.table_name = sqlalchemy.quoted_name(typed_table, quote=False)
        return slot

    @staticmethod
    def _prefix(ds, name: str) -> str:
        return name if ds.name == DATASOURCE else f"{ds.name}.{name}"

    def _remove(self, ds, name: str) -> None:
        """Remove a slot's checkpoint, validation definition and asset."""
        prefix = self._prefix(ds, name)
        self.checked.pop(f"{prefix}_screen", None)
        self.context.checkpoints.delete(f"{prefix}_screen")
        self.context.validation_definitions.delete(prefix)
        ds.delete_asset(name)

    def run(self, checkpoint, periods: list[str], run_id, store: bool = True):
        """``checkpoint.run`` (its validation definitions, in order, then its actions) with the periods as
        the period parameter, checking freshness once per checkpoint object, not on every run.

        GX's own ``Checkpoint.run`` and ``ValidationDefinition.run`` check on every run that the
        checkpoint, each validation definition and its suite equal their stored copies, serialising
        and comparing all of them (a fifth of a screen's Python time). Here the first run of a
        checkpoint object checks exactly that (and fails as GX does); later runs of the same object
        skip it: the stores are this runtime's in-memory ones, and it changes them only by adding new
        objects and removing old ones by name (:meth:`_discard`, :meth:`_remove`), which forget the
        check. With ``store=False`` the results are not written to the validation results store.
        """
        if self.checked.get(checkpoint.name) is not checkpoint:
            diagnostics = checkpoint.is_fresh()
            if not diagnostics.success:
                diagnostics.raise_for_error()
            self.checked[checkpoint.name] = checkpoint
        from great_expectations.validator.v1_validator import Validator

        params = {PERIOD_PARAMETER: list(periods)}
        checkpoint._prepare_checkpoint_run_for_context({}, params)
        run_results = {}
        for vd in checkpoint.validation_definitions:  # what ValidationDefinition.run does, less is_fresh
            validator = Validator(batch_definition=vd.batch_definition, batch_parameters={},
                                  result_format=checkpoint.result_format)
            results = validator.validate_expectation_suite(vd.suite, params)
            results.meta.update(validation_id=vd.id, checkpoint_id=checkpoint.id, run_id=run_id,
                                validation_time=run_id.run_time, batch_parameters=None)
            suite_id, result_id = vd._get_expectation_suite_and_validation_result_ids(validator=validator,
                                                                                     run_id=run_id)
            if store:
                vd._validation_results_store.store_validation_results(
                    suite_validation_result=results, suite_validation_result_identifier=result_id,
                    expectation_suite_identifier=suite_id)
            run_results[checkpoint._build_result_key(validation_definition=vd, run_id=run_id,
                                                     batch_identifier=results.batch_id)] = results
        result = checkpoint._construct_result(run_id=run_id, run_results=run_results)
        checkpoint._run_actions(checkpoint_result=result)
        return result

    def details(self, slot: _Slot, failed: list, period: str | list[str], run_id, site: str | None,
                build_index: bool = True, result_format: dict | None = None):
        """Run only the ``failed`` expectations again, with RESULT_FORMAT (offending lines). With ``site``,
        its pages for this run are built; its index page only if ``build_index`` (the index reads every
        stored result: a group builds it once at its end, not once per failing batch)."""
        with self.details_checkpoint(slot, failed, site, result_format) as run:
            result = run(period, run_id)
            if site:  # what UpdateDataDocsAction did: the run's page and its suite's
                from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

                self.context.build_data_docs(
                    site_names=[site], build_index=build_index,
                    resource_identifiers=[*result.run_results.keys(),
                                          ExpectationSuiteIdentifier(name=f"{slot.validation.name}__failed")])
            return result

    @contextmanager
    def details_checkpoint(self, slot: _Slot, failed: list, site: str | None = None,
                           result_format: dict | None = None) -> Iterator[Callable]:
        """A checkpoint running only the ``failed`` expectations with RESULT_FORMAT, built once and run as
        often as needed (``run(period, run_id)``; re-point the slot's asset between runs): a failing group
        runs it on each of its failing batches. Removed on exit. Its results are written to the results store
        only with ``site`` (its Data Docs pages are built from them): they quote submitted values (unmasked),
        so without Data Docs they never reach the disk."""
        gx = self.gx
        name = f"{slot.validation.name}__failed"
        self._discard(name)
        suite = self.context.suites.add(gx.ExpectationSuite(
            name=name, expectations=[r.expectation_config for r in failed],
            meta={"dataset": slot.dataset.name, "subset_of": slot.validation.suite.name}))
        try:
            validation = self.context.validation_definitions.add(gx.ValidationDefinition(
                name=name, data=slot.validation.data, suite=suite))
            checkpoint = self.context.checkpoints.add(gx.Checkpoint(
                name=name, validation_definitions=[validation], actions=[],
                result_format=result_format or RESULT_FORMAT))

            def run(period: str | list[str], run_id):
                periods = period if isinstance(period, list) else [period]
                # without Data Docs the results are not kept (they quote submitted values): not written
                return self.run(checkpoint, periods, run_id, store=bool(site))

            yield run
        finally:
            self._discard(name)

    def _discard(self, name: str) -> None:
        """Remove the checkpoint, validation definition and suite called ``name`` where they exist. Each by
        its name: listing a store (``.all()``) deserialises every object in it, every suite again for each
        validation definition, which cost a failing group more than its validation."""
        from great_expectations.exceptions import DataContextError

        self.checked.pop(name, None)
        for store in (self.context.checkpoints, self.context.validation_definitions, self.context.suites):
            try:
                store.delete(name)
            except DataContextError:  # not there
                pass

    def site(self, docs_dir: Path) -> str:
        docs_dir = docs_dir.resolve()
        name = self.sites.get(docs_dir)
        if name is None:
            name = f"docs_{hashlib.sha256(str(docs_dir).encode()).hexdigest()[:10]}"
            sites = dict(self.context.variables.data_docs_sites or {})
            sites[name] = {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                                  "base_directory": str(docs_dir)},
                # The index page reads every result it lists, on every update: unbounded, the
                # demo's thousands of batches would make each update slower than the validation.
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder",
                                       "validation_results_limit": DOCS_INDEX_LIMIT},
            }
            self.context.variables.data_docs_sites = sites
            self.sites[docs_dir] = name
        return name


_RUNTIME: _Runtime | None = None
_LOCK = threading.RLock()


def _runtime() -> _Runtime:
    """The process-wide runtime, rebuilt only if the state directory changed."""
    global _RUNTIME
    results_dir = paths().gx_results / "validations"
    if _RUNTIME is None or _RUNTIME.results_dir != results_dir:
        t0 = time.perf_counter()
        first = _RUNTIME is None
        _RUNTIME = _Runtime(results_dir)
        if first:
            # GX's import and context leave ~370k long-lived objects that every full collection scanned again
            # (several a level of a defective world's ingest: its details runs' results allocate much): moved
            # out of the collector's sight once, after one collection (bench/README.md, "rides with its original")
            gc.collect()
            gc.freeze()
        log.info("GX runtime ready in %.2fs (results in %s)", time.perf_counter() - t0, results_dir)
    return _RUNTIME

