"""Tests of srkit.render."""
