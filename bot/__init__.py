"""Sada's core: domain types, gateway, lifecycle, replies, outbox, service and CLI."""
