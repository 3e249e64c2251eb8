"""Similar feedback: a local text-similarity model and an index in the store (issue 21)."""

from connectors.similar.connector import SimilarConnector

__all__ = ["SimilarConnector"]
