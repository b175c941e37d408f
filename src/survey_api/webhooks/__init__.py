"""Webhooks: signed, aggregate-level event notifications to integrators' endpoints."""
