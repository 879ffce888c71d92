"""The HTTP API, badges and (later) pages of a scorecard server, as a FastAPI app."""

from api.app import create_app

__all__ = ["create_app"]
