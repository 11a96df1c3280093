"""Event times the metrics read, kept from the transition log on the referral and on each transition.

The log stays the truth: these columns are a function of it, rewritten from it in the transaction
of every move (``refresh``), so each metric's facts are one index range scan instead of a walk
through every referral's history:

* ``referrals.first_sent_at``, ``first_scheduled_at``, ``first_seen_at``: the first move to each;
* ``referrals.ended_at``: the move to a final status (``closed``, ``cancelled``, ``replaced``);
* ``referral_transitions.left_at``: when the referral made its next move (the end of that stay).
"""

from __future__ import annotations

from uuid import UUID

from core.plugins.sdk import PluginContext


def _referrals(where: str) -> str:
    return (
        "update referrals r set first_sent_at = l.sent, first_scheduled_at = l.scheduled, first_seen_at = l.seen, "
        "ended_at = l.ended from (select tenant_id, referral_id, "
        "min(occurred_at) filter (where to_status = 'sent') as sent, "
        "min(occurred_at) filter (where to_status = 'scheduled') as scheduled, "
        "min(occurred_at) filter (where to_status = 'seen') as seen, "
        "min(occurred_at) filter (where to_status in ('closed', 'cancelled', 'replaced')) as ended "
        f"from referral_transitions where {where} group by tenant_id, referral_id) l "
        "where r.tenant_id = l.tenant_id and r.id = l.referral_id and (r.first_sent_at, r.first_scheduled_at, "
        "r.first_seen_at, r.ended_at) is distinct from (l.sent, l.scheduled, l.seen, l.ended)"
    )


def _stays(where: str) -> str:
    return (
        "update referral_transitions t set left_at = n.next_at from (select tenant_id, id, "
        "lead(occurred_at) over (partition by tenant_id, referral_id order by occurred_at, id) as next_at "
        f"from referral_transitions where {where}) n "
        "where t.tenant_id = n.tenant_id and t.id = n.id and t.left_at is distinct from n.next_at"
    )


ONE = "referral_id = any($1::uuid[])"
REFRESH = (_referrals(ONE), _stays(ONE))
"""Rewrite the columns of the referrals ``$1`` (uuid[]) from their logs."""
REFRESH_ALL = (_referrals("true"), _stays("true"))
"""Rewrite them for every referral the connection sees (the migration's backfill, a bulk load)."""


async def refresh(ctx: PluginContext, referral_ids: list[UUID]) -> None:
    """Rewrite the log-derived columns of these referrals (call after writing their transitions)."""
    for statement in REFRESH:
        await ctx.tx.execute(statement, referral_ids)
