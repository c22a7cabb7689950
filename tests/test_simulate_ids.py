"""Identifier check characters and generators (simulator/ids.py)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from simulator import ids

# Real, published codes; each check character was also computed by hand before being asserted here.
ICBC_USCC = "91100000100003962T"  # Industrial and Commercial Bank of China
EXAMPLE_USCC = "91350100M000100Y43"  # the example widely used in GB 32100 explanations
GB11643_EXAMPLE_ID = "11010519491231002X"  # the standard's own example
APPLE_LEI = "HWUPKR0MPOU8FGXBT394"  # Apple Inc.
GLEIF_LEI = "506700GE1G29325QX363"  # GLEIF itself


def _flip(code: str, pos: int, alphabet: str) -> str:
    """``code`` with the character at ``pos`` replaced by the next one in ``alphabet``."""
    c = code[pos]
    return code[:pos] + alphabet[(alphabet.index(c) + 1) % len(alphabet)] + code[pos + 1:]


# ----- USCC -----------------------------------------------------------------------------------------


def test_uscc_weights_are_powers_of_three_mod_31():
    assert ids.USCC_WEIGHTS == (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


@pytest.mark.parametrize("code", [ICBC_USCC, EXAMPLE_USCC])
def test_uscc_check_char_of_known_codes(code):
    assert ids.uscc_check_char(code[:17]) == code[17]


@pytest.mark.parametrize("code", [ICBC_USCC, EXAMPLE_USCC])
def test_known_usccs_validate_including_their_organisation_code(code):
    assert ids.is_valid_uscc(code, check_org_code=True)


def test_uscc_check_value_31_maps_to_zero():
    # find a body whose weighted sum is a multiple of 31: its check character must be '0', not 'Y'+1
    rng = np.random.default_rng(0)
    for _ in range(5000):
        body = "".join(rng.choice(list(ids.USCC_ALPHABET), 17))
        total = sum(ids.USCC_ALPHABET.index(c) * w for c, w in zip(body, ids.USCC_WEIGHTS, strict=True))
        if total % 31 == 0:
            assert ids.uscc_check_char(body) == "0"
            return
    pytest.fail("no body with sum divisible by 31 found")


def test_organisation_code_check_chars_of_known_codes():
    assert ids.org_code_check_char("10000396") == "2"  # ICBC
    assert ids.org_code_check_char("M000100Y") == "4"


def test_organisation_code_check_value_10_is_x():
    # weighted sum 2*6 = 12; 12 mod 11 = 1; 11 - 1 = 10 -> 'X'
    assert ids.org_code_check_char("00000006") == "X"
    assert ids.org_code_check_char("00000000") == "0"  # 11 - 0 = 11 -> '0'


def test_generated_usccs_validate():
    codes = ids.make_uscc(np.random.default_rng(1), 500, "330100")
    assert len(codes) == 500
    assert all(ids.is_valid_uscc(c, check_org_code=True) for c in codes)


def test_generated_usccs_carry_authority_type_and_region():
    regions = ["110105", "330302", "440304"]
    codes = ids.make_uscc(np.random.default_rng(2), 3, regions, authority="5", entity_type="1")
    assert [c[:2] for c in codes] == ["51"] * 3
    assert [c[2:8] for c in codes] == regions


def test_generated_usccs_avoid_forbidden_letters():
    codes = ids.make_uscc(np.random.default_rng(3), 1000, "110000")
    assert not set("".join(codes)) & set("IOSVZ")


def test_generated_usccs_are_deterministic_per_seed():
    assert ids.make_uscc(np.random.default_rng(9), 20) == ids.make_uscc(np.random.default_rng(9), 20)


@pytest.mark.parametrize("pos", range(18))
def test_uscc_with_one_character_changed_fails(pos):
    assert not ids.is_valid_uscc(_flip(ICBC_USCC, pos, ids.USCC_ALPHABET))


@pytest.mark.parametrize("bad", ["", "91100000100003962", "91100000100003962TT", "91100000I00003962T", None, 9])
def test_malformed_usccs_fail(bad):
    assert not ids.is_valid_uscc(bad)


def test_uscc_check_char_rejects_wrong_length():
    with pytest.raises(ValueError):
        ids.uscc_check_char("9110000010000396")


# ----- resident ID ------------------------------------------------------------------------------------


def test_resident_id_check_char_of_standard_example():
    assert ids.resident_id_check_char(GB11643_EXAMPLE_ID[:17]) == "X"


def test_standard_example_resident_id_validates():
    assert ids.is_valid_resident_id(GB11643_EXAMPLE_ID)


@pytest.mark.parametrize("pos", range(17))
def test_resident_id_with_one_digit_changed_fails(pos):
    assert not ids.is_valid_resident_id(_flip(GB11643_EXAMPLE_ID, pos, "0123456789"), check_birth_date=False)


def test_resident_id_with_impossible_birth_date_fails():
    first17 = "11010519490231002"  # 31 February
    assert not ids.is_valid_resident_id(first17 + ids.resident_id_check_char(first17))
    assert ids.is_valid_resident_id(first17 + ids.resident_id_check_char(first17), check_birth_date=False)


def test_generated_resident_ids_validate_and_encode_inputs():
    births = [date(1950, 1, 1), date(1988, 2, 29), date(2004, 12, 31)]
    regions = ["110105", "330302", "510104"]
    out = ids.make_resident_ids(np.random.default_rng(4), births, regions, ["M", "F", "M"])
    assert all(ids.is_valid_resident_id(x) for x in out)
    assert [x[:6] for x in out] == regions
    assert [x[6:14] for x in out] == ["19500101", "19880229", "20041231"]


def test_generated_resident_ids_encode_sex_in_sequence_parity():
    n = 400
    sexes = np.where(np.arange(n) % 2 == 0, "M", "F")
    births = np.full(n, np.datetime64("1990-06-15"))
    out = ids.make_resident_ids(np.random.default_rng(5), births, ["320102"] * n, sexes)
    parity = np.array([int(x[16]) % 2 for x in out])
    assert (parity == (sexes == "M")).all()


# ----- LEI ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lei", [APPLE_LEI, GLEIF_LEI])
def test_lei_check_digits_of_known_codes(lei):
    assert ids.lei_check_digits(lei[:18]) == lei[18:]


@pytest.mark.parametrize("lei", [APPLE_LEI, GLEIF_LEI])
def test_known_leis_validate(lei):
    assert ids.is_valid_lei(lei)


def test_lei_with_one_character_changed_fails():
    alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    assert not any(ids.is_valid_lei(_flip(APPLE_LEI, pos, alnum)) for pos in range(18))


def test_generated_leis_validate():
    leis = ids.make_lei(np.random.default_rng(6), 300)
    assert all(ids.is_valid_lei(x) for x in leis)
    assert all(x.startswith("300300") for x in leis)


# ----- licence numbers ---------------------------------------------------------------------------------


def test_licence_number_layout():
    assert ids.licence_no("B", 1, "110000") == "B0001H110000001"


def test_licence_numbers_validate_their_own_shape():
    assert ids.is_valid_licence_no(ids.licence_no("S", 123, "330302", office="B", serial=7))
    assert not ids.is_valid_licence_no("B0001X110000001")


def test_licence_number_rejects_bad_region():
    with pytest.raises(ValueError):
        ids.licence_no("B", 1, "11000")
