"""Readers for the stores where people already keep their model logs (issue 9)."""
