"""System-card safety evaluations: refusal and over-refusal scenarios, jailbreaks, graders, the scorecard."""
