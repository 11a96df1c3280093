"""Format checks shared by the insurance records (identifiers, codes)."""

from __future__ import annotations

import re

CPT = re.compile(r"^([0-9]{5}|[0-9]{4}[FTU])\Z")
"""CPT: five digits (Category I) or four digits and F (II), T (III) or U (PLA)."""
HCPCS = re.compile(r"^[A-V][0-9]{4}\Z")
"""HCPCS Level II: a letter and four digits."""
ICD10 = re.compile(r"^[A-TV-Z][0-9][0-9A-Z](\.?[0-9A-Z]{1,4})?\Z")
MEMBER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{1,79}\Z")
GROUP_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 -]{0,49}\Z")
PAYER_CODE = re.compile(r"^[A-Za-z0-9]{2,80}\Z")
CARC = re.compile(r"^((CO|PR|OA|PI|CR)-)?([A-Z]?[0-9]{1,3})\Z")
"""Claim adjustment reason code, optionally with its group code (``CO-50``)."""
RARC = re.compile(r"^(M|MA|N)[0-9]{1,3}\Z")
"""Remittance advice remark code (``N115``, ``MA130``)."""


def check_npi(npi: str) -> None:
    """Raise ValueError unless ``npi`` is ten digits with a valid Luhn check digit (prefix 80840)."""
    if not re.fullmatch(r"[0-9]{10}", npi):
        raise ValueError("an NPI is 10 digits")
    digits = [int(d) for d in "80840" + npi]
    total = 0
    for index, digit in enumerate(reversed(digits)):
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    if total % 10:
        raise ValueError(f"{npi} is not a valid NPI (check digit)")


def service_code_system(code: str) -> str | None:
    """``CPT`` or ``HCPCS`` for a well-formed procedure code, else None."""
    if CPT.match(code):
        return "CPT"
    if HCPCS.match(code):
        return "HCPCS"
    return None
