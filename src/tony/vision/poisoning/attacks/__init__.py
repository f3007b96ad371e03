"""Poisoning attacks, one module each, registered as kind "poison_attack" in `tony.catalog`."""
