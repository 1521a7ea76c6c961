"""One error hierarchy for both backends, so callers catch by meaning, not by backend.

Every message says what went wrong and what to do about it. Input errors carry the
positions of the offending inputs; API errors carry the HTTP status, the server's own
message and how many attempts were made. No error ever holds an API key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class JinaClipError(Exception):
    """Base class of every error jinaclip raises on purpose."""


@dataclass(frozen=True, slots=True)
class InputProblem:
    """Why the input at `index` (its position in the caller's list) was rejected."""

    index: int
    reason: str

    def __str__(self) -> str:
        return f"input {self.index}: {self.reason}"


class InvalidInputError(JinaClipError, ValueError):
    """One or more inputs are unusable; the whole call was refused before any work was done.

    Calls are atomic: either every input embeds or none does, so a caller never receives a
    matrix with holes. `problems` lists every bad input, not just the first.
    """

    def __init__(self, problems: Sequence[InputProblem], *, hint: str = "") -> None:
        if not problems:
            raise ValueError("InvalidInputError needs at least one problem")
        self.problems: tuple[InputProblem, ...] = tuple(problems)
        shown = "; ".join(str(p) for p in self.problems[:10])
        more = len(self.problems) - 10
        if more > 0:
            shown += f"; and {more} more"
        message = f"{len(self.problems)} invalid input(s), nothing was embedded: {shown}"
        if hint:
            message += f". {hint}"
        super().__init__(message)

    @property
    def index(self) -> int:
        """Position of the first bad input."""
        return self.problems[0].index

    @property
    def indices(self) -> tuple[int, ...]:
        return tuple(p.index for p in self.problems)

    @classmethod
    def single(cls, index: int, reason: str, *, hint: str = "") -> InvalidInputError:
        return cls([InputProblem(index, reason)], hint=hint)

    def shifted(self, offset: int) -> InvalidInputError:
        """The same problems with positions moved by `offset`: an error raised for one slice
        of a caller's list, re-indexed to the whole list."""
        return InvalidInputError([InputProblem(p.index + offset, p.reason) for p in self.problems])


class ModelNotFoundError(JinaClipError, LookupError):
    """A model name, directory or hub id could not be resolved."""


class APIError(JinaClipError):
    """The embeddings server answered with an error, or could not be reached.

    `status_code` is None when no HTTP response arrived (connection failure, timeout).
    `message` is the server's own explanation when it gave one. `attempts` counts every
    request made for the failing batch, retries included.
    """

    default_hint = ""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        attempts: int = 1,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.status_code = status_code
        self.attempts = attempts
        self.hint = self.default_hint if hint is None else hint
        status = f"HTTP {status_code}" if status_code is not None else "no response"
        text = f"{status} after {attempts} attempt(s): {message}"
        if self.hint:
            text += f" ({self.hint})"
        super().__init__(text)


class BadRequestError(APIError):
    """400 or 422: the server refused the request as malformed or invalid; retrying won't help."""

    default_hint = "check the inputs and the parameters this model accepts"


class AuthenticationError(APIError):
    """401 or 403: the API key is missing, wrong or not allowed to use this model."""

    default_hint = "set JINA_API_KEY or pass api_key=; get a key at jina.ai/embeddings"


class QuotaExceededError(APIError):
    """402: the key's token balance is exhausted."""

    default_hint = "top up the key's balance or use another key"


class RateLimitError(APIError):
    """429 that persisted through every retry."""

    default_hint = "lower max_concurrency or the batch size, or raise the key's rate limit"


class ServerError(APIError):
    """5xx that persisted through every retry."""

    default_hint = "the service is failing; retry later"


class APIConnectionError(APIError):
    """The server could not be reached or dropped the connection, through every retry."""

    default_hint = "check base_url and the network"


class APITimeoutError(APIConnectionError):
    """The server did not answer within the timeout, through every retry."""

    default_hint = "raise timeout= or send smaller batches"


class ResponseFormatError(APIError):
    """The server answered 200 with a body that breaks the contract (missing or duplicate index,
    wrong count, undecodable embedding). Nothing from that response is returned."""

    default_hint = "the server is not a compatible Jina Embeddings API"
