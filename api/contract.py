"""The OpenAPI document (`/api/v1/openapi.json`): FastAPI's description of the API
routes, and the badge routes, which are plain Starlette routes that FastAPI does not see.

The pages are for people and stay out of it, like `/docs` itself.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from api.routes import badges
from api.schemas import BadgeEndpointOut, ErrorOut, InvalidRequestOut


def install(app: FastAPI, *, private_reads: bool, has_token: bool) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            document["paths"].update(badges.openapi_paths(private_reads=private_reads))
            if not has_token:
                _without_authentication(document)
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            for model in (BadgeEndpointOut, ErrorOut, InvalidRequestOut):
                schemas.setdefault(
                    model.__name__,
                    model.model_json_schema(ref_template="#/components/schemas/{model}"),
                )
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _without_authentication(document: dict[str, Any]) -> None:
    """A server without an API token authenticates no one: what needs the token answers
    403 whatever a request sends, so no operation asks for a bearer token or answers 401."""
    for item in document["paths"].values():
        for operation in item.values():
            if operation.pop("security", None) is not None:
                operation["responses"].pop("401", None)
    document.get("components", {}).pop("securitySchemes", None)
