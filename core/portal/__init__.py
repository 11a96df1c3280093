"""The web portal's kernel: session login, CSRF, security headers, layout, and the API client pages use.

Pages are server-rendered (Jinja) with htmx for partial updates. A page never touches business rules
itself: it calls the JSON API in-process as the logged-in user (:mod:`core.portal.api`), so the portal
and the API share one set of validations, permissions, tenant isolation and audit events.
"""
