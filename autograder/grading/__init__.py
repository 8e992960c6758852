"""Grading step: one zip through intake, sandboxed runs, verdicts and scores to a typed result."""
