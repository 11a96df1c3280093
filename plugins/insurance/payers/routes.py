"""``/api/v1/insurance/payers`` (the directory) and ``/api/v1/insurance/payer-adapters`` (what can reach them)."""

from __future__ import annotations

from uuid import UUID

import msgspec
from litestar import get, patch, post

from core.plugins.sdk import PluginContext, problem, requires_permission
from plugins.insurance.payers import service
from plugins.insurance.payers.registry import AdapterConfigError, adapter_specs
from plugins.insurance.payers.schemas import AdapterInfo, Payer, PayerCreate, PayerUpdate
from plugins.insurance.permissions import ADMIN, READ

NOT_FOUND = "No such payer"


def _config_problem(exc: AdapterConfigError) -> Exception:
    return problem(422, exc.message, errors=[{"key": exc.field or "adapter_config", "message": exc.message}])


def _duplicate(code: str) -> Exception:
    return problem(409, f"A payer with code {code} is already in the directory", errors=[{"key": "payer_code"}])


@post("/payers", guards=[requires_permission(ADMIN)], summary="Add a payer to the directory")
async def create_payer(plugin: PluginContext, data: PayerCreate) -> Payer:
    try:
        return await service.create_payer(plugin, data)
    except AdapterConfigError as exc:
        raise _config_problem(exc) from None
    except service.DuplicatePayerCodeError:
        raise _duplicate(data.payer_code) from None


@get("/payers", guards=[requires_permission(READ)], summary="The payer directory")
async def list_payers(plugin: PluginContext, include_inactive: bool = False) -> list[Payer]:
    return await service.list_payers(plugin, include_inactive=include_inactive)


@get("/payers/{payer_id:uuid}", guards=[requires_permission(READ)], summary="One payer")
async def read_payer(plugin: PluginContext, payer_id: UUID) -> Payer:
    payer = await service.get_payer(plugin, payer_id)
    if payer is None:
        raise problem(404, NOT_FOUND)
    return payer


@patch("/payers/{payer_id:uuid}", guards=[requires_permission(ADMIN)], summary="Change a payer (or retire it)")
async def update_payer(plugin: PluginContext, payer_id: UUID, data: PayerUpdate) -> Payer:
    try:
        payer = await service.update_payer(plugin, payer_id, data)
    except AdapterConfigError as exc:
        raise _config_problem(exc) from None
    except service.DuplicatePayerCodeError as exc:
        raise _duplicate(str(exc)) from None
    if payer is None:
        raise problem(404, NOT_FOUND)
    return payer


@get("/payer-adapters", guards=[requires_permission(READ)], summary="Installed payer adapters and their settings")
async def list_adapters(plugin: PluginContext) -> list[AdapterInfo]:
    return [
        AdapterInfo(
            name=spec.name,
            title=spec.title,
            description=spec.description,
            config_schema=msgspec.json.schema(spec.settings) if spec.settings else None,
        )
        for spec in sorted(adapter_specs(plugin.plugins).values(), key=lambda s: s.name)
    ]


ROUTES = [create_payer, list_payers, read_payer, update_payer, list_adapters]
