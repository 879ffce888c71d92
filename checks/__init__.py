"""The built-in check library, one module per family.

Every module is listed here once; the registry takes each `@check` defined in them.
"""

from checks import annotations, fields, github, metadata, ownership, repository

BUILTIN_MODULES = (ownership, metadata, annotations, fields, repository, github)
