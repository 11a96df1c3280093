"""The background processes: Dramatiq workers and the scheduler (outbox relay + periodic jobs).

``carecoord worker`` runs ``dramatiq workers.worker``; ``carecoord scheduler`` runs
:mod:`workers.scheduler`. Both read the same settings as the API.
"""
