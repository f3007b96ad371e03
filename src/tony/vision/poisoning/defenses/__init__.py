"""Defenses against poisoning, one module each, registered as kind "poison_defense" in `tony.catalog`."""
