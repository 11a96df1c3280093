"""Per-tenant settings: every field has a default, so a tenant that never configured them validates."""

from __future__ import annotations

from typing import Annotated

import msgspec


class ExampleSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    greeting: Annotated[str, msgspec.Meta(min_length=1, max_length=40)] = "hello"
    """Echoed by the notes routes."""
    max_notes: Annotated[int, msgspec.Meta(ge=1, le=100)] = 10
    """How many notes one patient may have."""
