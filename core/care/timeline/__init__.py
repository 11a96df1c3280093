"""The patient chart: notes and outside events, and the merged timeline."""
