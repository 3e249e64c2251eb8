"""Connectors: one package per external system (see ``registry.py`` for the list)."""
