"""Reply parsing: English and Spanish, keywords and free text, SMS and e-mail with quoted history.

Pure: no database. Each row is what a patient really sends back to a reminder and what the plugin must
do with it; the module docstring of ``plugins.reminders.replies`` explains the decisions these rows pin
down (STOP wins, a bare SMS CANCEL is an opt-out, NO alone goes to a person).
"""

from __future__ import annotations

import pytest

from plugins.reminders.replies import Reply, clean_reply_text, parse_reply

# id-less rows: (text, kind, language). Language None means "nothing in the words tells".
SMS_CASES: list[tuple[str, str, str | None]] = [
    # -- confirm ------------------------------------------------------------------------------------
    ("C", "confirm", None),
    ("c", "confirm", None),
    ("Y", "confirm", None),
    ("YES", "confirm", "en"),
    ("yes.", "confirm", "en"),
    ("  Yes!!  ", "confirm", "en"),
    ("Yes I'll be there", "confirm", "en"),
    ("Yes I\u2019ll be there, thanks", "confirm", "en"),
    ("yep see you then", "confirm", "en"),
    ("OK", "confirm", None),
    ("ok thanks", "confirm", "en"),
    ("Confirm", "confirm", "en"),
    ("CONFIRMED", "confirm", "en"),
    ("I confirm my appointment", "confirm", "en"),
    ("I will be there", "confirm", "en"),
    ("Sure", "confirm", "en"),
    ("\U0001f44d", "confirm", None),
    ("\U0001f44d\U0001f3fd", "confirm", None),
    ("SI", "confirm", "es"),
    ("Sí", "confirm", "es"),
    ("sí, confirmo", "confirm", "es"),
    ("CONFIRMO", "confirm", "es"),
    ("Confirmar", "confirm", "es"),
    ("Claro que sí, allí estaré", "confirm", "es"),
    ("ahí nos vemos, gracias", "confirm", "es"),
    ("Sí asistiré", "confirm", "es"),
    ("De acuerdo", "confirm", "es"),
    ("Please don't cancel, I'll be there", "confirm", "en"),
    # -- cancel -------------------------------------------------------------------------------------
    ("no, I can't make it", "cancel", "en"),
    ("I cannot make it tomorrow", "cancel", "en"),
    ("Sorry I won't be able to come", "cancel", "en"),
    ("Cancel my appointment please", "cancel", "en"),
    ("cancel appt", "cancel", "en"),
    ("CANCEL please", "cancel", "en"),
    ("please cancel it, I'm sick", "cancel", "en"),
    ("Yes, cancel it", "cancel", "en"),
    ("we are not coming", "cancel", "en"),
    ("CANCELAR", "cancel", "es"),
    ("Cancelar la cita por favor", "cancel", "es"),
    ("no puedo ir", "cancel", "es"),
    ("No podré asistir, lo siento", "cancel", "es"),
    ("no voy a poder ir mañana", "cancel", "es"),
    ("No voy", "cancel", "es"),
    ("Mi mamá está enferma, no va a poder llegar... no puede ir", "cancel", "es"),
    # -- reschedule ---------------------------------------------------------------------------------
    ("R", "reschedule", None),
    ("RESCHEDULE", "reschedule", "en"),
    ("Can we move it to Friday?", "reschedule", "en"),
    ("can we move", "reschedule", "en"),
    ("I need to change the time", "reschedule", "en"),
    ("Change", "reschedule", "en"),
    ("Yes, but can we do a different day?", "reschedule", "en"),
    ("I can't make it, can we reschedule?", "reschedule", "en"),
    ("is there a later time available", "reschedule", "en"),
    ("REPROGRAMAR", "reschedule", "es"),
    ("Cambiar", "reschedule", "es"),
    ("¿podemos cambiar la cita?", "reschedule", "es"),
    ("otro día por favor", "reschedule", "es"),
    ("¿Se puede otra hora? no puedo ir a las 9", "reschedule", "es"),
    ("quisiera reagendar", "reschedule", "es"),
    # -- stop ---------------------------------------------------------------------------------------
    ("STOP", "stop", None),
    ("Stop.", "stop", None),
    ("stop", "stop", None),
    ("STOP please", "stop", "en"),
    ("please stop", "stop", "en"),
    ("Stop texting me", "stop", "en"),
    ("STOPALL", "stop", None),
    ("stop all", "stop", None),
    ("UNSUBSCRIBE", "stop", "en"),
    ("END", "stop", "en"),
    ("quit", "stop", "en"),
    ("OPTOUT", "stop", None),
    ("opt-out", "stop", None),
    ("REVOKE", "stop", None),
    ("no more texts please", "stop", "en"),
    ("Please remove me from your list", "stop", "en"),
    ("don't text me anymore", "stop", "en"),
    ("Yes I'll be there. Also stop sending these", "stop", "en"),
    ("BAJA", "stop", "es"),
    ("Parar", "stop", "es"),
    ("ALTO", "stop", "es"),
    ("DETENER", "stop", "es"),
    ("CANCELAR SUSCRIPCION", "stop", "es"),
    ("Cancelar suscripción", "stop", "es"),
    ("No me manden más mensajes", "stop", "es"),
    ("dejen de enviarme mensajes", "stop", "es"),
    ("quiero darme de baja", "stop", "es"),
    # -- start and help -----------------------------------------------------------------------------
    ("START", "start", "en"),
    ("unstop", "start", "en"),
    ("HELP", "help", "en"),
    ("help please", "help", "en"),
    ("INFO", "help", None),
    ("AYUDA", "help", "es"),
    ("Ayuda por favor", "help", "es"),
    # -- mixed and tricky ------------------------------------------------------------------------------
    ("Yes STOP", "stop", "en"),
    ("no stop", "stop", None),
    ("END.", "stop", "en"),
    ("opt out", "stop", None),
    ("ALTO por favor", "stop", "es"),
    ("No más", "stop", "es"),
    ("Not coming, please cancel", "cancel", "en"),
    ("I will not be there", "cancel", "en"),
    ("I won't be there", "cancel", "en"),
    ("Can't come tomorrow, sick", "cancel", "en"),
    ("por favor cancelen mi cita", "cancel", "es"),
    ("Quiero cancelar mi cita", "cancel", "es"),
    ("I'll be there but can we change the time", "reschedule", "en"),
    ("Can we do Tuesday instead?", "reschedule", "en"),
    ("could I come in the afternoon", "reschedule", "en"),
    ("no puedo ir el lunes, ¿puede ser el martes?", "reschedule", "es"),
    ("reprogramar por favor", "reschedule", "es"),
    ("¿Puedo cambiar a la tarde?", "reschedule", "es"),
    ("No cancelar, sí voy", "confirm", "es"),
    ("Confirmado \u2705", "confirm", "es"),
    ("Yes!!! \U0001f60a", "confirm", "en"),
    ("Don't cancel", "unknown", "en"),
    ("no quiero cancelar", "unknown", "es"),
    ("If I cancel is there a fee?", "unknown", "en"),
    # -- unknown: goes to a coordinator --------------------------------------------------------------
    ("NO", "unknown", None),
    ("No.", "unknown", None),
    ("no gracias", "unknown", "es"),
    ("nope", "unknown", None),
    ("N", "unknown", None),
    ("", "unknown", None),
    ("   ", "unknown", None),
    ("???", "unknown", None),
    ("Who is this?", "unknown", "en"),
    ("Can you help me with the prep instructions?", "unknown", "en"),
    ("What is the cancellation policy", "unknown", "en"),
    ("I'll stop by the front desk first", "unknown", "en"),
    ("C u there", "unknown", "en"),
    ("At the end of the hall?", "unknown", "en"),
    ("Presión alta otra vez", "unknown", "es"),  # "high blood pressure again"
    ("Please don't stop the reminders", "unknown", "en"),
    ("No need to reschedule", "unknown", "en"),
    ("¿Dónde es la cita?", "unknown", "es"),
]


@pytest.mark.parametrize(("text", "kind", "language"), SMS_CASES, ids=[repr(row[0])[:40] for row in SMS_CASES])
def test_sms_replies(text: str, kind: str, language: str | None) -> None:
    reply = parse_reply(text)
    assert (reply.kind, reply.language) == (kind, language), reply
    assert (reply.matched is None) == (kind == "unknown")


def test_there_are_enough_cases() -> None:
    assert len(SMS_CASES) >= 100


# -- the CANCEL conflict ------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["CANCEL", "cancel", "Cancel.", " CANCEL! "])
def test_bare_cancel_on_sms_is_an_opt_out_that_a_coordinator_checks(text: str) -> None:
    reply = parse_reply(text, channel="sms")
    assert reply.kind == "stop"
    assert reply.alternative == "cancel"


@pytest.mark.parametrize("text", ["CANCEL", "Cancel.", "cancel please", "Please cancel my appointment"])
def test_cancel_by_email_cancels_the_appointment(text: str) -> None:
    reply = parse_reply(text, channel="email")
    assert (reply.kind, reply.alternative) == ("cancel", None)


def test_more_than_the_bare_word_cancels_the_appointment_on_sms_too() -> None:
    assert parse_reply("cancel my appointment").kind == "cancel"
    assert parse_reply("cancel my appointment").alternative is None


def test_stop_by_email_opts_out_of_email() -> None:
    assert parse_reply("STOP", channel="email").kind == "stop"
    assert parse_reply("Unsubscribe me from these emails", channel="email").kind == "stop"


# -- YES after STOP -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "opted_out", "kind"),
    [
        ("YES", False, "confirm"),
        ("YES", True, "start"),
        ("yes please", True, "start"),
        ("START", False, "start"),
        ("START", True, "start"),
        ("UNSTOP", True, "start"),
        ("Yes I'll be there", True, "confirm"),  # not the carrier keyword: an answer to an older reminder
        ("STOP", True, "stop"),
    ],
)
def test_yes_resubscribes_only_an_opted_out_sender(text: str, opted_out: bool, kind: str) -> None:
    assert parse_reply(text, opted_out=opted_out).kind == kind


# -- e-mail: quoted history and signatures ------------------------------------------------------

REMINDER = (
    "Reminder: you have an appointment on Monday at 10:00.\n"
    "Reply C to confirm, R to reschedule, STOP to opt out. Cancel? Call us."
)
EMAILS: list[tuple[str, str, str]] = [
    (
        "gmail: On ... wrote:",
        f"Yes, I'll be there.\n\nOn Mon, Jan 6, 2025 at 9:00 AM Clinic <clinic@example.org> wrote:\n{REMINDER}",
        "confirm",
    ),
    (
        "gmail wrapped header",
        f"Yes\n\nOn Mon, Jan 6, 2025 at 9:00 AM Care Clinic Scheduling\n<clinic@example.org> wrote:\n\n{REMINDER}",
        "confirm",
    ),
    ("quoted > lines", "Can we move it to Tuesday?\n> Reply C to confirm\n> STOP to opt out\n", "reschedule"),
    (
        "spanish client",
        f"Sí, confirmo\n\nEl lun, 6 ene 2025 a las 9:00, Clínica (<clinica@example.org>) escribió:\n{REMINDER}",
        "confirm",
    ),
    (
        "outlook header block",
        "I can't make it, sorry\n\nFrom: Clinic <clinic@example.org>\nSent: Monday, January 6, 2025 9:00 AM\n"
        f"To: Ana\nSubject: Reminder\n\n{REMINDER}",
        "cancel",
    ),
    ("original message", f"cancel please\n-----Original Message-----\n{REMINDER}", "cancel"),
    ("signature", "Confirmed\n-- \nAna Pérez\nStop & Shop manager", "confirm"),
    ("mobile signature", "ok\n\nSent from my iPhone", "confirm"),
    ("spanish mobile signature", "No puedo ir\n\nEnviado desde mi iPhone", "cancel"),
    ("only quoted history", "".join(f"> {line}\n" for line in REMINDER.splitlines()), "unknown"),
    ("windows line endings", "Yes\r\n\r\nOn Mon, Jan 6 Clinic wrote:\r\n> STOP to opt out", "confirm"),
]


@pytest.mark.parametrize(("text", "kind"), [(t, k) for _, t, k in EMAILS], ids=[i for i, _, _ in EMAILS])
def test_email_replies_ignore_quoted_history_and_signatures(text: str, kind: str) -> None:
    assert parse_reply(text, channel="email").kind == kind


def test_cleaned_text_keeps_the_patients_words_and_case() -> None:
    text = "  Can we move it\n to  Tuesday?\n\n> Reply C to confirm\nOn Mon, Jan 6 Clinic <c@x.org> wrote:\n> hi"
    assert clean_reply_text(text) == "Can we move it to Tuesday?"
    reply = parse_reply(text, channel="email")
    assert reply.text == "Can we move it to Tuesday?"
    assert reply.normalized == "can we move it to tuesday"


def test_a_line_starting_with_on_is_not_a_header_unless_it_says_wrote() -> None:
    assert clean_reply_text("On second thought\nplease cancel") == "On second thought please cancel"
    assert clean_reply_text("El martes no puedo\nEl miércoles sí") == "El martes no puedo El miércoles sí"


def test_reply_fields() -> None:
    reply = parse_reply("¡Sí, CONFIRMO!")
    assert reply == Reply(
        kind="confirm",
        language="es",
        text="¡Sí, CONFIRMO!",
        normalized="si confirmo",
        matched="si confirmo",
        alternative=None,
    )


@pytest.mark.parametrize(
    ("text", "matched"),
    [
        ("no puedo ir", "no puedo ir"),
        ("Stop texting me", "stop"),
        ("¿podemos cambiar la cita?", "cambiar"),
        ("I can't make it, can we reschedule?", "reschedule"),
    ],
)
def test_matched_names_what_decided(text: str, matched: str) -> None:
    assert parse_reply(text).matched == matched
