"""Identifier schemes used by Chinese financial regulation, as pure functions.

Everything here is deterministic and side-effect free: check-character functions, validators and
vectorised generators (which take a ``numpy.random.Generator`` so the caller controls the seed).

* USCC, unified social credit code (GB 32100-2015): 18 characters
  ``[registration authority][entity type][6-digit region][9-char organisation code][check]``.
  The organisation code is itself a GB 11714-1997 code (8 characters + its own check character).
* Resident identity number (GB 11643-1999): 18 characters
  ``[6-digit region][YYYYMMDD birth date][3-digit sequence, odd = male][check]``.
* LEI, legal entity identifier (ISO 17442): 20 characters, the last two are ISO 7064 MOD 97-10
  check digits.
* Financial licence number (金融许可证号): a synthetic but realistic-looking scheme, see
  :func:`licence_no`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

import numpy as np

# --------------------------------------------------------------------------------------------------
# USCC (GB 32100-2015) and organisation code (GB 11714-1997)
# --------------------------------------------------------------------------------------------------

#: GB 32100 alphabet: digits and upper-case letters without I, O, S, V, Z. Position = value.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
#: weight of position i (0-based) is 3**i mod 31.
USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
_USCC_VALUE = {c: i for i, c in enumerate(USCC_ALPHABET)}
_USCC_RE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{18}$")

#: GB 11714 weights for the 8 body characters of an organisation code.
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"  # value = position (A=10 .. Z=35)
_ORG_VALUE = {c: i for i, c in enumerate(_ORG_ALPHABET)}

assert USCC_WEIGHTS == (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc_check_char(first17: str) -> str:
    """The GB 32100-2015 check character for the first 17 characters of a USCC."""
    if len(first17) != 17:
        raise ValueError(f"need 17 characters, got {len(first17)}")
    try:
        total = sum(_USCC_VALUE[c] * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    except KeyError as e:
        raise ValueError(f"character {e.args[0]!r} is not in the USCC alphabet") from None
    return USCC_ALPHABET[(31 - total % 31) % 31]


def org_code_check_char(first8: str) -> str:
    """The GB 11714-1997 check character for the 8 body characters of an organisation code."""
    if len(first8) != 8:
        raise ValueError(f"need 8 characters, got {len(first8)}")
    try:
        total = sum(_ORG_VALUE[c] * w for c, w in zip(first8, ORG_WEIGHTS, strict=True))
    except KeyError as e:
        raise ValueError(f"character {e.args[0]!r} is not allowed in an organisation code") from None
    c9 = 11 - total % 11
    return "X" if c9 == 10 else "0" if c9 == 11 else str(c9)


def is_valid_org_code(code: object) -> bool:
    """True if ``code`` is 9 characters (8 body + check) with a correct GB 11714 check character."""
    if not isinstance(code, str) or len(code) != 9 or any(c not in _ORG_VALUE for c in code[:8]):
        return False
    return org_code_check_char(code[:8]) == code[8]


def is_valid_uscc(code: object, *, check_org_code: bool = False) -> bool:
    """True if ``code`` is an 18-character USCC with a correct GB 32100 check character.

    With ``check_org_code`` the embedded organisation code (characters 9-17) must also carry a valid
    GB 11714 check character (true of every code :func:`make_uscc` produces).
    """
    if not isinstance(code, str) or not _USCC_RE.match(code):
        return False
    if uscc_check_char(code[:17]) != code[17]:
        return False
    return is_valid_org_code(code[8:17]) if check_org_code else True


def _join_rows(chars: np.ndarray) -> list[str]:
    """(n, k) array of single characters -> n strings."""
    if chars.shape[0] == 0:
        return []
    return np.ascontiguousarray(chars, dtype="<U1").view(f"<U{chars.shape[1]}").ravel().tolist()


def _lookup(mapping: dict[str, int]) -> np.ndarray:
    table = np.full(128, -1, dtype=np.int64)
    for c, v in mapping.items():
        table[ord(c)] = v
    return table


_USCC_TABLE = _lookup(_USCC_VALUE)
_ORG_TABLE = _lookup(_ORG_VALUE)


def _values(chars: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Vectorised character -> value through a 128-entry lookup table."""
    return table[np.ascontiguousarray(chars, dtype="<U1").view(np.uint32)]


def make_org_codes(rng: np.random.Generator, n: int, *, ma_share: float = 0.6) -> list[str]:
    """``n`` valid GB 11714 organisation codes (9 characters) that also fit inside a USCC.

    A share ``ma_share`` look like codes assigned since the 2015 reform ("MA" + 6 characters); the
    rest are the legacy all-digit kind. Body characters come from the USCC alphabet, so the whole code
    (check character included: its values are digits or X) is legal inside a USCC.
    """
    alpha = np.array(list(USCC_ALPHABET))
    digits_only = rng.integers(0, 10, size=(n, 8))
    mixed = rng.integers(0, len(USCC_ALPHABET), size=(n, 8))
    mixed[:, 0] = _USCC_VALUE["M"]
    mixed[:, 1] = _USCC_VALUE["A"]
    use_ma = rng.random(n) < ma_share
    idx = np.where(use_ma[:, None], mixed, digits_only)
    body = alpha[idx]
    # GB 11714 values: digits 0-9, letters A=10..Z=35 (not the USCC positions).
    org_vals = _values(body, _ORG_TABLE)
    c9 = 11 - (org_vals @ np.array(ORG_WEIGHTS)) % 11
    check = np.where(c9 == 10, "X", np.where(c9 == 11, "0", c9.astype(str)))
    return _join_rows(np.concatenate([body, check[:, None]], axis=1))


def make_uscc(
    rng: np.random.Generator,
    n: int,
    region_codes: Sequence[str] | str = "110000",
    *,
    authority: str = "9",
    entity_type: str = "1",
) -> list[str]:
    """``n`` valid USCCs.

    ``authority`` is the registration authority (``9`` market regulation / SAMR, ``1`` government
    bodies, ``5`` civil affairs, ...) and ``entity_type`` its sub-type (``1`` enterprise under ``9``).
    The default ``91`` is what every company, including a bank or insurer, carries.
    ``region_codes`` is one 6-digit GB/T 2260 code for all or one per code.
    """
    if isinstance(region_codes, str):
        region_codes = [region_codes] * n
    if len(region_codes) != n:
        raise ValueError("need one region code per USCC")
    for part in (authority, entity_type):
        if len(part) != 1 or part not in _USCC_VALUE:
            raise ValueError(f"{part!r} is not a single USCC character")
    regions = np.array([list(r) for r in region_codes], dtype="<U1").reshape(n, 6)
    if n and not np.char.isdigit(regions).all():
        raise ValueError("region codes must be 6 digits")
    orgs = np.array([list(o) for o in make_org_codes(rng, n)], dtype="<U1").reshape(n, 9)
    head = np.tile(np.array([authority, entity_type]), (n, 1))
    first17 = np.concatenate([head, regions, orgs], axis=1)
    values = _values(first17, _USCC_TABLE)
    check = (31 - (values @ np.array(USCC_WEIGHTS)) % 31) % 31
    return _join_rows(np.concatenate([first17, np.array(list(USCC_ALPHABET))[check][:, None]], axis=1))


# --------------------------------------------------------------------------------------------------
# Resident identity number (GB 11643-1999)
# --------------------------------------------------------------------------------------------------

#: weight of position i (0-based) is 2**(17-i) mod 11.
RESIDENT_ID_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
RESIDENT_ID_CHECK_MAP = "10X98765432"
_RESIDENT_RE = re.compile(r"^\d{17}[\dX]$")

assert RESIDENT_ID_WEIGHTS == (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def resident_id_check_char(first17: str) -> str:
    """The GB 11643-1999 check character for the first 17 digits of a resident ID."""
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError("need 17 digits")
    total = sum(int(c) * w for c, w in zip(first17, RESIDENT_ID_WEIGHTS, strict=True))
    return RESIDENT_ID_CHECK_MAP[total % 11]


def is_valid_resident_id(s: object, *, check_birth_date: bool = True) -> bool:
    """True if ``s`` is an 18-character resident ID with a correct check character.

    With ``check_birth_date`` (default) characters 7-14 must also be a real calendar date.
    """
    if not isinstance(s, str) or not _RESIDENT_RE.match(s):
        return False
    if check_birth_date:
        try:
            date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
        except ValueError:
            return False
    return resident_id_check_char(s[:17]) == s[17]


def make_resident_ids(
    rng: np.random.Generator,
    birth_dates: Sequence[date] | np.ndarray,
    region_codes: Sequence[str] | np.ndarray,
    sexes: Sequence[str] | np.ndarray,
) -> list[str]:
    """One valid resident ID per person.

    ``birth_dates``: dates or ``datetime64``; ``region_codes``: 6-digit strings; ``sexes``: ``"M"`` /
    ``"F"`` (also ``1`` / ``2``). The 3-digit sequence code is random, odd for men, even for women.
    Distinct people can collide by chance (as in reality); deduplicate upstream if needed.
    """
    n = len(birth_dates)
    if not (len(region_codes) == len(sexes) == n):
        raise ValueError("birth_dates, region_codes and sexes must have the same length")
    if n == 0:
        return []
    births = np.asarray(birth_dates, dtype="datetime64[D]")
    ymd = np.char.replace(births.astype(str), "-", "")
    sex = np.asarray(sexes).astype(str)
    male = np.isin(sex, ["M", "m", "1", "male"])
    seq = rng.integers(0, 500, size=n) * 2 + male.astype(np.int64)  # 0..999, odd = male
    seq_s = np.char.zfill(seq.astype(str), 3)
    regions = np.asarray(region_codes).astype(str)
    first17 = np.char.add(np.char.add(regions, ymd), seq_s)
    if not all(len(x) == 17 and x.isdigit() for x in first17.tolist()):
        raise ValueError("region codes must be 6 digits and birth dates 8 digits")
    digits = first17.astype("<U17").view("<U1").reshape(n, 17).astype(np.int64)
    check = np.array(list(RESIDENT_ID_CHECK_MAP))[(digits @ np.array(RESIDENT_ID_WEIGHTS)) % 11]
    return np.char.add(first17, check).tolist()


# --------------------------------------------------------------------------------------------------
# LEI (ISO 17442, ISO 7064 MOD 97-10)
# --------------------------------------------------------------------------------------------------

_LEI_RE = re.compile(r"^[0-9A-Z]{18}[0-9]{2}$")
_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _mod97(s: str) -> int:
    """ISO 7064 MOD 97-10 remainder of an alphanumeric string (letters A=10 .. Z=35)."""
    return int("".join(str(int(c, 36)) for c in s)) % 97


def lei_check_digits(first18: str) -> str:
    """The two ISO 7064 MOD 97-10 check digits for the first 18 characters of an LEI."""
    if len(first18) != 18 or not re.fullmatch(r"[0-9A-Z]{18}", first18):
        raise ValueError("need 18 characters from 0-9 and A-Z")
    return f"{98 - _mod97(first18 + '00'):02d}"


def is_valid_lei(code: object) -> bool:
    """True if ``code`` is 20 characters whose MOD 97-10 remainder is 1."""
    return isinstance(code, str) and bool(_LEI_RE.match(code)) and _mod97(code) == 1


def make_lei(rng: np.random.Generator, n: int, *, lou_prefix: str = "3003") -> list[str]:
    """``n`` valid LEIs: 4-char LOU prefix (default ``3003``, a Chinese LOU), ``00``, 12 random
    alphanumerics and the check digits."""
    if len(lou_prefix) != 4:
        raise ValueError("the LOU prefix is 4 characters")
    body = np.array(list(_ALNUM))[rng.integers(0, 36, size=(n, 12))]
    firsts = [f"{lou_prefix}00{b}" for b in _join_rows(body)]
    return [f + lei_check_digits(f) for f in firsts]


# --------------------------------------------------------------------------------------------------
# Financial licence number (金融许可证号)
# --------------------------------------------------------------------------------------------------

_LICENCE_RE = re.compile(r"^[A-Z]\d{4}[HBS]\d{6}\d{3}$")


def licence_no(type_letter: str, seq: int, region_code: str, *, office: str = "H", serial: int = 1) -> str:
    """A licence number in the simulator's scheme (15 characters), e.g. ``B0001H110000001``.

    ``[type letter][4-digit institution number][office: H head office, B branch, S sub-branch]
    [6-digit GB/T 2260 region code][3-digit serial]``. It mimics the shape of real licence numbers
    (``B0001H111000001``) without claiming to reproduce the regulator's allocation rules. The type
    letter and institution number are those of the institution code (``B0001``), so the two agree.
    """
    if len(type_letter) != 1 or not type_letter.isupper():
        raise ValueError("type letter must be one upper-case letter")
    if not (0 < seq < 10_000 and 0 < serial < 1_000):
        raise ValueError("seq must be 1..9999 and serial 1..999")
    if office not in "HBS" or len(office) != 1:
        raise ValueError("office must be H, B or S")
    if len(region_code) != 6 or not region_code.isdigit():
        raise ValueError("region code must be 6 digits")
    return f"{type_letter}{seq:04d}{office}{region_code}{serial:03d}"


def is_valid_licence_no(code: object) -> bool:
    """True if ``code`` has the shape produced by :func:`licence_no`."""
    return isinstance(code, str) and bool(_LICENCE_RE.match(code))
