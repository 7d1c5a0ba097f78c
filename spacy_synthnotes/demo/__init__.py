"""The embedded demo corpus: seeded, annotated clinical notes with Faker PHI."""

from .notes import CLINICAL_LABELS, LABELS, NOTE_TYPES, PHI_LABELS, DemoCorpusBuilder, build_demo_corpus

__all__ = ["CLINICAL_LABELS", "LABELS", "NOTE_TYPES", "PHI_LABELS", "DemoCorpusBuilder", "build_demo_corpus"]
