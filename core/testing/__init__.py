"""Test support for carecoord and for partners' plugins (see ``core.testing.fixtures``)."""
