"""Sample insurance records for the demo tenant (``make dev``): a demo payer and each patient's coverage.

The coverages' eligibility checks are queued like any other, so the first thing the dev worker
does is answer them through the demo adapter: one active, one inactive, one the payer cannot find.
"""

from __future__ import annotations

from datetime import date

from core.plugins.sdk import PluginContext
from plugins.insurance.coverage.schemas import CoverageCreate
from plugins.insurance.coverage.service import create_coverage
from plugins.insurance.payers.schemas import PayerCreate
from plugins.insurance.payers.service import create_payer

MEMBER_IDS = ("DEMO0000001", "INACTIVE0002", "NOTFOUND0003")


async def seed(ctx: PluginContext) -> None:
    payer = await create_payer(
        ctx, PayerCreate(name="Demo Health Plan", payer_code="DEMO01", adapter="demo", phone="+1 555 0100")
    )
    patients = await ctx.tx.fetch("select id from patients where mrn like 'DEMO-%' order by mrn")
    for patient, member_id in zip(patients, MEMBER_IDS, strict=False):
        await create_coverage(
            ctx,
            CoverageCreate(
                patient_id=patient["id"],
                payer_id=payer.id,
                member_id=member_id,
                group_number="DEMO-GRP",
                plan_name="Demo Gold PPO",
                effective_from=date(date.today().year, 1, 1),
            ),
        )
