"""tenancy capability."""
