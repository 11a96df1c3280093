"""X12 code lists the 271 and 278 readers translate (AAA reasons, coverage levels, time periods)."""

from __future__ import annotations

from core.payers.messages import BenefitKind

REJECT_REASONS: dict[str, str] = {
    "04": "Authorized quantity exceeded",
    "15": "Required application data missing",
    "33": "Input errors",
    "35": "Out of network",
    "41": "Authorization/access restrictions",
    "42": "Unable to respond at current time",
    "43": "Invalid/missing provider identification",
    "44": "Invalid/missing provider name",
    "45": "Invalid/missing provider specialty",
    "46": "Invalid/missing provider phone number",
    "47": "Invalid/missing provider state",
    "48": "Invalid/missing referring provider identification number",
    "49": "Provider is not primary care physician",
    "50": "Provider ineligible for inquiries",
    "51": "Provider not on file",
    "52": "Service dates not within provider plan enrollment",
    "53": "Inquired benefit inconsistent with provider type",
    "54": "Inappropriate product/service ID qualifier",
    "55": "Inappropriate product/service ID",
    "56": "Inappropriate date",
    "57": "Invalid/missing date(s) of service",
    "58": "Invalid/missing date of birth",
    "60": "Date of birth follows date(s) of service",
    "61": "Date of death precedes date(s) of service",
    "62": "Date of service not within allowable inquiry period",
    "63": "Date of service in future",
    "64": "Invalid/missing patient ID",
    "65": "Invalid/missing patient name",
    "66": "Invalid/missing patient gender code",
    "67": "Patient not found",
    "68": "Duplicate patient ID number",
    "69": "Inconsistent with patient's age",
    "70": "Inconsistent with patient's gender",
    "71": "Patient birth date does not match that for the patient on the database",
    "72": "Invalid/missing subscriber/insured ID",
    "73": "Invalid/missing subscriber/insured name",
    "74": "Invalid/missing subscriber/insured gender code",
    "75": "Subscriber/insured not found",
    "76": "Duplicate subscriber/insured ID number",
    "77": "Subscriber found, patient not found",
    "78": "Subscriber/insured not in group/plan identified",
    "79": "Invalid participant identification",
    "80": "No response received - transaction terminated",
    "95": "Patient not eligible",
    "97": "Invalid or missing provider address",
    "98": "Experimental service or procedure",
    "AA": "Authorization number not found",
    "AE": "Requires primary care physician authorization",
    "AF": "Invalid/missing diagnosis code(s)",
    "AG": "Invalid/missing procedure code(s)",
    "AO": "Additional patient information required",
    "CI": "Certification information does not match patient",
    "E8": "Requires medical review",
    "IA": "Invalid authorization number format",
    "MA": "Missing authorization number",
    "T4": "Payer name or identifier missing",
    "T5": "Certification information missing",
}
"""AAA03 (code list 901) -> a message for people."""

FOLLOW_UPS: dict[str, str] = {
    "C": "Please correct and resubmit",
    "N": "Resubmission not allowed",
    "P": "Please resubmit original transaction",
    "R": "Resubmission allowed",
    "S": "Do not resubmit; inquiry initiated to a third party",
    "W": "Please wait 30 days and resubmit",
    "X": "Please wait 10 days and resubmit",
    "Y": "Do not resubmit; we will hand over your request",
}
"""AAA04 follow-up action codes (kept as codes in Rejection.follow_up; here for display)."""

ACTIVE = frozenset({"1", "2", "3", "4", "5"})
INACTIVE = frozenset({"6", "7", "8"})
CANNOT_PROCESS = "V"

BENEFIT_KINDS: dict[str, BenefitKind] = {
    "A": "coinsurance",
    "B": "copay",
    "C": "deductible",
    "G": "out_of_pocket",
    "F": "limitation",
}
"""EB01 -> Benefit.kind (any other EB01 carrying an amount or percent is ``other``)."""

COVERAGE_LEVELS: dict[str, str] = {
    "IND": "individual",
    "FAM": "family",
    "EMP": "employee",
    "ESP": "employee_and_spouse",
    "ECH": "employee_and_children",
    "CHD": "children",
    "DEP": "dependents",
    "SPC": "spouse_and_children",
    "SPO": "spouse",
}
"""EB02 coverage level codes."""

TIME_PERIODS: dict[str, str] = {
    "6": "hour",
    "7": "day",
    "13": "24_hours",
    "21": "years",
    "22": "service_year",
    "23": "calendar_year",
    "24": "year_to_date",
    "25": "contract",
    "26": "episode",
    "27": "visit",
    "28": "outlier",
    "29": "remaining",
    "30": "exceeded",
    "31": "not_exceeded",
    "32": "lifetime",
    "33": "lifetime_remaining",
    "34": "month",
    "35": "week",
    "36": "admission",
}
"""EB06 time period qualifiers."""

IN_NETWORK: dict[str, bool] = {"Y": True, "N": False}
"""EB12; W (not applicable) and U (unknown) mean None."""

LOOPS: dict[str, str] = {
    "20": "payer",
    "21": "provider",
    "22": "subscriber",
    "23": "patient",
    "EV": "service",
    "SS": "service",
}
"""HL03 -> Rejection.loop."""


def reject_message(code: str) -> str:
    return REJECT_REASONS.get(code, f"The payer rejected the request (reason code {code})")
