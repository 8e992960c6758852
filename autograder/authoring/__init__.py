"""Authoring: turns the reference solution into student starter code (markers, notebooks, generate)."""

from autograder.authoring.generate import (
    GenerateReport,
    build_release_zip,
    generate_template,
    template_drift,
)
from autograder.authoring.markers import AuthoringError

__all__ = [
    "AuthoringError",
    "GenerateReport",
    "build_release_zip",
    "generate_template",
    "template_drift",
]
