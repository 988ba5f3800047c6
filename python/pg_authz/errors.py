"""The database's refusals as Django exceptions: 42501 → ``PermissionDenied``, 22023 →
``ValueError`` (or a form error with :func:`form_errors`)."""

from contextlib import contextmanager

from django.core.exceptions import PermissionDenied
from django.db import DatabaseError

DENIED = "42501"
INVALID_ARGUMENT = "22023"


def sqlstate(exception):
    """The SQLSTATE of a database error (Django's wrapper or the driver's), else None."""
    for candidate in (exception, getattr(exception, "__cause__", None)):
        code = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if code:
            return code
    return None


def _message(exception):
    cause = getattr(exception, "__cause__", None) or exception
    diag = getattr(cause, "diag", None)
    primary = getattr(diag, "message_primary", None)
    return primary or str(cause).strip()


def translate(exception):
    """``PermissionDenied`` or ``ValueError`` for pg_authz's refusals; None for anything else."""
    if not isinstance(exception, DatabaseError):
        return None
    code = sqlstate(exception)
    if code == DENIED:
        return PermissionDenied(_message(exception))
    if code == INVALID_ARGUMENT:
        return ValueError(_message(exception))
    return None


@contextmanager
def translated():
    """Raise pg_authz's refusals inside the block as ``PermissionDenied`` / ``ValueError``."""
    try:
        yield
    except DatabaseError as exc:
        better = translate(exc)
        if better is None:
            raise
        raise better from exc


@contextmanager
def form_errors(form):
    """Inside the block, a 22023 becomes a non-field error of ``form`` (and 42501
    ``PermissionDenied``); check ``form.errors`` afterwards."""
    try:
        with translated():
            yield
    except ValueError as exc:
        form.add_error(None, str(exc))
