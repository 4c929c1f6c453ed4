"""A Griffe extension: show Sphinx roles in docstrings as inline code on the website.

The package's docstrings use Sphinx roles (``:class:`DuplicateRuleId```), which
mkdocstrings would print literally. Rewriting them when the API reference is
built keeps the docstrings as they are for IDEs and ``help()``.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(?:class|meth|func|attr|data|mod|exc|obj):`(~?)([^`]+)`")


def _plain(match: re.Match[str]) -> str:
    # `~a.b.Name` shows only `Name`, as Sphinx would.
    target = match[2].rsplit(".", 1)[-1] if match[1] else match[2]
    return f"`{target}`"


class SphinxRolesAsCode(griffe.Extension):
    """Replace every Sphinx role in a docstring with its target as inline code."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = _ROLE.sub(_plain, obj.docstring.value)
