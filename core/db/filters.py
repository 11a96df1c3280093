"""Building WHERE clauses with numbered asyncpg placeholders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Filter:
    clauses: list[str] = field(default_factory=list)
    args: list[Any] = field(default_factory=list)

    def add(self, template: str, *values: Any) -> None:
        """``template`` uses ``{}`` for each value's placeholder, in order."""
        placeholders = []
        for value in values:
            self.args.append(value)
            placeholders.append(f"${len(self.args)}")
        self.clauses.append(template.format(*placeholders))
