"""The pipeline: one feed's refresh, the stages called in order, and where the CPU work runs."""
