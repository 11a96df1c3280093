"""Insurance: eligibility."""
