"""Password policy: long enough, not common, not guessable from the login itself.

NIST SP 800-63B and OWASP ask for length and a check against known and common passwords, not
composition rules. The common-password, word and keyboard-pattern lists come from ``zxcvbn``
(Dropbox's estimator; its lists ship inside the package, so the check works offline).

>>> password_problems("hunter2", username="ana")
['shorter than 12 characters']
>>> password_problems("qwertyuiopasdf", username="ana")
['too easy to guess: This is similar to a commonly used password.']
>>> password_problems("ana-the-planner-2026!", username="ana-the-planner")
['contains the login name']
>>> password_problems("correct horse battery staple", username="ana")
[]
"""

from __future__ import annotations

__all__ = ["MAX_LENGTH", "MIN_LENGTH", "MIN_SCORE", "password_problems"]

#: shortest password accepted (NIST: at least 8; 12 for the administrators of a plant network)
MIN_LENGTH = 12
#: longest accepted (argon2 takes any length; this bounds the work one request can ask for)
MAX_LENGTH = 256
#: zxcvbn's score (0-4) a password must reach: 3 = "safely unguessable", ~10^8 guesses
MIN_SCORE = 3
#: zxcvbn looks at this many characters at most (its cost grows with length)
_CHECKED = 64


def password_problems(password: str, *, username: str, display_name: str = "") -> list[str]:
    """What is wrong with ``password`` for this login (empty: acceptable)."""
    if len(password) < MIN_LENGTH:
        return [f"shorter than {MIN_LENGTH} characters"]
    if len(password) > MAX_LENGTH:
        return [f"longer than {MAX_LENGTH} characters"]
    lowered = password.lower()
    if username and username.lower() in lowered:
        return ["contains the login name"]
    from zxcvbn import zxcvbn  # noqa: PLC0415 - its lists take ~0.1 s to load; only here

    hints = [x for x in (username, display_name, *display_name.split()) if x]
    result = zxcvbn(password[:_CHECKED], user_inputs=hints)
    if int(result["score"]) < MIN_SCORE:
        feedback = result.get("feedback") or {}
        why = str(feedback.get("warning") or "").strip()
        suggestions = [str(x) for x in feedback.get("suggestions") or []]
        reason = why or (suggestions[0] if suggestions else "it follows a common pattern")
        return [f"too easy to guess: {reason}"]
    return []
