"""Pseudonymisation of personal identifiers at promotion (issue #4 item 7).

Every registry column with a ``pii`` kind (include/registry/datasets.py: resident_id, name, phone, account)
is replaced, when a batch moves from ``landing`` into ``raw`` or ``quarantine``, by a token::

    tk_<first 32 hex digits of HMAC-SHA256(key, "<kind>:<normalised value>")>

* Column names stay; only values change. NULL stays NULL. Non-identifying attributes (birth_date,
  sex, region) are separate columns and are kept.
* The message carries the pii *kind*, not the institution, dataset or column: the same resident ID
  gives the same token in customer_individual.resident_id, loan.borrower_resident_id,
  guarantee.guarantor_resident_id and customer_corporate.legal_rep_resident_id, at every
  institution; the same for account numbers (account.account_no, transaction.account_no,
  transaction.counterparty_account). Joins on these columns keep working on tokens.
* Normalisation: surrounding blanks are trimmed; resident IDs are upper-cased (``x`` = ``X``).
* The HMAC runs inside PostgreSQL with built-in ``sha256()`` (no extension), fed the key's inner and
  outer pads as bound parameters: the key is never stored in the database or in a statement's text.
  :func:`token` is the same function in Python (tests prove they agree).
* Pseudonymisation happens after the quality gate: check characters, formats and phone shapes are
  validated on the landing batch (loader only), then never seen again outside the archive.

The key
-------
``SUPERVISION_PSEUDONYM_KEY`` from the environment (how docker-compose or a secret manager supplies
it; at least 32 characters), else ``<state>/secrets/pseudonym.key``, generated on first use
(32 random bytes, hex, mode 0600, directory 0700; never in the repository). Each batch records the key's
id (:func:`key_id`, a fingerprint, not the key) in ``ops.batch.detail.pseudonym_key_id``.

Rotation: a new key gives every identifier a new token, so tokens made under different keys no
longer join. Rotate by (1) stopping ingestion, (2) replacing the key (env or file), (3) rebuilding
``raw`` from the archive (every file is archived as received; re-ingest it into an empty warehouse or
schema) and then the dbt models. Batches whose ``pseudonym_key_id`` differs from the current
:func:`key_id` show what still carries old tokens. Do not rotate by editing the file alone.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from pathlib import Path

from include.config import StatePaths, paths

log = logging.getLogger(__name__)

KEY_ENV = "SUPERVISION_PSEUDONYM_KEY"
KEY_FILE = "pseudonym.key"
TOKEN_PREFIX = "tk_"
TOKEN_HEX = 32
_BLOCK = 64  # SHA-256 block size in bytes


def _key_path(state: StatePaths | None) -> Path:
    return (state or paths()).secrets / KEY_FILE


def load_key(state: StatePaths | None = None) -> bytes:
    """The pseudonymisation key: the environment's, else the state directory's (created if missing)."""
    env = os.environ.get(KEY_ENV)
    if env:
        if len(env) < 32:
            raise ValueError(f"{KEY_ENV} must be at least 32 characters")
        return env.encode()
    f = _key_path(state)
    if not f.exists():
        f.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(f.parent, 0o700)
        tmp = f.with_suffix(f".tmp{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32) + "\n")
        try:
            os.link(tmp, f)  # never replace a key another process created meanwhile
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
        log.info("generated a pseudonymisation key in %s", f)
    key = f.read_text().strip().encode()
    if len(key) < 32:
        raise ValueError(f"{f}: pseudonymisation key must be at least 32 characters")
    return key


def key_id(key: bytes) -> str:
    """A fingerprint of the key (recorded per batch; reveals nothing usable)."""
    return hashlib.sha256(b"key-id:" + key).hexdigest()[:12]


def _normalise_py(value: str, kind: str) -> str:
    value = value.strip()
    return value.upper() if kind == "resident_id" else value


def token(value: str | None, kind: str, key: bytes) -> str | None:
    """The token of ``value`` (a personal identifier of pii ``kind``)."""
    if value is None or value == "":
        return None
    mac = hmac.new(key, f"{kind}:{_normalise_py(value, kind)}".encode(), hashlib.sha256).hexdigest()
    return TOKEN_PREFIX + mac[:TOKEN_HEX]


def sql_params(key: bytes) -> dict[str, bytes]:
    """Bound parameters for :func:`token_sql`: HMAC's inner and outer padded keys."""
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    return {"pseudonym_ipad": bytes(b ^ 0x36 for b in key), "pseudonym_opad": bytes(b ^ 0x5C for b in key)}


def token_sql(expr: str, kind: str) -> str:
    """SQL computing :func:`token` of the text expression ``expr`` (NULL and '' give NULL). Needs the
    named parameters of :func:`sql_params` (``%(pseudonym_ipad)s``, ``%(pseudonym_opad)s``)."""
    norm = f"upper(btrim({expr}))" if kind == "resident_id" else f"btrim({expr})"
    msg = f"convert_to('{kind}:' || {norm}, 'UTF8')"
    mac = f"sha256(%(pseudonym_opad)s || sha256(%(pseudonym_ipad)s || {msg}))"
    return f"(case when nullif({expr}, '') is null then null else '{TOKEN_PREFIX}' || left(encode({mac}, 'hex'), " \
           f"{TOKEN_HEX}) end)"
