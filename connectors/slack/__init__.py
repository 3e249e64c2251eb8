"""Slack: messages, thread replies, response_url answers, reactions and user lookups."""

from connectors.slack.connector import SlackConnector

__all__ = ["SlackConnector"]
