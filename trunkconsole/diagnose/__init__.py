"""Diagnoses: the production failures named, with their evidence and the fix."""
