"""Command line step: intro2ai autograder: sandboxed grading and assignment distribution for numpy homework."""

__version__ = "0.1.0"
