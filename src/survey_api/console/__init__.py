"""The staff console: server-rendered pages on the same services and rules as the API."""
