"""Identifiers for imported transfers: the check characters the quality gate verifies (the same
schemes as ``ops.resident_id_valid`` and ``ops.uscc_valid``, migration 003), and the stable
placeholders ``supervision import`` writes where a statement export has none.

Every placeholder is derived from a SHA-256 of the text it stands for, so importing the same file twice
gives the same identifiers; each is marked as a placeholder where the scheme allows it (region code
``000000``, which no real resident ID or region carries).
"""

from __future__ import annotations

import hashlib
import re
from datetime import date

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = [pow(3, i, 31) for i in range(17)]
_RID_WEIGHTS = [pow(2, 17 - i, 11) for i in range(17)]
#: region code of every placeholder (resident IDs, customer regions): no real region has it
PLACEHOLDER_REGION = "000000"
ACCOUNT_RE = re.compile(r"^[0-9]{19}$")


def _digest(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:16], "big")


def uscc_check_char(first17: str) -> str:
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def is_valid_uscc(code: str) -> bool:
    return (len(code) == 18 and all(c in USCC_ALPHABET for c in code)
            and uscc_check_char(code[:17]) == code[17])


def resident_id_check_char(first17: str) -> str:
    return "10X98765432"[sum(int(c) * w for c, w in zip(first17, _RID_WEIGHTS, strict=True)) % 11]


def resident_id_birth_date(code: str) -> date | None:
    """The birth date a resident ID carries, or None when it is not a real date."""
    try:
        return date(int(code[6:10]), int(code[10:12]), int(code[12:14]))
    except ValueError:
        return None


def is_valid_resident_id(code: str) -> bool:
    return (re.fullmatch(r"[0-9]{17}[0-9X]", code) is not None and resident_id_birth_date(code) is not None
            and resident_id_check_char(code[:17]) == code[17])


def placeholder_account_no(text: str) -> str:
    """A 19-digit account number for an account text that is not one: ``9`` and 18 digits of its hash."""
    return "9" + f"{_digest('account:' + text) % 10**18:018d}"


def account_no_for(text: str) -> str:
    """The account number written for an account as the export spells it (19 digits are kept)."""
    return text if ACCOUNT_RE.match(text) else placeholder_account_no(text)


def placeholder_resident_id(key: str, birth: date) -> str:
    """A valid resident ID in the placeholder region, with the given birth date."""
    first17 = f"{PLACEHOLDER_REGION}{birth:%Y%m%d}{_digest('rid:' + key) % 1000:03d}"
    return first17 + resident_id_check_char(first17)


def placeholder_uscc(key: str) -> str:
    """A valid USCC (category 9, type 1: an enterprise) in the placeholder region."""
    n = _digest("uscc:" + key)
    body = "".join(USCC_ALPHABET[(n >> (5 * i)) % 31] for i in range(9))
    first17 = "91" + PLACEHOLDER_REGION + body
    return first17 + uscc_check_char(first17)


def customer_id_for(kind: str, key: str) -> str:
    """A customer number: ``IMP`` + 16 hex digits of the hash of the holder's key (ID number when the
    export gives one, else the account)."""
    return "IMP" + hashlib.sha256(f"customer:{kind}:{key}".encode()).hexdigest()[:16].upper()
