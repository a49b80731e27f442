"""Every error the API answers: a stable `code` for programs, a Romanian `message` for people.

    {"error": {"code": "rate_limited", "message": "Prea multe întrebări într-un minut…"}}

Codes never change meaning; new ones may be added. No error body repeats what
the client sent (a question is personal data) except a policy name.
"""
from __future__ import annotations

from starlette.responses import JSONResponse

MESSAGES: dict[str, tuple[int, str]] = {
    "invalid_json": (400, "Corpul cererii trebuie să fie un obiect JSON, de exemplu "
                          '{"question": "Vindeți datele mele?"}.'),
    "invalid_request": (422, "Cererea nu are forma așteptată."),
    "invalid_question": (422, "Întrebarea nu poate fi folosită așa cum este."),
    "unknown_policy": (404, "Nu există nicio politică cu acest nume."),
    "not_found": (404, "Adresa nu există în acest API."),
    "method_not_allowed": (405, "Metoda HTTP nu este permisă la această adresă."),
    "unsupported_media_type": (415, "Trimiteți cererea ca JSON (Content-Type: application/json)."),
    "body_too_large": (413, "Cererea este prea mare."),
    "rate_limited": (429, "Prea multe întrebări într-un timp scurt. Încercați din nou peste câteva secunde."),
    "not_ready": (503, "Asistentul nu este pregătit: indexul politicii nu a putut fi încărcat."),
    "internal_error": (500, "A apărut o eroare neașteptată. Încercați din nou."),
}


class ApiError(Exception):
    def __init__(self, code: str, message: str | None = None, headers: dict[str, str] | None = None) -> None:
        status, default = MESSAGES[code]
        super().__init__(message or default)
        self.code, self.status, self.message, self.headers = code, status, message or default, headers or {}


def error_response(code: str, message: str | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    status, default = MESSAGES[code]
    return JSONResponse({"error": {"code": code, "message": message or default}}, status_code=status,
                        headers=headers)
