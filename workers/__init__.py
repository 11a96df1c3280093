"""Dramatiq workers, middleware, scheduler and notification channels."""
