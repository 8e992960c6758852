"""Command line step: `python -m autograder` runs the `grade` command line (the same as the console script)."""

from autograder.cli import main

main()
