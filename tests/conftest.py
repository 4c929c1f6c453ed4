"""Fixtures shared by the project's own test modules."""

from tests.docs_site import built_site

__all__ = ["built_site"]
