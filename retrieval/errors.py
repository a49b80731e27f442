"""Errors a user can cause and fix; their messages are shown as-is (Romanian UI)."""

import errno


class RetrievalError(Exception):
    """Base for every error the CLI and the app turn into a one-line message."""


class CorpusError(RetrievalError):
    """The policy pages are missing, unreadable or malformed."""


class BrokenIndexError(RetrievalError):
    """The index is missing, corrupted or was built differently."""

    def __init__(self, reason: str, hint: str = "Rulați: python -m retrieval build") -> None:
        super().__init__(f"{reason}. {hint}" if hint else reason)
        self.reason = reason  # the short why, for "rebuilding because …" notices


class StaleIndexError(BrokenIndexError):
    """The index no longer matches the pages or the model."""


class QuestionError(RetrievalError):
    """The question cannot be answered as typed (empty, too long)."""


class IndexWriteError(RetrievalError):
    """The index cannot be written: the disk is full or the folder is read-only. Nothing half-written stays."""

    def __init__(self, index_dir: object, exc: BaseException) -> None:
        super().__init__(f"Nu pot scrie indexul în {index_dir}: {os_reason(exc)}")


def os_reason(exc: BaseException) -> str:
    """A file-system fault in Romanian, in a few words (the errno decides, the text is a fallback)."""
    code = getattr(exc, "errno", None)
    text = str(getattr(exc, "strerror", None) or exc)
    if code in (errno.ENOSPC, errno.EDQUOT) or "No space left" in text:
        return "discul este plin"
    if code == errno.EFBIG or "File too large" in text:
        return "fișierul depășește limita de mărime permisă"
    if code in (errno.EACCES, errno.EPERM) or "Permission denied" in text:
        return "nu am drept de scriere"
    if code == errno.EROFS or "Read-only file system" in text:
        return "sistemul de fișiere este doar pentru citire"
    return text
