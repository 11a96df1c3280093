"""Database access: the piccolo engine, tenant transactions, roles and RLS."""
