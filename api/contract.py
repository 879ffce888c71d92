"""The OpenAPI document (`/api/v1/openapi.json`): FastAPI's description of the API
routes, and the badge routes, which are plain Starlette routes that FastAPI does not see.

The pages are for people and stay out of it, like `/docs` itself.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from api.routes import badges
from api.schemas import BadgeEndpointOut, ErrorOut, InvalidRequestOut


def install(app: FastAPI, *, private_reads: bool) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            document["paths"].update(badges.openapi_paths(private_reads=private_reads))
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            for model in (BadgeEndpointOut, ErrorOut, InvalidRequestOut):
                schemas.setdefault(
                    model.__name__,
                    model.model_json_schema(ref_template="#/components/schemas/{model}"),
                )
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
