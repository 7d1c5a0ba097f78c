"""Training recipes for the generators (on PHI-replaced text only)."""
