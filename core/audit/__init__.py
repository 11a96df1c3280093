"""audit capability."""
