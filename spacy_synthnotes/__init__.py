"""spacy_synthnotes: synthetic, shareable clinical notes from annotated notes, in spaCy."""

from .augmenter import create_synth_augmenter
from .extensions import install_extensions
from .generators.base import EntitySpec, Generator, NotePlan, Segment, Synthesis
from .generators.entity_conditioned import (
    EntityConditionedGenerator,
    generate_from_entities,
    make_entity_conditioned_generator,
)
from .generators.masked_infill import MaskedInfillGenerator, make_masked_infill_generator
from .generators.surrogate import SurrogateGenerator, make_surrogate_generator
from .phi import SynthPhi, make_synth_phi
from .pipe import SynthNotes, make_synth_notes

__version__ = "0.1.0"

install_extensions()

__all__ = [
    "EntityConditionedGenerator",
    "create_synth_augmenter",
    "EntitySpec",
    "Generator",
    "MaskedInfillGenerator",
    "NotePlan",
    "Segment",
    "Synthesis",
    "SurrogateGenerator",
    "SynthNotes",
    "SynthPhi",
    "generate_from_entities",
    "install_extensions",
    "make_entity_conditioned_generator",
    "make_masked_infill_generator",
    "make_surrogate_generator",
    "make_synth_notes",
    "make_synth_phi",
    "__version__",
]
