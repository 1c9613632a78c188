"""stun-client: the Python client for Stun, an open marketplace for AI inference compute.

``StunClient`` (blocking) and ``AsyncStunClient`` (asyncio); see docs/PYTHON.md.
"""

from ._async import AsyncStunClient, AsyncTaskHandle
from ._core import NO_RETRY, RetryEvent, RetryPolicy
from ._sync import StunClient, TaskHandle
from .errors import (
    AuthenticationError,
    BadResponseError,
    ConflictError,
    GoneError,
    InputMismatchError,
    InsufficientFundsError,
    NetworkError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    StunApiError,
    StunTimeoutError,
    TaskExpiredError,
    TaskFailedError,
    ValidationError,
)
from .tensors import decode_tensor, encode_tensor, load_npy, save_npy, tensor_from_values, tensor_to_values, write_outputs
from .types import Account, CreatedAccount, Health, LedgerEntry, Model, Provider, Receipt, Stats, TaskInfo, TensorSpec

__version__ = "0.1.0"

__all__ = [
    "Account",
    "AsyncStunClient",
    "AsyncTaskHandle",
    "AuthenticationError",
    "BadResponseError",
    "ConflictError",
    "CreatedAccount",
    "GoneError",
    "Health",
    "InputMismatchError",
    "InsufficientFundsError",
    "LedgerEntry",
    "Model",
    "NO_RETRY",
    "NetworkError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "Provider",
    "RateLimitError",
    "Receipt",
    "RetryEvent",
    "RetryPolicy",
    "ServerError",
    "Stats",
    "StunApiError",
    "StunClient",
    "StunTimeoutError",
    "TaskExpiredError",
    "TaskFailedError",
    "TaskHandle",
    "TaskInfo",
    "TensorSpec",
    "ValidationError",
    "decode_tensor",
    "encode_tensor",
    "load_npy",
    "save_npy",
    "tensor_from_values",
    "tensor_to_values",
    "write_outputs",
]
