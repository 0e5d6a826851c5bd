"""Losses: each a pure function plus a thin serializable class."""

from zoo.losses.masked_nll import MaskedSparseNLL, masked_token_nll

__all__ = ["MaskedSparseNLL", "masked_token_nll"]
