"""The pipeline between readers and the aggregator: latest-frame slots and the inference worker."""

from .slot import LatestFrameSlot
from .worker import InferenceWorker

__all__ = ["InferenceWorker", "LatestFrameSlot"]
