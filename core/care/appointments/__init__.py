"""Appointments (FHIR Appointment): booking, rescheduling, the status state machine, conflicts."""
