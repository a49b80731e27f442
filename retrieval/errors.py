"""Errors a user can cause and fix; their messages are shown as-is (Romanian UI)."""


class RetrievalError(Exception):
    """Base for every error the CLI and the app turn into a one-line message."""


class CorpusError(RetrievalError):
    """The policy pages are missing, unreadable or malformed."""


class BrokenIndexError(RetrievalError):
    """The index is missing, corrupted or was built differently."""


class StaleIndexError(BrokenIndexError):
    """The index no longer matches the pages or the model."""


class QuestionError(RetrievalError):
    """The question cannot be answered as typed (empty, too long)."""
