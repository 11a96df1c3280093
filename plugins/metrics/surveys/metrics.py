"""The survey KPIs (category "Patient experience"): facts straight from ``metric_surveys``.

Score metrics count an answer at its answer time; the response rate counts a survey at the time it
was sent (answered later or not). ``positive`` is a score at or above the organization's
``surveys.positive_at_least`` setting *now*, so a changed threshold applies to every period alike.
"""

from __future__ import annotations

from core.metrics.spec import Dimension
from core.plugins.sdk import MetricSpec
from plugins.metrics.settings import SurveySettings

CATEGORY = "Patient experience"
DIMENSIONS: tuple[Dimension, ...] = ("coordinator", "team", "provider")
THRESHOLD = (
    "coalesce((select (m.settings -> 'surveys' ->> 'positive_at_least')::int from tenant_modules m "
    f"where m.module = 'metrics'), {SurveySettings().positive_at_least})"
)
_ANSWERED = (
    "select s.answered_at as at, {value}::double precision as value, s.coordinator_id, s.provider_id, "
    "null::timestamptz as until from metric_surveys s where s.answered_at >= $1 and s.answered_at < $2"
)

CSAT_FACTS = _ANSWERED.format(value=f"(s.score >= {THRESHOLD})::int")
AVG_SCORE_FACTS = _ANSWERED.format(value="s.score")
CLARITY_FACTS = _ANSWERED.format(value=f"(s.clarity >= {THRESHOLD})::int")
RESPONSE_RATE_FACTS = (
    "select s.sent_at as at, (s.answered_at is not null)::int::double precision as value, s.coordinator_id, "
    "s.provider_id, null::timestamptz as until from metric_surveys s where s.sent_at >= $1 and s.sent_at < $2"
)

SURVEY_METRICS = [
    MetricSpec(
        name="patient_satisfaction_csat_pct",
        description="Share of survey answers with an overall score at or above the positive threshold (CSAT)",
        unit="%",
        facts=CSAT_FACTS,
        aggregate="pct",
        dimensions=DIMENSIONS,
        target=90.0,
        better="higher",
        category=CATEGORY,
    ),
    MetricSpec(
        name="patient_satisfaction_avg_score",
        description="Mean overall satisfaction score of survey answers (1-5)",
        unit="score",
        facts=AVG_SCORE_FACTS,
        aggregate="mean",
        dimensions=DIMENSIONS,
        target=None,
        better="higher",
        category=CATEGORY,
    ),
    MetricSpec(
        name="communication_clarity_positive_pct",
        description="Share of survey answers rating communication clarity at or above the positive threshold",
        unit="%",
        facts=CLARITY_FACTS,
        aggregate="pct",
        dimensions=DIMENSIONS,
        target=90.0,
        better="higher",
        category=CATEGORY,
    ),
    MetricSpec(
        name="survey_response_rate_pct",
        description="Share of surveys sent in the period that the patient answered",
        unit="%",
        facts=RESPONSE_RATE_FACTS,
        aggregate="pct",
        dimensions=DIMENSIONS,
        target=None,
        better="higher",
        category=CATEGORY,
    ),
]
