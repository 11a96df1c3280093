"""Reminders: multi-touch appointment reminders with quiet hours, consent and reply handling."""
