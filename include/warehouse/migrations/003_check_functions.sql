-- run-as: loader
-- Check-character validators for the identifier schemes in the dataset registry, used by the quality
-- gate (include/ingest/quality.py) so the check runs inside PostgreSQL, next to the data.
--
--   ops.uscc_valid(text)        USCC, unified social credit code (GB 32100-2015)
--   ops.resident_id_valid(text) resident identity number (GB 11643-1999), birth date included
--   ops.lei_valid(text)         legal entity identifier (ISO 17442, ISO 7064 MOD 97-10)
--
-- All three read nothing but their argument (no tables, no settings), so they are IMMUTABLE and
-- PARALLEL SAFE, and executable by everyone. NULL in, NULL out: a missing value is the not_null
-- rule's business, not a check-character failure (callers write `x is not null and not f(x)`).
-- Any non-NULL input of the wrong length or alphabet (including '' and lower case) returns false.
-- They mirror simulator/ids.py (is_valid_uscc, is_valid_resident_id, is_valid_lei);
-- tests/test_check_functions.py cross-checks the two. Idempotent: create or replace.

-- GB 32100-2015: 18 characters from '0123456789ABCDEFGHJKLMNPQRTUWXY' (no I, O, S, V, Z); the value
-- of a character is its position. Weights 3^i mod 31 for i = 0..16; the check character is the
-- one at position (31 - sum mod 31) mod 31.
-- plpgsql on purpose: translate() maps each character to the byte 'A' + its value once, and
-- get_byte() reads the values in O(1); the same check as one inlined SQL expression (17 substr +
-- strpos on UTF-8 text) measured 2.4x slower on 1M rows.
create or replace function ops.uscc_valid(code text) returns boolean
language plpgsql immutable strict parallel safe as $$
declare
    b bytea;
begin
    if length(code) <> 18 or code ~ '[^0-9A-HJ-NPQRTUWXY]' then
        return false;
    end if;
    b := convert_to(translate(code, '0123456789ABCDEFGHJKLMNPQRTUWXY',
                                    'ABCDEFGHIJKLMNOPQRSTUVWXYZ[\]^_'), 'SQL_ASCII');
    return (31 - ((get_byte(b, 0) - 65) * 1 + (get_byte(b, 1) - 65) * 3 + (get_byte(b, 2) - 65) * 9
                + (get_byte(b, 3) - 65) * 27 + (get_byte(b, 4) - 65) * 19 + (get_byte(b, 5) - 65) * 26
                + (get_byte(b, 6) - 65) * 16 + (get_byte(b, 7) - 65) * 17 + (get_byte(b, 8) - 65) * 20
                + (get_byte(b, 9) - 65) * 29 + (get_byte(b, 10) - 65) * 25 + (get_byte(b, 11) - 65) * 13
                + (get_byte(b, 12) - 65) * 8 + (get_byte(b, 13) - 65) * 24 + (get_byte(b, 14) - 65) * 10
                + (get_byte(b, 15) - 65) * 30 + (get_byte(b, 16) - 65) * 28) % 31) % 31
           = get_byte(b, 17) - 65;
end
$$;

comment on function ops.uscc_valid(text) is
    'True if the argument is an 18-character USCC with a correct GB 32100-2015 check character; '
    'NULL for NULL.';

-- GB 11643-1999: 17 digits and a check character '10X98765432'[sum(d_i * w_i) mod 11], weights
-- 2^(17-i) mod 11; characters 7-14 are the birth date YYYYMMDD and must be a real calendar date
-- (Gregorian leap years; year 0000 does not exist).
create or replace function ops.resident_id_valid(code text) returns boolean
language sql immutable parallel safe
return case
    when code is null then null
    when code !~ '^[0-9]{17}[0-9X]$' then false
    when substr(code, 7, 4)::int < 1
      or substr(code, 11, 2)::int not between 1 and 12
      or substr(code, 13, 2)::int < 1
      or substr(code, 13, 2)::int > case
            when substr(code, 11, 2)::int = 2 then
                case when (substr(code, 7, 4)::int % 4 = 0 and substr(code, 7, 4)::int % 100 <> 0)
                          or substr(code, 7, 4)::int % 400 = 0 then 29 else 28 end
            when substr(code, 11, 2)::int in (4, 6, 9, 11) then 30
            else 31
         end
        then false
    else substr('10X98765432',
                1 + (  substr(code, 1, 1)::int * 7 + substr(code, 2, 1)::int * 9
                     + substr(code, 3, 1)::int * 10 + substr(code, 4, 1)::int * 5
                     + substr(code, 5, 1)::int * 8 + substr(code, 6, 1)::int * 4
                     + substr(code, 7, 1)::int * 2 + substr(code, 8, 1)::int * 1
                     + substr(code, 9, 1)::int * 6 + substr(code, 10, 1)::int * 3
                     + substr(code, 11, 1)::int * 7 + substr(code, 12, 1)::int * 9
                     + substr(code, 13, 1)::int * 10 + substr(code, 14, 1)::int * 5
                     + substr(code, 15, 1)::int * 8 + substr(code, 16, 1)::int * 4
                     + substr(code, 17, 1)::int * 2) % 11,
                1) = substr(code, 18, 1)
end;

comment on function ops.resident_id_valid(text) is
    'True if the argument is an 18-character resident identity number (GB 11643-1999) with a real '
    'birth date and a correct check character; NULL for NULL.';

-- ISO 17442: 18 alphanumerics (upper case) and 2 check digits; letters become 10..35 (A=10), and the
-- resulting decimal string (up to 40 digits) must be 1 mod 97 (ISO 7064 MOD 97-10). The remainder is
-- folded piecewise, one character (1 or 2 digits) at a time: r = (r * 10^len + value) mod 97, so
-- every intermediate value stays below 9,800 and integer arithmetic is exact.
create or replace function ops.lei_valid(code text) returns boolean
language plpgsql immutable strict parallel safe as $$
declare
    b bytea;
    r integer := 0;
    v integer;
begin
    if length(code) <> 20 or code !~ '^[0-9A-Z]{18}[0-9]{2}$' then
        return false;
    end if;
    b := convert_to(code, 'SQL_ASCII');
    for i in 0..19 loop
        v := get_byte(b, i);
        if v <= 57 then  -- '0'..'9'
            r := (r * 10 + v - 48) % 97;
        else             -- 'A'..'Z' -> 10..35
            r := (r * 100 + v - 55) % 97;
        end if;
    end loop;
    return r = 1;
end
$$;

comment on function ops.lei_valid(text) is
    'True if the argument is a 20-character LEI whose ISO 7064 MOD 97-10 remainder is 1; NULL for NULL.';

grant execute on function ops.uscc_valid(text), ops.resident_id_valid(text), ops.lei_valid(text)
    to public;
