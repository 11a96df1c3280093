"""Reply parsing: what a patient meant by an SMS or e-mail answer to a reminder. Pure, English and Spanish.

:func:`parse_reply` returns a :class:`Reply` whose ``kind`` the plugin acts on: ``confirm`` (set the
confirmed flag), ``cancel`` (cancel with the text as reason), ``reschedule`` (a task), ``stop``
(opt out of that channel, acknowledge once), ``start`` (opt back in), ``help`` (the help auto-reply)
or ``unknown`` (a task for a coordinator). Matching ignores case, accents, punctuation and spacing,
and only reads the patient's own words: quoted e-mail history (``>`` lines, everything from
"On ... wrote:" / "El ... escribió:" or an "Original Message" header) and signatures (after ``-- ``,
"Sent from my iPhone") are dropped first.

Decisions (a wrong guess is not equally bad in every direction, so the rules lean the safe way):

* **STOP wins.** Opt-out is a legal right (TCPA: revocation "by any reasonable means"; the carriers'
  universal keywords STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, OPTOUT, REVOKE, plus REMOVE and
  Canadian ARRET). A message that asks to stop ("STOP please", "Stop.", "stop texting me", "no more
  messages", "no me manden más", "BAJA", "PARAR", "ALTO", "DETENER", "cancelar suscripción") is a
  ``stop`` whatever else it says. Words that are ordinary language elsewhere ("end", "quit", "alto",
  "baja", "para", "remove") count only alone or with politeness ("END please"); "stop", "unsubscribe",
  "opt out" and "revoke" count anywhere, except "stop by/in/over" and after a negation ("don't stop").
* **CANCEL on SMS.** A text that is exactly the word CANCEL is an opt-out keyword for US carriers and
  the messaging providers (Twilio, Telnyx, AWS, Braze block the number and answer with the opt-out
  text), and one of the seven words the FCC names for revoking consent by text. The patient may also
  mean the appointment, but cancelling a clinical appointment on a word the network has already treated
  as an opt-out is the costlier mistake. So on SMS a bare CANCEL is ``stop`` with
  ``alternative="cancel"``: the plugin records the opt-out (it has already happened at the carrier) and
  opens a task to ask about the appointment. Anything more explicit, "cancel my appointment", "cancel
  appt", "CANCEL please", "cancelar", is an appointment ``cancel``. On e-mail CANCEL alone is ``cancel``.
  Templates should therefore say "reply C to confirm, R to reschedule", never "reply CANCEL".
* **NO alone is unknown**, not cancel (likewise "N", "nope", "no gracias"). Cancelling frees the slot
  and cannot be undone by the patient, while "no" answers whatever the patient thinks was asked; a
  coordinator asks. An explicit reason is a cancel: "no, I can't make it", "no puedo ir".
* **Precedence** when a message says several things: stop > start > reschedule > cancel > confirm >
  help. "Yes, but can we move it?" is a reschedule; "I can't make it, can we do Friday" a reschedule
  (the coordinator moves it, nothing is cancelled on a guess); "yes, cancel it" a cancel.
* **START** (START, UNSTOP, SUBSCRIBE, ALTA...) opts back in; a bare YES (or SÍ) does too, but only
  from a patient who opted out of that channel (``opted_out=True``), as the carriers treat YES.
  Otherwise YES confirms. The carriers only honour their own English keywords: whether an SMS opt-in
  took effect is the provider's to say, not this parser's.
* **HELP** only when the message is just that (HELP, INFO, AYUDA): a question that mentions help
  ("can you help me with the prep?") goes to a person as ``unknown``.
* Single letters (C, R, Y, K) count only as the whole message ("C u there" is not a confirm). A verb
  shortly after a negation in the same clause does not count ("please don't cancel", "no need to
  reschedule", "if I cancel, is there a fee?"); a comma ends the clause ("No, cancel it" cancels).

``language`` is a guess from the words used ("en", "es", or None when nothing tells: "OK", "STOP").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

import msgspec

__all__ = ["Channel", "Language", "Reply", "ReplyKind", "clean_reply_text", "parse_reply"]

ReplyKind = Literal["confirm", "cancel", "reschedule", "stop", "start", "help", "unknown"]
Language = Literal["en", "es"]
Channel = Literal["sms", "email"]

_PRECEDENCE: Final[tuple[ReplyKind, ...]] = ("stop", "start", "reschedule", "cancel", "confirm", "help")


class Reply(msgspec.Struct, frozen=True, kw_only=True):
    """What the patient meant."""

    kind: ReplyKind
    language: Language | None
    text: str
    """The patient's own words: quoted history and signature removed, whitespace collapsed, case kept."""
    normalized: str
    """``text`` lower-cased, without accents or punctuation: what the rules matched."""
    matched: str | None = None
    """The keyword or phrase that decided ``kind`` (None for ``unknown``)."""
    alternative: ReplyKind | None = None
    """Another reading a coordinator should check (a bare SMS ``CANCEL``: ``stop``, maybe ``cancel``)."""


# -- cleaning -----------------------------------------------------------------------------------

_WROTE = re.compile(r"^(on\b.*\bwrote|el\b.*\bescribi[oó])\s*:\s*$", re.IGNORECASE)
_WROTE_START = re.compile(r"^(on|el)\s", re.IGNORECASE)
_ORIGINAL = re.compile(
    r"^(-{2,}\s*(original message|mensaje original|forwarded message|mensaje reenviado)\s*-{2,}|_{10,})\s*$",
    re.IGNORECASE,
)
_HEADER = re.compile(r"^(from|de)\s*:\s*\S", re.IGNORECASE)
_HEADER_NEXT = re.compile(r"^(sent|date|to|subject|enviado|fecha|para|asunto)\s*:", re.IGNORECASE)
_MOBILE_SIGNATURE = re.compile(
    r"^(sent from my \w+|sent from (outlook|yahoo mail|mail for windows)|get outlook for \w+|"
    r"enviado desde mi \w+)",
    re.IGNORECASE,
)


def clean_reply_text(text: str) -> str:
    """The patient's own words: drops quoted history and signatures, collapses whitespace, keeps case."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    for index, line in enumerate(lines):
        stripped = line.strip()
        if line.rstrip() == "--" or line.startswith("-- "):
            break  # signature delimiter ("-- " on its own line; "-- Ana" also seen)
        if _WROTE.match(stripped) or _MOBILE_SIGNATURE.match(stripped) or _ORIGINAL.match(stripped):
            break
        following = [candidate.strip() for candidate in lines[index + 1 : index + 4]]
        if _WROTE_START.match(stripped) and following and _WROTE.match(f"{stripped} {following[0]}"):
            break  # "On Mon, Jan 6, 2025 at 9:00 AM Clinic <x@y>\nwrote:" wrapped by the mail client
        if _HEADER.match(stripped) and any(_HEADER_NEXT.match(candidate) for candidate in following):
            break  # Outlook: "From: ... / Sent: ... / To: ..."
        if stripped.startswith(">"):
            continue
        kept.append(stripped)
    return " ".join(" ".join(kept).split())


_EMOJI_OK: Final = re.compile("[\U0001f44d\u2705\u2714\u2611\U0001f44c]")  # thumbs up, check marks, OK hand
_SKIN_TONE: Final = re.compile("[\U0001f3fb-\U0001f3ff\ufe0f]")
_CLAUSE_BREAK: Final = re.compile(r"[.,;:!?¿¡()\[\]\n\"“”]|\s-\s|\s—\s")
_NON_WORD: Final = re.compile(r"[^0-9a-z]+")


def _fold(text: str) -> str:
    """Lower-case ASCII: accents dropped ("Sí" -> "si"), apostrophes removed ("can't" -> "cant")."""
    text = _SKIN_TONE.sub("", text)
    text = _EMOJI_OK.sub(" ok ", text)
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(char for char in decomposed if not unicodedata.combining(char))
    return re.sub("['`\u2019\u00b4]", "", text)  # ' ` and typographic apostrophes


def _clauses(text: str) -> list[str]:
    """Folded clauses, each a space-joined run of words; punctuation separates clauses."""
    clauses = (" ".join(_NON_WORD.sub(" ", part).split()) for part in _CLAUSE_BREAK.split(_fold(text)))
    return [clause for clause in clauses if clause]


# -- vocabulary ---------------------------------------------------------------------------------


def _words(text: str, *, extra: Sequence[str] = ()) -> frozenset[str]:
    """A vocabulary: the space-separated words of ``text`` plus multi-word ``extra`` entries."""
    return frozenset([*text.split(), *extra])


_FILLER: Final = _words("please pls plz thanks thank you thx ty now hi hello hey hola por favor porfa gracias ok okay")
"""Politeness around a keyword: "STOP please", "Yes thank you", "AYUDA por favor"."""
_STOP_FILLER: Final = _FILLER | _words(
    "it all me them this these those text texts texting message messages messaging msgs sending sms"
    " reminders reminder emails email mails mensajes mensaje recordatorios de los las ya"
)
_NEGATORS: Final = _words("no not dont never nunca wont cant cannot without sin neednt if")
"""Before a bare verb in the same clause, within three words: "don't cancel", "no need to reschedule", "if I cancel"."""
_STOP_NEGATORS: Final = _words("dont not never")
"""Fewer for stop: "no stop" is still a stop; "don't stop" is not."""
_NEGATION_WINDOW: Final = 3

_ALONE: Final[dict[ReplyKind, frozenset[str]]] = {
    "stop": frozenset(
        [
            "stop",
            "stopall",
            "stop all",
            "unsubscribe",
            "end",
            "quit",
            "optout",
            "opt out",
            "revoke",
            "remove",
            "arret",
            "baja",
            "parar",
            "para",
            "pare",
            "paren",
            "alto",
            "detener",
            "basta",
            "desuscribir",
            "desuscribirme",
            "no mas",
        ]
    ),
    "start": _words(
        "start unstop subscribe resubscribe optin alta reanudar iniciar suscribir suscribirme",
        extra=["opt in", "darme de alta", "dar de alta"],
    ),
    "help": frozenset(["help", "info", "ayuda", "informacion", "help me", "ayudame", "need help", "necesito ayuda"]),
    "reschedule": _words("r reschedule change move postpone reprogramar reagendar cambiar cambio mover posponer"),
    "cancel": _words("cancelar cancela cancelo cancelen cancelled canceled anular"),
    "confirm": _words(
        "c y yes yeah yea yep yup k kk sure confirm confirmed confirming si confirmo confirmar"
        " confirmado confirmada claro vale perfecto perfect great",
        extra=[
            "ok",
            "okay",
            "de acuerdo",
            "sounds good",
            "will do",
            "see you",
            "i confirm",
            "yes confirm",
            "si confirmo",
        ],
    ),
}
"""Whole-message keywords, matched after dropping politeness (and, for stop, "it/me/texts...")."""

_LEADING_CONFIRM: Final = _words("yes yeah yep yup ok okay sure confirm confirmed si claro vale perfecto perfect great")
"""A message starting with one of these confirms, unless something later outranks it ("yes, but can we move")."""


@dataclass(frozen=True, slots=True)
class _Phrase:
    kind: ReplyKind
    pattern: re.Pattern[str]
    negators: frozenset[str] = frozenset()
    """Any of these shortly before it in the same clause cancels the match ("don't cancel")."""


def _phrases(kind: ReplyKind, patterns: Sequence[str], *, negators: frozenset[str] = frozenset()) -> list[_Phrase]:
    return [_Phrase(kind, re.compile(rf"\b(?:{pattern})\b"), negators) for pattern in patterns]


_MESSAGES = r"(?:text|texts|text messages|messages|msgs|reminders|emails|e mails|calls|sms)"
_PHRASES: Final[tuple[_Phrase, ...]] = (
    *_phrases(
        "stop",
        [r"stop(?!\s+(?:by|in|over|at|on)\b)", r"stopall", r"unsubscribe\w*", r"opt\s?out", r"revoke"],
        negators=_STOP_NEGATORS,
    ),
    *_phrases(
        "stop",
        [rf"(?:stop|quit|cease|end) (?:texting|messaging|sending|contacting|calling|emailing|the {_MESSAGES})"],
        negators=_STOP_NEGATORS,
    ),
    *_phrases(
        "stop",
        [
            rf"(?:dont|do not|please dont|never) (?:text|message|contact|email|call|send) (?:me|us|{_MESSAGES})",
            rf"no more {_MESSAGES}",
            rf"(?:i|we) dont want (?:any more |these |your |any )?{_MESSAGES}",
            r"(?:remove|take) (?:me|us|my number) (?:off|from)",
            r"cancel(?:ar)? (?:la |mi |my |the )?(?:suscripcion|subscription)",
            r"(?:dar|darme|darse|de) de baja",
            r"(?:deja|dejar|dejen|dejes|paren|para|pare|parar) de (?:enviar|mandar|escribir|llamar|textear)\w*",
            r"no (?:me |nos )?(?:envien|manden|mandes|envies|escriban|escribas|llamen|mande|envie) mas",
            r"no quiero (?:mas |recibir )?(?:mensajes|recordatorios|textos|correos)",
            r"ya no (?:me )?(?:envien|manden|mandes|escriban)",
        ],
    ),
    *_phrases(
        "reschedule",
        [
            r"reschedul\w*",
            r"postpon\w*",
            r"change",
            r"move",
            r"repro?gram\w*",
            r"reagend\w*",
            r"cambi\w*",
            r"mover\w*",
            r"pospon\w*",
            r"aplaz\w*",
        ],
        negators=_NEGATORS,
    ),
    *_phrases(
        "reschedule",
        [
            r"(?:different|another|other|new|later|earlier) (?:time|day|date|appointment|appt)",
            r"can (?:we|i|you) (?:do|make it|go) (?:another|a different|a later|an earlier)",
            r"push (?:it|this|that|the appointment|my appointment) (?:back|out)",
            r"otro dia|otra (?:hora|fecha|cita|dia|semana)|otro horario|mas tarde|mas temprano",
            r"(?:can|could) (?:we|i) (?:do|come|make it|switch|try) (?:it |in )?(?:on |at |the |next |this )?"
            r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|next|later|earlier|morning|afternoon)",
            r"instead",
            r"(?:puede|podria|podemos|puedo|podriamos) (?:ser|ir|venir|hacerlo|pasarla) (?:el|otro|otra|mas|en)",
        ],
    ),
    *_phrases("cancel", [r"cancel(?:led|ed|ling|ing|a|ar|arla|arlo|o|e|en|amos)?", r"anula\w*"], negators=_NEGATORS),
    *_phrases(
        "cancel",
        [
            r"(?:cant|cannot|can not|wont|will not|unable to|not able to|wont be able to|will not be able to)"
            r" (?:make it|come|attend|go|be there|make the appointment|make my appointment|keep the appointment)",
            r"(?:not|wont be|will not be) (?:coming|going|attending)",
            r"not going to (?:make it|come|be there)",
            r"no (?:puedo|podre|podemos|podra|puede|voy a poder|vamos a poder)"
            r" (?:ir|asistir|llegar|venir|acudir|estar|hacerlo)",
            r"no (?:ire|iremos|asistire|asistiremos|llegare|llegaremos)",
            r"no (?:voy|vamos|podre|podremos)(?! a (?!ir|poder|asistir|llegar|venir|estar|acudir)\w)",
        ],
    ),
    *_phrases("confirm", [r"confirm(?:ed|ing|o|ar|ado|ada|amos|ada)?"], negators=_NEGATORS),
    *_phrases(
        "confirm",
        [
            r"(?:i ?ll|i will|we ?ll|we will|will) (?:be there|see you|come|attend)",
            r"see you (?:then|there|tomorrow|soon|on)",
            r"(?:alli|ahi|alla) (?:estare|estaremos|nos vemos)|(?:estare|estaremos) (?:alli|ahi|alla)",
            r"nos vemos|asistire|(?:si|alli|ahi) voy",
        ],
    ),
)

_EN_WORDS: Final = _words(
    """yes yeah yep yup sure confirm confirmed i ill im will be there see you then the my we can cant cannot
    make it come attend appointment appt please thanks thank cancel reschedule change move different another
    time day date later tomorrow today help unsubscribe quit end start unstop remove dont do not wont able to
    need want any more messages texts text texting sending going coming would like friday monday sorry sick
    but and is of on at for this that wrote"""
)
_ES_WORDS: Final = _words(
    """si claro vale acuerdo confirmo confirmar confirmado confirmada cancelar cancela cancelo reprogramar
    reagendar cambiar cambio la el los las una un cita hora fecha dia otro otra puedo podemos podre voy ir
    asistir llegar venir por favor gracias ayuda informacion baja alta parar alto detener suscripcion
    mensajes mas manden envien quiero recibir estare alli ahi nos vemos manana hoy lunes viernes pero
    que es con mi su lo siento enfermo enferma escribio dejen enviarme mandarme"""
)


# -- parsing ------------------------------------------------------------------------------------


def parse_reply(text: str, *, channel: Channel = "sms", opted_out: bool = False) -> Reply:
    """What the patient meant by ``text``, received on ``channel`` (the module states the rules).

    ``opted_out`` says the sender has opted out of that channel, which turns a bare YES into ``start``.
    """
    cleaned = clean_reply_text(text)
    clauses = _clauses(cleaned)
    normalized = " ".join(clauses)
    language = _guess_language(cleaned, normalized)

    def reply(kind: ReplyKind, matched: str | None, alternative: ReplyKind | None = None) -> Reply:
        return Reply(
            kind=kind,
            language=language,
            text=cleaned,
            normalized=normalized,
            matched=matched,
            alternative=alternative,
        )

    if channel == "sms" and normalized == "cancel":
        return reply("stop", "cancel", alternative="cancel")
    if opted_out and _core(normalized, _FILLER) in {"yes", "si"}:
        return reply("start", "yes")

    found: dict[ReplyKind, str] = {}
    for kind, words in _ALONE.items():
        core = _core(normalized, _STOP_FILLER if kind == "stop" else _FILLER)
        if core in words:
            found.setdefault(kind, core)
    for clause in clauses:
        for phrase in _PHRASES:
            matched = _match(phrase, clause)
            if matched is not None:
                found.setdefault(phrase.kind, matched)
    first = clauses[0].split()[0] if clauses else ""
    if first in _LEADING_CONFIRM:
        found.setdefault("confirm", first)

    for kind in _PRECEDENCE:
        if kind in found:
            return reply(kind, found[kind])
    return reply("unknown", None)


def _core(normalized: str, filler: frozenset[str]) -> str:
    """The message without politeness words; the message itself when it is nothing but politeness."""
    words = [word for word in normalized.split() if word not in filler]
    return " ".join(words) if words else normalized


def _match(phrase: _Phrase, clause: str) -> str | None:
    for found in phrase.pattern.finditer(clause):
        if phrase.negators:
            before = clause[: found.start()].split()[-_NEGATION_WINDOW:]
            if phrase.negators.intersection(before):
                continue
        return found.group(0)
    return None


def _guess_language(cleaned: str, normalized: str) -> Language | None:
    words = normalized.split()
    english = sum(word in _EN_WORDS for word in words)
    spanish = sum(word in _ES_WORDS for word in words)
    if re.search(r"[ñáéíóúü¿¡]", cleaned.casefold()):
        spanish += 2
    if english > spanish:
        return "en"
    if spanish > english:
        return "es"
    return None
