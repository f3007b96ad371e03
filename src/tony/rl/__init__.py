"""PPO and TRPO with each code-level optimization a switch, ablations over seeds, trust-region diagnostics.

Needs the `rl` extra (gymnasium with MuJoCo, torch). From Python: `tony.rl.api`; from the shell:
`tony rl train|ablate|presets`.
"""
