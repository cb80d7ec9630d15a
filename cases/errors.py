"""Errors of the case database: one root, `CasesError`, and one class per thing that can go wrong.

Messages name the thing and its state (``Case 12345674 is closed: cannot move to assigned``).
The API maps these to HTTP status codes in one place; the controller maps them to prompts.
"""

from __future__ import annotations


class CasesError(Exception):
    """Root of every error raised by `cases`."""


class DatabaseError(CasesError):
    """The database could not be reached or migrated."""


class NotFoundError(CasesError):
    """A record asked for by key does not exist."""


class CaseNotFoundError(NotFoundError):
    """No case with that id or reference number."""


class CallNotFoundError(NotFoundError):
    """No call record with that Uniqueid."""


class UserNotFoundError(NotFoundError):
    """No user with that name or id."""


class ValidationError(CasesError):
    """Input that breaks a domain rule (unknown category, ward outside the province...)."""


class InvalidReferenceError(ValidationError):
    """A case reference number that is malformed or fails its check digit."""


class UnknownPlaceError(ValidationError):
    """A ward/commune that is not a current administrative unit of the configured province."""


class WorkflowError(CasesError):
    """A status change the workflow does not allow from the case's current status."""


class PermissionDeniedError(CasesError):
    """The acting user's role may not do this."""


class DossierError(CasesError):
    """Root of the e-service directory errors."""


class InvalidDossierCodeError(DossierError, ValidationError):
    """What the caller gave cannot be a dossier code (wrong length, letters): not 'not found'."""


class DossierNotFoundError(DossierError, NotFoundError):
    """A well-formed dossier code that the directory does not know."""


class DirectoryUnavailableError(DossierError):
    """The dossier directory (provincial one-stop system) did not answer usefully."""


class ImportFileError(DossierError):
    """A dossier import file that cannot be read at all (unknown format, missing columns)."""


class SyncError(CasesError):
    """The IOC database refused or could not take a record."""


class ConfigurationError(CasesError):
    """The province configuration file is missing or malformed."""
