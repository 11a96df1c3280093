"""Transactional outbox: messages written in the sender's transaction, relayed after commit."""
