"""Notifications: e-mail, SMS, voice calls, letters and plugins' channels, with consent and quiet hours.

Request and plugin code calls :func:`core.notifications.service.request_notification`; the
``notifications.send`` actor renders and sends at send time; providers report delivery back
through signed callbacks. See ``docs/notifications.md``.
"""
