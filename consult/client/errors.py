"""Errors raised by the reference client."""

__all__ = ["ChainError", "ClientError", "VerificationError"]


class ClientError(ValueError):
    """An object is malformed or cannot be used as asked."""


class VerificationError(ClientError):
    """A signature, certificate or authenticated ciphertext does not verify."""


class ChainError(VerificationError):
    """The record's hash chain breaks at ``seq`` (DESIGN §5).

    Attributes:
        seq: the first sequence number that failed to verify.
        reason: what was wrong with it.
    """

    def __init__(self, seq: int, reason: str) -> None:
        super().__init__(f"chain broken at seq {seq}: {reason}")
        self.seq = seq
        self.reason = reason
