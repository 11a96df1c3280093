"""Background jobs: the context an actor runs in, errors, effects, dead letters.

The broker, worker and scheduler processes live in ``workers/``; this package is
what services and plugins in the API process need to know about jobs.
"""
