"""Presentation shared by the tenant form, the results page and the staff console.

Number and percent formatting (Swedish with non-breaking spaces), server-side SVG charts and
the Content-Security-Policy helper live here once, so a fix lands on every page at once.
"""
