"""Tests of srkit.codec: reading, writing, bad input, agreement with DCMTK."""
