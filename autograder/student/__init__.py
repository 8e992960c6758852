"""Student step: what runs on a student's machine (`grade pack`, `grade check`), reusing the grading step's verdicts."""
