"""The surrogate generator: the "traditional anonymization" baseline.

The note text is kept; each PHI entity is replaced by a realistic surrogate that
is consistent within the note (see `spacy_synthnotes.surrogates`); clinical
entities are kept verbatim.
"""

from typing import Dict, List, Optional, Sequence, Tuple

from faker import Faker
from spacy.util import registry

from ..labels import DATE, NAME, surrogate_category, validate_categories
from ..surrogates import DocumentSurrogates
from .base import KEEP, PHI, NotePlan, Segment, Synthesis


class SurrogateGenerator:
    """Replace PHI by Faker surrogates and keep everything else.

    locale (str): The Faker locale of the surrogates, e.g. "en_US" or "de_DE".
    date_shift (Tuple[int, int]): Smallest and largest absolute date shift in
        days; one shift per note, random sign.
    age_jitter (int): Largest change, in years, of an age under 90.
    categories (Optional[Dict[str, str]]): Extra label -> surrogate category
        entries for label schemes other than i2b2 2014.
    """

    def __init__(
        self,
        locale: str = "en_US",
        date_shift: Tuple[int, int] = (30, 365),
        age_jitter: int = 2,
        categories: Optional[Dict[str, str]] = None,
    ):
        low, high = date_shift
        if not 1 <= low <= high:
            raise ValueError(f"date_shift must satisfy 1 <= low <= high, got {date_shift}")
        if age_jitter < 1:
            raise ValueError(f"age_jitter must be >= 1 so no age stays equal, got {age_jitter}")
        if categories:
            validate_categories(categories)
        self.locale = locale
        self.date_shift = (low, high)
        self.age_jitter = age_jitter
        self.categories = dict(categories or {})
        self._faker = Faker(locale)

    def surrogates_for(self, plan: NotePlan) -> DocumentSurrogates:
        """A consistent surrogate table for one note (also used by other generators)."""
        phi = [ent for ent in plan.entities if ent.action == PHI]
        categories = {ent.label: surrogate_category(ent.label, self.categories) for ent in phi}
        table = DocumentSurrogates(
            self._faker,
            plan.seed,
            date_shift=self.date_shift,
            age_jitter=self.age_jitter,
            categories=self.categories,
            forbidden=[ent.text for ent in phi],
            dates=[ent.text for ent in phi if categories[ent.label] == DATE],
        )
        table.observe_names([ent.text for ent in phi if categories[ent.label] == NAME])
        return table

    def __call__(self, plans: Sequence[NotePlan]) -> List[Synthesis]:
        return [self._one(plan) for plan in plans]

    def _one(self, plan: NotePlan) -> Synthesis:
        table = self.surrogates_for(plan)
        segments: List[Segment] = []
        cursor = 0
        for i, ent in enumerate(plan.entities):
            if ent.start > cursor:
                segments.append(Segment(plan.text[cursor : ent.start]))
            if ent.action == PHI:
                segments.append(Segment(table.replace(ent.text, ent.label), ent.label, i))
            elif ent.action == KEEP:
                segments.append(Segment(ent.text, ent.label, i))
            else:
                segments.append(Segment(ent.text))
            cursor = ent.end
        if cursor < len(plan.text):
            segments.append(Segment(plan.text[cursor:]))
        return Synthesis(segments, dict(table.counts))


@registry.misc("spacy_synthnotes.Surrogate.v1")
def make_surrogate_generator(
    locale: str = "en_US",
    date_shift_min: int = 30,
    date_shift_max: int = 365,
    age_jitter: int = 2,
    categories: Optional[Dict[str, str]] = None,
) -> SurrogateGenerator:
    """Registered factory of the surrogate generator (see `SurrogateGenerator`)."""
    return SurrogateGenerator(
        locale=locale,
        date_shift=(date_shift_min, date_shift_max),
        age_jitter=age_jitter,
        categories=categories,
    )
