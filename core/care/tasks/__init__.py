"""Tasks (FHIR Task) and the worklist."""
