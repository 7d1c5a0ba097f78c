"""Relative dates: their detection (synth_phi's `relative_dates`) and their surrogates (moved counts)."""

import re
from random import Random

import pytest
import spacy
from conftest import make_doc
from faker import Faker

from spacy_synthnotes.intervals import interval_factor, move_counts
from spacy_synthnotes.phi.patterns import (
    RELATIVE_DATE_RULES,
    find_relative_dates,
    find_shapes,
    is_relative_date,
)
from spacy_synthnotes.surrogates import DocumentSurrogates

# One example per rule (text, the span it finds, the rule), MACCROBAT's kinds of relative dates.
EXAMPLES = [
    ("Three days later she was febrile.", "Three days later", "relative_interval"),
    ("seen 1\u20132 days post surgery", "1\u20132 days post", "relative_interval"),
    ("recurred 14 d after the first dose", "14 d after", "relative_interval"),
    ("a rash 2\u00bd months before", "2\u00bd months before", "relative_interval"),
    ("symptoms began months before admission", "months before", "relative_units_ago"),
    ("resolved after at least 1 year", "after at least 1 year", "relative_within"),
    ("during the first 2 postoperative days", "during the first 2 postoperative days", "relative_within"),
    ("cultures positive after 48 h", "after 48 h", "relative_within"),
    ("drain removed on postoperative day 9", "postoperative day 9", "relative_day_number"),
    ("engraftment on day +12", "day +12", "relative_day_number"),
    ("extubated on day two", "day two", "relative_day_word"),
    ("ambulating on POD#3", "POD#3", "relative_time_point"),
    ("stable at the end of treatment", "end of treatment", "relative_time_point"),
    ("on the eleventh hospital day", "eleventh hospital day", "relative_ordinal"),
    ("a 1-year history of smoking", "1-year", "relative_adjective"),
    ("delivered at 38 weeks' gestation", "38 weeks' gestation", "relative_gestation"),
    ("discharged the following morning", "following morning", "relative_neighbour"),
    ("no falls in the past year", "past year", "relative_past"),
    ("she felt well the day before admission", "the day before", "relative_day_of"),
    ("jaundice at \u223c48 h of age", "48 h of age", "relative_of_age"),
    ("first seizure in her early 70s", "her early 70s", "relative_decade_of_life"),
]


def relative(text):
    return [(text[m.start : m.end], m.rule) for m in find_relative_dates(text)]


@pytest.mark.parametrize("text,span,rule", EXAMPLES)
def test_relative_dates_are_found_and_surrogates_can_move_them(text, span, rule):
    assert relative(text) == [(span, rule)]
    # The span alone, as synth_notes sees it, still reads as a relative date.
    assert is_relative_date(span)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("On the next day", True),
        ("Three days after surgery", True),
        ("her 30s", True),
        ("the week prior", True),
        ("New Year's Day", False),
        ("2 days before Thanksgiving", False),
        ("the week of 3/14", False),
        ("Last Tuesday", False),
        ("Christmas", False),
        ("Monday", False),
        ("3/14/2021", False),
        ("the 14th", False),
    ],
)
def test_is_relative_date(text, expected):
    assert is_relative_date(text) is expected


def test_every_relative_date_rule_has_an_example():
    assert {rule.name for rule in RELATIVE_DATE_RULES} == {rule for _, _, rule in EXAMPLES}


@pytest.mark.parametrize(
    "text",
    [
        "ceftriaxone every 8 hours, q8 hours, twice a day for 3 days, a 2 week course",
        "24-hour urine collection; sent a 24-h urine",
        "HD catheter placed; on HD since",
        "a 6-year-old boy, dialysis on Mondays, 2D echo",
        "Apgar 8 and 9 at 1 min and 5 min; GCS 15; Norco 5/325 mg",
        "in 3 patients, at 40 mg, within normal limits, in the morning",
    ],
)
def test_frequencies_doses_and_ages_are_not_relative_dates(text):
    assert relative(text) == []


def test_relative_dates_are_not_identifier_shapes():
    # The residual check scans for identifier shapes only: a relative date is never one.
    assert [
        m
        for m in find_shapes("Three days later, on postoperative day 9, and 2 weeks after")
        if m.label == "DATE"
    ] == []


@pytest.mark.parametrize(
    "text,up,down",
    [
        ("3 days later", "4 days later", "2 days later"),
        ("postoperative day 9", "postoperative day 11", "postoperative day 7"),
        ("One month later", "Two months later", "Two months later"),  # at least one, and above zero
        ("Two Weeks After", "Three Weeks After", "One Week After"),  # the unit agrees with the count
        ("forty-five days after", "fifty-four days after", "thirty-six days after"),
        ("the second day", "the third day", "the first day"),
        ("22nd day", "26th day", "18th day"),
        ("2-3 weeks", "3-4 weeks", "1-2 weeks"),
        ("1.5 years later", "1.8 years later", "1.2 years later"),
        ("3-month", "4-month", "2-month"),
        ("A year later", "Two years later", "Two years later"),  # "a" before a unit is one
        ("a few days later", "a few days later", "a few days later"),
        ("the next day", "the next day", "the next day"),  # no count: kept
        ("end of treatment", "end of treatment", "end of treatment"),
    ],
)
def test_move_counts_keeps_how_each_count_is_written(text, up, down):
    assert move_counts(text, 1.2) == up
    assert move_counts(text, 0.8) == down


def test_interval_factor_always_moves():
    factors = [interval_factor(Random(seed)) for seed in range(200)]
    assert all(0.75 <= f <= 0.90 or 1.10 <= f <= 1.25 for f in factors)
    assert min(factors) < 1 < max(factors)


def test_a_note_moves_all_its_relative_dates_one_way_and_keeps_its_calendar_dates_shifted():
    for seed in range(10):
        table = DocumentSurrogates(Faker("en_US"), seed)
        early, late = table.replace("3 days later", "DATE"), table.replace("10 days later", "DATE")
        n_early, n_late = int(early.split()[0]), int(late.split()[0])
        assert (n_early > 3) == (n_late > 10) and n_early != 3 and n_late != 10
        assert table.replace("3 days later", "DATE") == early  # consistent within the note
        assert table.replace("the next day", "DATE") == "the next day"
        assert table.replace("3/14/2021", "DATE") != "3/14/2021"
        assert table.counts["relative_dates"] == 3 and "unparsed_dates" not in table.counts
        # A holiday names a calendar date, even with a time unit in it: a random date replaces it.
        for holiday in ("New Year's Day", "Christmas week", "2 days before Thanksgiving"):
            assert re.fullmatch(r"\d\d/\d\d/\d{4}", table.replace(holiday, "DATE"))
        assert table.counts["unparsed_dates"] == 3


def test_synth_phi_marks_relative_dates_only_when_asked_and_above_clinical_entities():
    text = "Started aspirin daily. Three days later she had a fever.\n3. Stop after 5 days\n4. Recheck"
    # The "NER" took part of the relative date for a problem.
    spans = [("aspirin", "DRUG"), ("Three days", "PROBLEM"), ("fever", "PROBLEM")]
    found = {}
    for on in (False, True):
        nlp = spacy.blank("en")
        nlp.add_pipe("synth_phi", config={"relative_dates": on})
        found[on] = [(e.text, e.label_) for e in nlp(make_doc(nlp, text, spans)).ents]
    assert found[False] == [("aspirin", "DRUG"), ("Three days", "PROBLEM"), ("fever", "PROBLEM")]
    # Privacy first, as for every PHI candidate; "days\n4" across the line break is no "day 4".
    assert found[True] == [
        ("aspirin", "DRUG"),
        ("Three days later", "DATE"),
        ("fever", "PROBLEM"),
        ("after 5 days", "DATE"),
    ]


def test_synthetic_note_moves_relative_dates_with_exact_spans():
    nlp = spacy.blank("en")
    nlp.add_pipe("synth_phi", config={"relative_dates": True})
    nlp.add_pipe("synth_notes", config={"seed": 0})
    doc = nlp("Admitted 3/14/2021. Three days later, on postoperative day 9, she was discharged.")
    synthetic = doc._.synthetic
    dates = [e.text for e in synthetic.ents if e.label_ == "DATE"]
    assert len(dates) == 3 and dates[1:] != ["Three days later", "postoperative day 9"]
    assert dates[1].endswith("days later") and dates[2].startswith("postoperative day ")
    assert doc._.synthetic_report["relative_dates"] == 2
    assert "3/14/2021" not in synthetic.text


def test_relative_dates_setting_survives_to_disk_and_load(tmp_path):
    nlp = spacy.blank("en")
    nlp.add_pipe("synth_phi", config={"relative_dates": True})
    nlp.to_disk(tmp_path / "phi")
    loaded = spacy.load(tmp_path / "phi")
    assert loaded.get_pipe("synth_phi").relative_dates is True
    assert [e.label_ for e in loaded("Three days later she was discharged.").ents] == ["DATE"]
