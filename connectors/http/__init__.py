"""The ``http`` connector: forward to Make, Zapier or any webhook."""

from connectors.http.connector import HttpConnector

__all__ = ["HttpConnector"]
