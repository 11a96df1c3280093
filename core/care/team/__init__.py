"""Care team members per patient, and the caller's caseload."""
