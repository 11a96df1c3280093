"""Insurance: coverage, eligibility through payer adapters, prior authorizations, claims, denials and appeals."""
