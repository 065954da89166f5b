"""Models that the demos, tests and benchmarks share: the trebuchet and the camera pipeline."""
