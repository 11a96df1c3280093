"""The insurance module's permissions (granted to roles in ``hooks.register_permissions``)."""

READ = "insurance:read"
"""Read coverage, eligibility answers, authorizations, claims and appeals."""
WRITE = "insurance:write"
"""Record and change them, run eligibility checks, submit authorizations."""
ADMIN = "insurance:admin"
"""Keep the payer directory and its adapter configuration."""
