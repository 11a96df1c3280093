"""Insurance: coverage."""
