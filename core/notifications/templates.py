"""Message templates: Jinja2 in a sandbox, core's defaults, and the rules a saved template must pass.

Templates are written by tenant admins, so they run in jinja2's ``ImmutableSandboxedEnvironment``
(no attribute starting with ``_``, no internals of functions or generators, no mutation) with
``StrictUndefined`` (a misspelt variable is an error, not an empty gap in a patient's message).
Saving checks the syntax and refuses unsafe attribute access up front (422); whatever still
fails at send time fails that notification for good (``PermanentError``), never retried.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import ChainableUndefined, StrictUndefined, TemplateError, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import (
    UNSAFE_ASYNC_GENERATOR_ATTRIBUTES,
    UNSAFE_COROUTINE_ATTRIBUTES,
    UNSAFE_FUNCTION_ATTRIBUTES,
    UNSAFE_GENERATOR_ATTRIBUTES,
    UNSAFE_METHOD_ATTRIBUTES,
    ImmutableSandboxedEnvironment,
)

MAX_SOURCE = 20_000
MAX_OUTPUT = 20_000
FALLBACK_LANGUAGE = "en"
UNSAFE_NAMES = frozenset(
    {"mro", "format", "format_map"}
    | UNSAFE_FUNCTION_ATTRIBUTES
    | UNSAFE_METHOD_ATTRIBUTES
    | UNSAFE_GENERATOR_ATTRIBUTES
    | UNSAFE_COROUTINE_ATTRIBUTES
    | UNSAFE_ASYNC_GENERATOR_ATTRIBUTES
)
FORBIDDEN_TAGS = (nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)


class MessageTemplateError(ValueError):
    """A template that cannot be saved or rendered; the message says where and why."""


def _environment(undefined: type[StrictUndefined] | type[ChainableUndefined]) -> ImmutableSandboxedEnvironment:
    return ImmutableSandboxedEnvironment(
        undefined=undefined, autoescape=False, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False
    )


STRICT = _environment(StrictUndefined)
LENIENT = _environment(ChainableUndefined)


@dataclass(frozen=True)
class TemplateSource:
    subject: str
    body: str


BUILTIN_TEMPLATES: dict[tuple[str, str, str], TemplateSource] = {
    ("appointment_reminder", "any", "en"): TemplateSource(
        subject="Appointment reminder from {{ organization.name }}",
        body=(
            "Hello {{ patient.given_name }},\n\n"
            "This is a reminder of your appointment on {{ appointment.when }}"
            "{% if appointment.location is defined %} at {{ appointment.location }}{% endif %}.\n"
            "{% if appointment.instructions is defined %}{{ appointment.instructions }}\n{% endif %}"
            "If you cannot come, please let us know as soon as possible.\n\n"
            "{{ organization.name }}"
        ),
    ),
    ("appointment_reminder", "any", "es"): TemplateSource(
        subject="Recordatorio de cita de {{ organization.name }}",
        body=(
            "Hola {{ patient.given_name }}:\n\n"
            "Le recordamos su cita el {{ appointment.when }}"
            "{% if appointment.location is defined %} en {{ appointment.location }}{% endif %}.\n"
            "{% if appointment.instructions is defined %}{{ appointment.instructions }}\n{% endif %}"
            "Si no puede asistir, avísenos lo antes posible.\n\n"
            "{{ organization.name }}"
        ),
    ),
    ("appointment_reminder", "sms", "en"): TemplateSource(
        subject="",
        body=(
            "{{ organization.name }}: reminder of your appointment on {{ appointment.when }}"
            "{% if appointment.location is defined %} at {{ appointment.location }}{% endif %}."
        ),
    ),
    ("appointment_reminder", "sms", "es"): TemplateSource(
        subject="",
        body=(
            "{{ organization.name }}: le recordamos su cita el {{ appointment.when }}"
            "{% if appointment.location is defined %} en {{ appointment.location }}{% endif %}."
        ),
    ),
    ("generic", "any", "en"): TemplateSource(
        subject="{{ subject | default('A message from ' ~ organization.name) }}",
        body="Hello {{ patient.given_name }},\n\n{{ text }}\n\n{{ organization.name }}",
    ),
    ("generic", "any", "es"): TemplateSource(
        subject="{{ subject | default('Un mensaje de ' ~ organization.name) }}",
        body="Hola {{ patient.given_name }}:\n\n{{ text }}\n\n{{ organization.name }}",
    ),
    # To a care provider about a patient (``recipient=`` of request_notification): no patient greeting.
    ("provider_message", "any", "en"): TemplateSource(
        subject="{{ subject | default('A message from ' ~ organization.name) }}",
        body="{{ text }}\n\n{{ organization.name }}",
    ),
    # A built report to a staff user (``core.reports``, ``email_to``): the file is attached when it fits.
    ("report_ready", "any", "en"): TemplateSource(
        subject="Report: {{ report.title }}",
        body=(
            "Hello {{ recipient.name }},\n\n"
            'the report "{{ report.title }}"{% if report.period %} for {{ report.period }}{% endif %} is ready '
            "({{ report.rows }} rows, {{ report.format | upper }}).\n"
            "{% if report.attached %}The file is attached.{% else %}The file is too large to attach: download it "
            "in carecoord (report run {{ report.run_id }}) until {{ report.expires_at }}.{% endif %}\n\n"
            "{{ organization.name }}"
        ),
    ),
    # Account e-mails to a (pending) user, with a sealed single-use link (core/notifications/account_mail.py).
    # Their names contain a dot, so organizations cannot override them nor request them for patients.
    ("account.verify_email", "any", "en"): TemplateSource(
        subject="Confirm your e-mail address for {{ organization.name }}",
        body=(
            "Hello {{ recipient.name }},\n\n"
            "{{ organization.name }} was just registered on carecoord with this address. Open this link to "
            "confirm it and activate your account:\n\n"
            "{{ link }}\n\n"
            "The link works once, until {{ expires_at }}. Your organization asks for a second factor: at your "
            "first login you will set up an authenticator app.\n\n"
            "If you did not sign up, ignore this message; no account will be activated."
        ),
    ),
    ("account.invitation", "any", "en"): TemplateSource(
        subject="{{ invited_by }} invited you to {{ organization.name }} on carecoord",
        body=(
            "Hello {{ recipient.name }},\n\n"
            "{{ invited_by }} invited you to join {{ organization.name }} on carecoord as {{ role }}. "
            "Open this link to choose your password and accept:\n\n"
            "{{ link }}\n\n"
            "The link works once, until {{ expires_at }}. If you did not expect this invitation, ignore it."
        ),
    ),
    ("generic", "sms", "en"): TemplateSource(subject="", body="{{ organization.name }}: {{ text }}"),
    ("generic", "sms", "es"): TemplateSource(subject="", body="{{ organization.name }}: {{ text }}"),
    # The acknowledgement of an opt-out (``request_notification(..., transactional=True)`` only).
    ("opt_out_confirmation", "sms", "en"): TemplateSource(
        subject="",
        body="You will receive no more messages from {{ organization.name }} on this number. "
        "Reply START to resubscribe.",
    ),
    ("opt_out_confirmation", "sms", "es"): TemplateSource(
        subject="",
        body="No recibirá más mensajes de {{ organization.name }} en este número. "
        "Responda START para volver a suscribirse.",
    ),
    ("opt_out_confirmation", "any", "en"): TemplateSource(
        subject="Unsubscribed from {{ organization.name }}",
        body="You will receive no more messages from {{ organization.name }} at this address. "
        "Reply START to resubscribe.",
    ),
    ("opt_out_confirmation", "any", "es"): TemplateSource(
        subject="Baja de {{ organization.name }}",
        body="No recibirá más mensajes de {{ organization.name }} en esta dirección. "
        "Responda START para volver a suscribirse.",
    ),
}
BUILTIN_NAMES = frozenset(name for name, _, _ in BUILTIN_TEMPLATES)


def normalise_language(tag: str) -> str:
    """BCP 47 tags compare case-insensitively; keep one spelling: ``ES-mx`` -> ``es-MX``."""
    primary, *rest = tag.split("-")
    return "-".join([primary.lower(), *(part.upper() if len(part) == 2 else part.title() for part in rest)])


def language_chain(language: str | None) -> list[str]:
    """``es-MX`` -> ``["es-MX", "es", "en"]``: the tags to try, most specific first."""
    chain: list[str] = []
    if language:
        parts = normalise_language(language).split("-")
        chain += ["-".join(parts[:i]) for i in range(len(parts), 0, -1)]
    chain.append(FALLBACK_LANGUAGE)
    return list(dict.fromkeys(chain))


def _unsafe_nodes(tree: nodes.Template) -> list[str]:
    found: list[str] = []
    for node in tree.find_all((nodes.Getattr, nodes.Getitem, *FORBIDDEN_TAGS)):
        if isinstance(node, FORBIDDEN_TAGS):
            found.append(f"{type(node).__name__.lower()} is not available in message templates")
            continue
        name = node.attr if isinstance(node, nodes.Getattr) else None
        if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
            name = node.arg.value
        if name is not None and (name.startswith("_") or name in UNSAFE_NAMES):
            found.append(f"line {node.lineno}: access to {name!r} is not allowed")
    return found


def check_template(source: str, field: str) -> None:
    """Raise :class:`MessageTemplateError` unless ``source`` is a safe, well-formed template."""
    if len(source) > MAX_SOURCE:
        raise MessageTemplateError(f"{field}: longer than {MAX_SOURCE} characters")
    try:
        tree = STRICT.parse(source)
    except TemplateError as exc:
        line = getattr(exc, "lineno", None)
        where = f" (line {line})" if line else ""
        raise MessageTemplateError(f"{field}: {exc.message or 'syntax error'}{where}") from None
    problems = _unsafe_nodes(tree)
    if problems:
        raise MessageTemplateError(f"{field}: " + "; ".join(problems))
    try:  # a trial run with forgiving variables finds what the sandbox refuses at run time
        LENIENT.from_string(source).render()
    except SecurityError as exc:
        raise MessageTemplateError(f"{field}: {exc}") from None
    except Exception:  # noqa: BLE001, S110 - anything else depends on the real variables
        pass


@lru_cache(maxsize=512)
def _compiled(source: str) -> Any:
    return STRICT.from_string(source)


def render(source: TemplateSource, variables: dict[str, Any]) -> tuple[str, str]:
    """``(subject, body)``; :class:`MessageTemplateError` on any error (missing variable, sandbox refusal...)."""
    try:
        subject = _compiled(source.subject).render(variables) if source.subject else ""
        body = _compiled(source.body).render(variables)
    except SecurityError as exc:
        raise MessageTemplateError(f"the template tried something not allowed: {exc}") from None
    except TemplateError as exc:
        raise MessageTemplateError(f"the template could not be rendered: {exc}") from None
    except (TypeError, ValueError, ArithmeticError, LookupError) as exc:
        raise MessageTemplateError(f"the template could not be rendered: {type(exc).__name__}: {exc}") from None
    if len(body) > MAX_OUTPUT or len(subject) > 500:
        raise MessageTemplateError("the rendered message is too long")
    return " ".join(subject.split()), body.strip()
