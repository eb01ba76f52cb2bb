"""Tests of srkit.validate."""
