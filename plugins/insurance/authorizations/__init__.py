"""Insurance: authorizations."""
