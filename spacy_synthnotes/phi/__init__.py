"""PHI detection: shape patterns, name heuristics, the `synth_phi` component and its evaluation."""

from .component import SynthPhi, make_synth_phi
from .patterns import Match, find_identifiers, find_listed_names, find_names, find_shapes

__all__ = [
    "Match",
    "SynthPhi",
    "find_identifiers",
    "find_listed_names",
    "find_names",
    "find_shapes",
    "make_synth_phi",
]
