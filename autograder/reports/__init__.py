"""Reports step: one module per output format (LMS exports, Gradescope JSON, plain CSV, HTML pages)."""
