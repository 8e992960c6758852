"""tinyops: the package of the tiny two-question course the engine tests host (tests/tiny_course)."""
