"""Tests of srkit.templates."""
