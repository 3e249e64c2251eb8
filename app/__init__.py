"""Passerelle: a self-hosted automation hub for product teams."""

__version__ = "0.1.0"
