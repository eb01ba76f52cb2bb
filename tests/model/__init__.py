"""Tests of srkit.model."""
