"""Course step: a class of submissions (batch), their grades over time (gradebook), rosters and LMS download layouts."""
