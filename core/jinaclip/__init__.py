"""jinaclip: one embedding model for text and images, local or hosted, behind one interface."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jinaclip.backends import Backend, make_encoder
from jinaclip.encoder import Encoder, FloatMatrix
from jinaclip.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    InputProblem,
    InvalidInputError,
    JinaClipError,
    ModelNotFoundError,
    QuotaExceededError,
    RateLimitError,
    ResponseFormatError,
    ServerError,
)
from jinaclip.inputs import ImageInput
from jinaclip.models import KNOWN_MODELS, ModelInfo, get_model_info

if TYPE_CHECKING:
    from jinaclip.local.encoder import LocalEncoder
    from jinaclip.remote.client import RemoteEncoder

__version__ = "0.1.0"

__all__ = [
    "KNOWN_MODELS",
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "Backend",
    "BadRequestError",
    "Encoder",
    "FloatMatrix",
    "ImageInput",
    "InputProblem",
    "InvalidInputError",
    "JinaClipError",
    "LocalEncoder",
    "ModelInfo",
    "ModelNotFoundError",
    "QuotaExceededError",
    "RateLimitError",
    "RemoteEncoder",
    "ResponseFormatError",
    "ServerError",
    "get_model_info",
    "make_encoder",
]


def __getattr__(name: str) -> Any:
    """Import the backends lazily: the remote client must not pull in torch."""
    if name == "LocalEncoder":
        from jinaclip.local.encoder import LocalEncoder

        return LocalEncoder
    if name == "RemoteEncoder":
        from jinaclip.remote.client import RemoteEncoder

        return RemoteEncoder
    raise AttributeError(f"module 'jinaclip' has no attribute {name!r}")
