"""What an appointment reminder says, in the patient's language and on the patient's clock. Pure.

English and Spanish; any other language gets English (core's templates fall back the same way).
Replies are asked for as ``C`` and ``R``, never ``CANCEL`` (on SMS that word is a carrier opt-out:
see ``replies.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo

TextLanguage = Literal["en", "es"]

_EN_DAYS: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_EN_MONTHS: Final = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_ES_DAYS: Final = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")
_ES_MONTHS: Final = (
    "enero", "febrero", "marzo", "abril", "mayo", "junio",
    "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre",
)  # fmt: skip


def text_language(language: str | None) -> TextLanguage:
    """``es-MX`` -> ``es``; anything without texts of its own -> ``en``."""
    primary = (language or "en").split("-")[0].lower()
    return "es" if primary == "es" else "en"


@dataclass(frozen=True)
class AppointmentFacts:
    start: datetime
    patient_zone: ZoneInfo
    appointment_zone: ZoneInfo
    location: str | None
    practitioner: str | None
    rescheduled: bool


def format_date(local: datetime, language: TextLanguage) -> str:
    if language == "es":
        return f"{_ES_DAYS[local.weekday()]} {local.day} de {_ES_MONTHS[local.month - 1]}"
    return f"{_EN_DAYS[local.weekday()]}, {_EN_MONTHS[local.month - 1]} {local.day}"


def format_time(local: datetime, language: TextLanguage, *, zone_name: bool) -> str:
    if language == "es":
        text = f"{local.hour:02d}:{local.minute:02d}"
    else:
        hour = local.hour % 12 or 12
        text = f"{hour}:{local.minute:02d} {'AM' if local.hour < 12 else 'PM'}"
    return f"{text} {local.tzname()}" if zone_name else text


def appointment_message(
    facts: AppointmentFacts, language: str | None, *, documents: list[str] | None = None
) -> dict[str, Any]:
    """The notification context: ``subject`` and ``text`` (for core's ``generic`` template) and the parts."""
    lang = text_language(language)
    local = facts.start.astimezone(facts.patient_zone)
    # The zone is named when the patient lives elsewhere than the appointment is held (telehealth, travel).
    other_zone = local.utcoffset() != facts.start.astimezone(facts.appointment_zone).utcoffset()
    date, time = format_date(local, lang), format_time(local, lang, zone_name=other_zone)
    if lang == "es":
        when = f"el {date} a las {time}"
        subject = "Cita reprogramada" if facts.rescheduled else "Recordatorio de cita"
        opening = "Su cita ha sido reprogramada: ahora es" if facts.rescheduled else "Le recordamos su cita"
        who = f" con {facts.practitioner}" if facts.practitioner else ""
        where = f" en {facts.location}" if facts.location else ""
        reply = "Responda C para confirmar o R para reprogramar."
    else:
        when = f"on {date} at {time}"
        subject = "Appointment rescheduled" if facts.rescheduled else "Appointment reminder"
        opening = (
            "Your appointment has been rescheduled: it is now" if facts.rescheduled else "Reminder: your appointment"
        )
        who = f" with {facts.practitioner}" if facts.practitioner else ""
        where = f" at {facts.location}" if facts.location else ""
        reply = "Reply C to confirm or R to reschedule."
    # "rescheduled: it is now on Monday... with Dr X" / "your appointment with Dr X on Monday..."
    text = f"{opening} {when}{who}{where}. {reply}" if facts.rescheduled else f"{opening}{who} {when}{where}. {reply}"
    if documents:
        bring = "Traiga" if lang == "es" else "Please bring"
        text = f"{text} {bring}: {', '.join(documents)}."
    appointment: dict[str, Any] = {
        "when": f"{date}, {time}",
        "date": date,
        "time": time,
        "rescheduled": facts.rescheduled,
        "reply": reply,
    }
    if facts.location:
        appointment["location"] = facts.location
    if facts.practitioner:
        appointment["practitioner"] = facts.practitioner
    if documents:
        appointment["documents"] = list(documents)
    return {"subject": subject, "text": text, "appointment": appointment}


def referral_followup_message(specialty: str | None, language: str | None) -> dict[str, Any]:
    """The nudge to book with the specialist a referral went to."""
    lang = text_language(language)
    if lang == "es":
        who = f"un especialista de {specialty}" if specialty else "un especialista"
        return {
            "subject": "Pida su cita con el especialista",
            "text": f"Le remitimos a {who}. Si aún no tiene cita, llámeles o llámenos para programarla.",
        }
    who = f"a {specialty} specialist" if specialty else "a specialist"
    return {
        "subject": "Please book your specialist appointment",
        "text": f"You were referred to {who}. If you have not booked that appointment yet, "
        "please call them, or call us for help.",
    }


def screening_message(name: str, due_local: datetime, language: str | None, *, on_due_date: bool) -> dict[str, Any]:
    """A preventive screening coming due (``on_due_date``: it is due today)."""
    lang = text_language(language)
    date = format_date(due_local, lang)
    if lang == "es":
        subject = "Recordatorio de control preventivo"
        text = (
            f"Su {name} vence hoy. Llámenos para programarlo si aún no lo ha hecho."
            if on_due_date
            else f"Le recordamos que su {name} vence el {date}. Llámenos para programarlo."
        )
    else:
        subject = "Screening reminder"
        text = (
            f"Your {name} is due today. Please call us to book it if you have not yet."
            if on_due_date
            else f"Reminder: your {name} is due on {date}. Please call us to book it."
        )
    return {"subject": subject, "text": text, "screening": {"name": name, "due": date}}
