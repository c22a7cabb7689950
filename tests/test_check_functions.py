"""The identifier check functions of migration 003 (ops.uscc_valid, ops.resident_id_valid,
ops.lei_valid): known codes, mutations, edge inputs, and agreement with simulator/ids.py."""

from __future__ import annotations

import importlib.util
import random
from datetime import date

import pytest

# Published codes. Their check characters were recomputed by hand with the standards' weights (see
# test_examples_check_out_by_hand) before being trusted here.
RESIDENT_ID = "11010519491231002X"  # GB 11643-1999's own example
USCCS = ["91350100M000100Y43", "91100000100003962T"]  # the GB 32100 textbook example; ICBC
LEIS = ["5493001KJTIIGC8Y1R12", "HWUPKR0MPOU8FGXBT394", "506700GE1G29325QX363"]  # a common example; Apple; GLEIF

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
ID_CHECK = "10X98765432"
ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@pytest.fixture(scope="module")
def db(warehouse):
    with warehouse.connect("loader", autocommit=True) as conn:
        yield conn


def check(conn, function: str, values: list[str | None]) -> list[bool | None]:
    """``ops.<function>(v)`` for every value, in one round trip, in order."""
    rows = conn.execute(f"select ops.{function}(v) from unnest(%s::text[]) with ordinality as t(v, i) "
                        "order by i", (values,)).fetchall()
    return [r[0] for r in rows]


def id_check_char(first17: str) -> str:
    return ID_CHECK[sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


def uscc_check_char(first17: str) -> str:
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def test_examples_check_out_by_hand():
    # 9*1 + 1*3 + 3*9 + 5*27 + 1*26 + M(21)*20 + 1*8 + Y(30)*30 + 4*28 (the other characters are 0)
    # = 1640; 1640 mod 31 = 28; (31 - 28) mod 31 = 3 -> '3'.
    assert uscc_check_char(USCCS[0][:17]) == "3"
    # 1*7 + 1*9 + 1*5 + 5*4 + 1*2 + 9*1 + 4*6 + 9*3 + 1*7 + 2*9 + 3*10 + 1*5 + 2*2 (zeros left out)
    # = 167; 167 mod 11 = 2 -> '10X98765432'[2] = 'X'.
    assert id_check_char(RESIDENT_ID[:17]) == "X"
    for lei in LEIS:
        assert int("".join(str(ALNUM.index(c)) for c in lei)) % 97 == 1


def test_known_codes_are_valid(db):
    assert check(db, "uscc_valid", USCCS) == [True, True]
    assert check(db, "resident_id_valid", [RESIDENT_ID]) == [True]
    assert check(db, "lei_valid", LEIS) == [True, True, True]


@pytest.mark.parametrize(("function", "code", "alphabet"), [
    ("uscc_valid", USCCS[0], USCC_ALPHABET),
    ("resident_id_valid", RESIDENT_ID, "0123456789X"),
    ("lei_valid", LEIS[0], "0123456789"),
])
def test_any_other_check_character_is_invalid(db, function, code, alphabet):
    others = [code[:-1] + c for c in alphabet if c != code[-1]]
    assert check(db, function, others) == [False] * len(others)


@pytest.mark.parametrize(("function", "code", "alphabets"), [
    ("uscc_valid", USCCS[1], [USCC_ALPHABET]),
    ("resident_id_valid", RESIDENT_ID, ["0123456789"]),
    ("lei_valid", LEIS[1], ["0123456789", ALNUM[10:]]),
])
def test_a_single_substituted_character_is_detected(db, function, code, alphabets):
    # Every body position, replaced by the next character of its class. (All three schemes detect
    # any single substitution; for an LEI that holds when a letter stays a letter and a digit a
    # digit, since a letter stands for two decimal digits.)
    body = len(code) - (2 if function == "lei_valid" else 1)
    mutated = []
    for i in range(body):
        alphabet = next(a for a in alphabets if code[i] in a)
        c = alphabet[(alphabet.index(code[i]) + 1) % len(alphabet)]
        mutated.append(code[:i] + c + code[i + 1:])
    assert len(mutated) == body
    assert check(db, function, mutated) == [False] * len(mutated)


def test_resident_id_needs_a_real_birth_date(db):
    def with_birth(yyyymmdd: str) -> str:
        first17 = "110105" + yyyymmdd + "002"
        return first17 + id_check_char(first17)  # correct check character, so only the date decides

    valid = [with_birth(d) for d in ("20000229", "19491231", "20240131")]
    invalid = [with_birth(d) for d in ("19490229", "19000229", "20240230", "20241301", "20240100", "00000101",
                                       "20240431")]
    assert check(db, "resident_id_valid", valid) == [True] * len(valid)
    assert check(db, "resident_id_valid", invalid) == [False] * len(invalid)


@pytest.mark.parametrize("function", ["uscc_valid", "resident_id_valid", "lei_valid"])
def test_null_is_null_and_malformed_input_is_false(db, function):
    # NULL in, NULL out (the not_null rule reports missing values); anything else malformed is false.
    malformed = ["", " ", "1", "123456789012345678901", RESIDENT_ID.lower(), USCCS[0].lower(),
                 LEIS[0].lower(), USCCS[0] + " ", " " + LEIS[0], "ＡＢＣ", "1101051949123100２X"]
    assert check(db, function, [None]) == [None]
    assert check(db, function, malformed) == [False] * len(malformed)


def test_uscc_rejects_letters_outside_its_alphabet(db):
    # I, O, S, V and Z are not in the GB 32100 alphabet even where the check would otherwise work.
    first = USCCS[0]
    for letter in "IOSVZ":
        assert check(db, "uscc_valid", [first[:8] + letter + first[9:]]) == [False]


def test_functions_are_immutable_parallel_safe_and_granted_to_public(db):
    rows = db.execute("select p.proname, p.provolatile, p.proparallel from pg_proc p "
                      "join pg_namespace n on n.oid = p.pronamespace where n.nspname = 'ops' "
                      "and p.proname in ('uscc_valid', 'resident_id_valid', 'lei_valid') order by 1").fetchall()
    assert rows == [("lei_valid", "i", "s"), ("resident_id_valid", "i", "s"), ("uscc_valid", "i", "s")]
    for role in ("transformer", "scorer", "bi_reader", "auditor"):
        granted = db.execute("select has_function_privilege(%s, 'ops.uscc_valid(text)', 'execute')",
                             (role,)).fetchone()[0]
        assert granted, role


# --- agreement with the Python implementations (simulator/ids.py) ---------------------------


@pytest.fixture(scope="module")
def ids():
    if importlib.util.find_spec("simulator.ids") is None:
        pytest.skip("simulator/ids.py is not there yet")
    from simulator import ids

    for name in ("is_valid_uscc", "is_valid_resident_id", "is_valid_lei"):
        if not hasattr(ids, name):
            pytest.skip(f"simulator.ids has no {name} yet")
    return ids


def _mutations(codes: list[str], alphabet: str, rnd: random.Random) -> list[str]:
    out = []
    for code in codes:
        i = rnd.randrange(len(code))
        out.append(code[:i] + rnd.choice(alphabet) + code[i + 1:])  # sometimes a no-op: still fine
        j = rnd.randrange(len(code) - 1)
        out.append(code[:j] + code[j + 1] + code[j] + code[j + 2:])  # adjacent transposition
    return out


def _random_strings(alphabet: str, length: int, n: int, rnd: random.Random) -> list[str]:
    return ["".join(rnd.choice(alphabet) for _ in range(length)) for _ in range(n)]


def test_uscc_agrees_with_python(db, ids):
    import numpy as np

    rnd = random.Random(11)
    good = ids.make_uscc(np.random.default_rng(11), 300, "350100")
    codes = good + _mutations(good, USCC_ALPHABET, rnd) + _random_strings(USCC_ALPHABET + "IOZ", 18, 300, rnd)
    assert check(db, "uscc_valid", codes) == [ids.is_valid_uscc(c) for c in codes]
    assert sum(check(db, "uscc_valid", codes)) >= 300


def test_resident_id_agrees_with_python(db, ids):
    import numpy as np

    rnd = random.Random(12)
    rng = np.random.default_rng(12)
    births = [date.fromordinal(date(1930, 1, 1).toordinal() + int(d)) for d in rng.integers(0, 30000, 300)]
    good = ids.make_resident_ids(rng, births, ["110105"] * 300, ["M", "F"] * 150)
    codes = (good + _mutations(good, "0123456789X", rnd)
             + [s + rnd.choice("0123456789X") for s in _random_strings("0123456789", 17, 300, rnd)])
    assert check(db, "resident_id_valid", codes) == [ids.is_valid_resident_id(c) for c in codes]
    assert sum(check(db, "resident_id_valid", codes)) >= 300


def test_lei_agrees_with_python(db, ids):
    import numpy as np

    rnd = random.Random(13)
    good = ids.make_lei(np.random.default_rng(13), 300)
    codes = good + LEIS + _mutations(good, ALNUM, rnd) + _random_strings(ALNUM, 20, 300, rnd)
    assert check(db, "lei_valid", codes) == [ids.is_valid_lei(c) for c in codes]
    assert sum(check(db, "lei_valid", codes)) >= 303
