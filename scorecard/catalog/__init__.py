"""Catalog sources: where entities come from."""

from scorecard.catalog.files import CatalogListing, read_catalog

__all__ = ["CatalogListing", "read_catalog"]
