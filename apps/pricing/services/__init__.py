"""Writes of dynamic pricing: input imports, occupancy learning, the forecast."""
