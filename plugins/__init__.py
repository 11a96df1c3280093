"""First-party plugins (referrals, insurance, reminders, metrics), each shaped like a partner package."""
