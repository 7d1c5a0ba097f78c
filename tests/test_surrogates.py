"""Surrogates: realistic, consistent within a note, never equal to the original."""

import re
from random import Random

import pytest
from faker import Faker

from spacy_synthnotes.generators.surrogate import SurrogateGenerator, make_surrogate_generator
from spacy_synthnotes.surrogates import DocumentSurrogates, group_age, like_case, reshape

NAMES = ["Mr. Smith", "John Smith", "Smith, John", "J. Smith", "SMITH", "Dr. Alice Wong, MD", "Mary"]


def table(seed=1, forbidden=NAMES, **kwargs):
    surrogates = DocumentSurrogates(Faker("en_US"), seed, forbidden=forbidden, **kwargs)
    surrogates.observe_names(NAMES)
    return surrogates


@pytest.mark.parametrize("seed", range(5))
def test_name_variants_map_to_one_person(seed):
    t = table(seed)
    mr, full, inverted, initial, upper, doctor, lone = (t.replace(n, "PATIENT") for n in NAMES)
    first, last = full.split()
    assert mr == f"Mr. {last}"
    assert inverted == f"{last}, {first}"
    assert initial == f"{first[0]}. {last}"
    assert upper == last.upper()
    assert doctor.startswith("Dr. ") and doctor.endswith(", MD")
    assert "Wong" not in doctor and "Alice" not in doctor
    assert lone != "Mary" and lone[0].isupper()
    # Surrogate names never reuse an original name part.
    for part in re.findall(r"[A-Za-z]{2,}", " ".join([full, doctor, lone])):
        assert part.lower() not in {"john", "smith", "alice", "wong", "mary"}


def test_given_name_keeps_gender_where_faker_knows_it():
    t = DocumentSurrogates(Faker("en_US"), 3, forbidden=["John Smith", "Mary Jones"])
    t.observe_names(["John Smith", "Mary Jones"])
    faker_provider = [p for p in Faker("en_US").get_providers() if hasattr(p, "first_names_male")][0]
    male = t.replace("John Smith", "PATIENT").split()[0]
    female = t.replace("Mary Jones", "PATIENT").split()[0]
    assert male in faker_provider.first_names_male
    assert female in faker_provider.first_names_female


def test_same_string_same_surrogate_and_different_strings_differ():
    t = table()
    assert t.replace("Boston", "CITY") == t.replace("boston", "CITY")
    assert t.replace("(617) 555-0192", "PHONE") == t.replace("(617) 555-0192", "PHONE")
    assert t.replace("John Smith", "PATIENT") != t.replace("Alice Wong", "PATIENT")


@pytest.mark.parametrize(
    "text,label,shape",
    [
        ("(617) 555-0192", "PHONE", r"\([2-9]\d\d\) \d{3}-\d{4}"),
        ("617.555.0192", "FAX", r"[2-9]\d\d\.\d{3}\.\d{4}"),
        ("00482913", "MEDICALRECORD", r"\d{8}"),
        ("AB123456", "MEDICALRECORD", r"[A-Z]{2}\d{6}"),
        ("123-45-6789", "SSN", r"\d{3}-\d\d-\d{4}"),
        ("02114", "ZIP", r"\d{5}"),
        ("jsmith@mgh.org", "EMAIL", r"[^@\s]+@[^@\s]+\.[a-z]+"),
        ("10.0.0.1", "IPADDR", r"\d+\.\d+\.\d+\.\d+"),
        ("MA", "STATE", r"[A-Z]{2}"),
    ],
)
def test_format_preserving_replacements(text, label, shape):
    for seed in range(10):
        value = table(seed, forbidden=[text]).replace(text, label)
        assert value != text
        assert re.fullmatch(shape, value), value


def test_an_intersection_gets_a_corner_and_a_street_an_address():
    for seed in range(5):
        t = table(seed)
        corner = t.replace("The corner of Elm Road and Oak Lane", "STREET")
        assert re.fullmatch(r"The corner of \S.* and \S.*", corner) and "Elm" not in corner, corner
        assert "corner" not in t.replace("40 Elm Road", "STREET")
        assert re.match(r"\d+ ", t.replace("40 Elm Road", "STREET"))


def test_ages_over_89_are_grouped_and_younger_ages_move():
    t = table()
    assert t.replace("92", "AGE") == "90+"
    assert t.replace("101 years", "AGE") == "90+ years"
    assert t.replace("ninety-one", "AGE") == "90+"
    young = t.replace("45", "AGE")
    assert young != "45" and abs(int(young) - 45) <= 2
    assert group_age("89", 2, Random(0)) in {"87", "88"}


def test_dates_share_one_offset_and_keep_format():
    t = table()
    a, b = t.replace("3/14/2021", "DATE"), t.replace("3/20/2021", "DATE")
    assert re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}", a) and a != "3/14/2021"
    from spacy_synthnotes.dates import parse_date

    assert (parse_date(b).value - parse_date(a).value).days == 6
    assert t.replace("Christmas", "DATE") != "Christmas"
    assert t.counts["unparsed_dates"] == 1


def test_offset_avoids_colliding_with_another_original_date():
    originals = ["12/1/2020", "12/31/2020 10:00"]
    for seed in range(30):
        t = DocumentSurrogates(
            Faker("en_US"), seed, forbidden=originals, dates=originals, date_shift=(30, 31)
        )
        # +30 would turn 12/1/2020 into 12/31/2020, a token of an original date string, and -30
        # 12/31/2020 10:00 into 12/1/2020 10:00, which carries the other original whole.
        assert t.date_offset in (31, -31)


def test_bare_months_do_not_block_the_offset_check():
    # Twelve month names: every offset repeats one of them. That must not disable the check that keeps
    # 12/1/2020 + 30 days from reading 12/31/2020, a token of another original date of the note.
    months = ["January", "February", "March", "April", "May", "June", "July", "August", "September"]
    originals = ["12/1/2020", "12/31/2020 10:00", *months, "October", "November", "December"]
    for seed in range(20):
        t = DocumentSurrogates(
            Faker("en_US"), seed, forbidden=originals, dates=originals, date_shift=(30, 31)
        )
        assert t.date_offset in (31, -31)


def test_facility_keeps_its_kind():
    value = table().replace("Mercy General Hospital", "HOSPITAL")
    assert value.endswith("Hospital") and "Mercy" not in value


def test_reshape_and_like_case():
    rng = Random(0)
    assert re.fullmatch(r"[A-Z]{3}-\d{8}", reshape("MRN-00482913", rng))
    assert like_case("SMITH", "Jones") == "JONES" and like_case("smith", "Jones") == "jones"


def test_other_locale():
    t = DocumentSurrogates(Faker("de_DE"), 0, forbidden=["Hans Müller"])
    value = t.replace("Hans Müller", "PATIENT")
    assert value != "Hans Müller" and len(value.split()) == 2


def test_generator_validates_its_settings():
    with pytest.raises(ValueError, match="date_shift"):
        SurrogateGenerator(date_shift=(0, 10))
    with pytest.raises(ValueError, match="age_jitter"):
        SurrogateGenerator(age_jitter=0)
    with pytest.raises(ValueError, match="Unknown surrogate categories"):
        make_surrogate_generator(categories={"MYID": "nonsense"})
    generator = make_surrogate_generator(categories={"MYID": "id"}, locale="en_GB")
    assert generator.locale == "en_GB" and generator.categories == {"MYID": "id"}


def test_offset_keeps_an_original_short_date_out_of_longer_shifted_dates():
    # The note writes "12/9/2015" and "12/12": a shift of +3 days would render 12/9/2015 as
    # 12/12/2015, which carries the original "12/12" as a whole word (the demo run's one
    # "source PHI string found": 12/12/2014 from a shift of -362 days).
    originals = ["12/9/2015", "12/12"]
    for seed in range(20):
        t = DocumentSurrogates(Faker("en_US"), seed, forbidden=originals, dates=originals, date_shift=(3, 3))
        assert t.date_offset == -3
        assert "12/12" not in t.replace("12/9/2015", "DATE")


def test_drawn_surrogates_carry_no_original_date():
    # An unparseable DATE ("Troponin I level", a NER false positive) gets a random date; one that
    # writes the note's real "10/15" inside "10/15/2017" is drawn again.
    t = DocumentSurrogates(Faker("en_US"), 0, forbidden=["10/15"], dates=["10/15", "Troponin I level"])
    draws = iter(["10/15/2017", "3/2/2011"])
    assert t._draw("Troponin I level", lambda: next(draws), keep_case=False) == "3/2/2011"
    assert "10/15" not in t.replace("Troponin I level", "DATE")


def test_a_time_of_day_does_not_block_the_offset_check():
    # A shift keeps the time: "10:00" alone (a DATE the NER marked) must not reject every offset.
    originals = ["12/1/2020", "12/31/2020 10:00", "10:00"]
    for seed in range(10):
        t = DocumentSurrogates(
            Faker("en_US"), seed, forbidden=originals, dates=originals, date_shift=(30, 31)
        )
        assert t.date_offset in (31, -31)
