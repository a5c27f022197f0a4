"""Offline tooling: the recording mock engine, and the plans rendered with it."""
