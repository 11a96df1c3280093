"""X12 5010 codec: 270/271 eligibility and 278 services review, as pure functions.

No I/O here: an adapter posts what ``build_270``/``build_278`` return and hands the payer's answer
to ``parse_271``/``parse_278``, which raise :class:`X12SyntaxError` (a ``PayerResponseError``) when
the answer cannot be read.
"""

from plugins.insurance.x12.authorization import build_278, parse_278
from plugins.insurance.x12.eligibility import build_270, parse_271
from plugins.insurance.x12.segments import X12SyntaxError

__all__ = ["X12SyntaxError", "build_270", "build_278", "parse_271", "parse_278"]
