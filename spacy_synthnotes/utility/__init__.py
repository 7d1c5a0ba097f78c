"""Utility of synthetic notes: train-on-synthetic/test-on-real NER, and text measures."""

from .evaluate import UtilityInputs, evaluate_utility, load_utility_inputs
from .text import distinct_n, entity_preservation, fidelity, fluency, self_bleu

__all__ = [
    "UtilityInputs",
    "distinct_n",
    "entity_preservation",
    "evaluate_utility",
    "fidelity",
    "fluency",
    "load_utility_inputs",
    "self_bleu",
]
