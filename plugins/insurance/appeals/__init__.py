"""Insurance: appeals."""
