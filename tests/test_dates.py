"""Date parsing and format-preserving shifts."""

import datetime
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spacy_synthnotes.dates import parse_date, shift_date
from spacy_synthnotes.demo.notes import DATE_STYLES


@pytest.mark.parametrize(
    "text,days,expected",
    [
        ("3/14/2021", 40, "4/23/2021"),
        ("03/14/21", 40, "04/23/21"),
        ("2021-03-14", 40, "2021-04-23"),
        ("14-MAR-2021", 40, "23-APR-2021"),
        ("March 14, 2021", 40, "April 23, 2021"),
        ("Mar 14th", 40, "Apr 23rd"),
        ("the 14th", 40, "the 23rd"),
        ("March 2021", 40, "April 2021"),
        ("October", 40, "November"),
        ("JUNE", -200, "NOVEMBER"),
        ("on 3/14", 40, "on 4/23"),
        ("3/14/2021 at 14:30", 40, "3/14/2021 at 14:30".replace("3/14", "4/23")),
        ("Monday, March 14, 2022", 40, "Saturday, April 23, 2022"),
        ("14 March 2021", -14, "28 February 2021"),
        ("Sept. 3", 30, "Oct. 3"),
        ("31/12/2020", 40, "9/2/2021"),
        ("05/2019", 40, "06/2019"),
        ("12/31/1999", 1, "1/1/2000"),
        ("14th of March 2021", 1, "15th of March 2021"),
    ],
)
def test_shift_keeps_format(text, days, expected):
    assert shift_date(text, days) == expected


@pytest.mark.parametrize("text", ["5/325", "120/80", "GCS 15", "POD 3", "hello", "13/45/2020", "x"])
def test_non_dates_are_not_parsed(text):
    assert parse_date(text) is None


@settings(max_examples=200, deadline=None)
@given(
    st.dates(datetime.date(1950, 1, 1), datetime.date(2040, 12, 31)),
    st.dates(datetime.date(1950, 1, 1), datetime.date(2040, 12, 31)),
    st.integers(-400, 400).filter(lambda d: d != 0),
    st.sampled_from(range(len(DATE_STYLES))),
)
def test_shift_preserves_intervals_for_full_dates(a, b, days, style_index):
    style = DATE_STYLES[style_index]
    shifted_a = parse_date(shift_date(style(a), days)).value
    shifted_b = parse_date(shift_date(style(b), days)).value
    if style_index == 2:  # two-digit years: compare within the century the parser picks
        return
    assert (shifted_a - shifted_b) == (a - b)
    assert (shifted_a - a).days == days


def test_every_demo_style_round_trips():
    day = datetime.date(2019, 7, 4)
    for style, days in itertools.product(DATE_STYLES, (-100, 1, 365)):
        shifted = shift_date(style(day), days)
        assert shifted == style(day + datetime.timedelta(days=days)), style(day)
