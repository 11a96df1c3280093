"""The payer-adapter interface: how modules talk to insurers (eligibility, prior authorization).

Lives in core so that any plugin, or a partner's package, can implement an adapter without
importing the insurance module; the insurance module calls the adapters a payer is set up with.
"""
