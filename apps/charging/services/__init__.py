"""Charging services: authorization (contract 2), sessions, meter values and the hot path (live)."""
