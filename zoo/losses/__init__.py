"""Losses: each a pure function plus a thin serializable class."""

from zoo.losses.masked_nll import MaskedSparseNLL, masked_token_nll
from zoo.losses.triplet import TripletLoss, triplet_loss

__all__ = ["MaskedSparseNLL", "masked_token_nll", "TripletLoss", "triplet_loss"]
