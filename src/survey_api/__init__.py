"""survey_api: tenant safety and well-being surveys for Swedish public housing companies."""

__version__ = "0.1.0"
