"""Insurance: payers."""
