"""Utility measures of synthetic notes: entity preservation, fidelity to the source, diversity."""

from .text import distinct_n, entity_preservation, fidelity, self_bleu

__all__ = ["distinct_n", "entity_preservation", "fidelity", "self_bleu"]
