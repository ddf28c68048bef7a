"""What can go wrong with call categories, as one small tree.

::

    CategoriesError
    ├── RulesError (also ValueError): the operator's rules file is wrong; the message
    │   names the category and the field, and says what to write instead
    └── CallFinishedError (also RuntimeError): a fact fed to a call that has finished

The rules are the operator's own writing, so their errors are sentences for a person,
never a raw ``tomllib`` or ``KeyError`` trace.
"""

from __future__ import annotations

__all__ = ["CallFinishedError", "CategoriesError", "RulesError"]


class CategoriesError(Exception):
    """The root of this package's errors."""


class RulesError(CategoriesError, ValueError):
    """The rules cannot be used as written.

    Args:
        message: what is wrong and what to write instead, in plain words.
        category: the name of the category it is in (None: the file as a whole).
        field: the field it is about, e.g. ``"condition 2, said.phrases"``.
    """

    def __init__(self, message: str, *, category: str | None = None, field: str | None = None):
        super().__init__(message)
        self.category = category
        self.field = field


class CallFinishedError(CategoriesError, RuntimeError):
    """The call's categories were already settled by ``finish()``."""
