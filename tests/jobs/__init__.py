"""Tests of the job queue and the worker (a package, so module names do not clash)."""
