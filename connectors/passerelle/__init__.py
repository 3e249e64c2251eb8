"""``passerelle.*``: actions about Passerelle itself (its adoption KPIs)."""

from connectors.passerelle.connector import PasserelleConnector

__all__ = ["PasserelleConnector"]
