"""patients capability."""
