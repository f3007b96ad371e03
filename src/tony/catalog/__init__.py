"""Built-in components, by "module:attr" address (or "module" for a module itself), so listing them imports nothing.

KINDS (here): each row (kind, noun in messages, one-line description for `tony ls`).
BUILTINS (`components.py`): each row (kind, name, address, one-line description).
METRICS (`metrics.py`): each row (name, address, one-line description, family and direction): the entries of kind
"metric".
"""

from tony.catalog.components import BUILTINS
from tony.catalog.metrics import METRICS

__all__ = ["BUILTINS", "KINDS", "METRICS"]

KINDS: list[tuple[str, str, str]] = [
    ("scenario", "scenario", "what a language-model run evaluates: the SCENARIO of `tony run SCENARIO:key=value,...`"),
    ("adapter", "adapter", "how a scenario's instances become requests: method= of a run entry"),
    ("model", "model", "language models: model= of a run entry"),
    ("metric", "metric", "what stats measure, in every domain: family and whether higher is better"),
    ("perturbation", "perturbation", "input variants (robustness, fairness, jailbreak): perturbations= of a run entry"),
    ("dataset", "data set", "public data sets read from the data root (`tony data`)"),
    ("study", "study", "each kind of stored run, by its spec class"),
    ("report", "report page source", "page sources of the results site (`tony report`)"),
    ("command", "command", "domain commands: `tony NAME ...` (plugins add more)"),
    ("icl_function", "function class", "in-context learning: function classes (function_class= of a training spec)"),
    ("icl_baseline", "baseline", "in-context learning: estimators compared with the transformer (--baseline)"),
    ("icl_preset", "ICL preset", "in-context learning: named training set-ups (`tony icl train PRESET`)"),
    ("vision_model", "model", "vision: image classifiers with addressable layers (--model of `tony breeds run`)"),
    ("poison_attack", "attack", "dataset poisoning and backdoor attacks (--attack of `tony poison run`)"),
    ("poison_defense", "defense", "defenses against poisoning and backdoors (--defense of `tony poison run`)"),
    ("rl_preset", "RL preset", "PPO and TRPO: an algorithm with its code-level switches (`tony rl train PRESET`)"),
]
