"""Insurance: claims."""
