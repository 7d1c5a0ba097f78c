"""Synthetic-note generators, registered in `spacy.registry.misc`."""
