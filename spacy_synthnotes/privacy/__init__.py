"""Privacy evaluators: leakage, memorization, distance to closest record, membership inference,
canary exposure and re-identification risk, with a JSON + HTML report (`evaluate-privacy`)."""

from .canaries import Canary, load_canaries, make_canaries
from .dcr import distance_to_closest_record
from .evaluate import DEFAULT_THRESHOLDS, PrivacyInputs, evaluate_privacy
from .leakage import phi_leakage
from .memorization import memorization
from .mia import model_membership_inference, synthetic_membership_inference
from .reid import reidentification_risk
from .scoring import load_scorer

__all__ = [
    "Canary",
    "DEFAULT_THRESHOLDS",
    "PrivacyInputs",
    "distance_to_closest_record",
    "evaluate_privacy",
    "load_canaries",
    "load_scorer",
    "make_canaries",
    "memorization",
    "model_membership_inference",
    "phi_leakage",
    "reidentification_risk",
    "synthetic_membership_inference",
]
