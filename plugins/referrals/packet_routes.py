"""``GET /api/v1/referrals/{id}/packet``: the specialist packet as a PDF, rendered from current records."""

from __future__ import annotations

from uuid import UUID

import anyio.to_thread
from litestar import Response, get

from core.http.files import download
from core.plugins.sdk import PluginContext, problem, requires_permission
from plugins.referrals.packet import load_packet, render_packet


@get(
    "/{referral_id:uuid}/packet",
    guards=[requires_permission("referrals:read")],
    summary="The specialist packet as a PDF (to send by hand, e.g. by fax)",
    media_type="application/pdf",
)
async def referral_packet(plugin: PluginContext, referral_id: UUID) -> Response[bytes]:
    """Audited as a read of the patient's data (``referral.packet``, purpose ``download``)."""
    data = await load_packet(plugin, referral_id, purpose="download")
    if data is None:
        raise problem(404, "No such referral")
    organization = await plugin.tx.fetchval("select name from tenants where id = $1", plugin.tenant_id)
    content = await anyio.to_thread.run_sync(render_packet, data, organization)
    return download(content, "application/pdf", f"referral-{referral_id}.pdf")
