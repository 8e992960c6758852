"""Authoring step: the reference solution becomes student starter code (markers, notebooks, generate) and is audited (mutants, similarity)."""
