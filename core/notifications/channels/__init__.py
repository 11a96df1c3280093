"""Delivery channels: the interface (``base``), core's built-in channels, and the registry."""
