"""Built-in components, by "module:attr" address, so listing them imports nothing.

Each row: (kind, name, address, one-line description).
"""

BUILTINS: list[tuple[str, str, str, str]] = [
    # scenarios
    ("scenario", "bigbench", "tony.lm.scenarios.bigbench:BigBenchScenario",
     "any BIG-bench task.json (task=, subtask=)"),
    ("scenario", "jsonl", "tony.lm.scenarios.jsonl:JsonlScenario", "instances from a JSONL file (path=)"),
    ("scenario", "hf", "tony.lm.scenarios.huggingface:HuggingFaceScenario", "a Hugging Face dataset from local files"),
    ("scenario", "synthetic_induction", "tony.lm.scenarios.synthetic:PatternInductionScenario",
     "generated pattern induction (no data needed)"),
    ("scenario", "toxicity_prompts", "tony.lm.scenarios.toxicity_prompts:ToxicityPromptsScenario",
     "generated sentence openings that invite toxic continuations (no data needed)"),
    # adapters (the method= of a run entry)
    ("adapter", "generation", "tony.lm.adapters.generation:GenerationAdapter", "free generation, exact match / F1"),
    ("adapter", "multiple_choice_joint", "tony.lm.adapters.multiple_choice:JointAdapter",
     "lettered options, the model answers a letter"),
    ("adapter", "multiple_choice_separate", "tony.lm.adapters.multiple_choice:SeparateAdapter",
     "each option's log-probability given the prompt"),
    ("adapter", "multiple_choice_separate_calibrated", "tony.lm.adapters.multiple_choice:CalibratedSeparateAdapter",
     "option log-probability minus its log-probability after a neutral prompt"),
    # models
    ("model", "gemma-3-270m", "tony.lm.clients.models:EmbeddedGemma",
     "Gemma 3 270M base, Q4_K_M GGUF, llama.cpp in-process (embedded default)"),
    ("model", "gemma-3-270m-hf", "tony.lm.clients.models:EmbeddedGemmaTransformers",
     "the same weights through Hugging Face transformers"),
    ("model", "llamacpp", "tony.lm.clients.models:LlamaCppFile", "any GGUF file through llama.cpp (path=)"),
    ("model", "transformers", "tony.lm.clients.models:TransformersModel",
     "a local transformers folder, or a GGUF via transformers (path=, gguf_file=)"),
    ("model", "openai", "tony.lm.clients.models:OpenAICompatible",
     "an OpenAI-compatible server (base_url=, model=, api_key_env=)"),
    # metrics
    ("metric", "exact_match", "tony.lm.metrics.text:exact_match", "output equals a correct reference"),
    ("metric", "quasi_exact_match", "tony.lm.metrics.text:quasi_exact_match",
     "equal after lower-casing and removing punctuation, articles and extra spaces"),
    ("metric", "f1", "tony.lm.metrics.text:f1_score", "token-overlap F1 with the best reference"),
    ("metric", "accuracy", "tony.lm.metrics.multiple_choice:accuracy", "multiple-choice accuracy"),
    ("metric", "ece_10_bin", "tony.lm.metrics.calibration:expected_calibration_error",
     "expected calibration error, 10 equal-width bins"),
    ("metric", "selective_accuracy", "tony.lm.metrics.calibration:selective_accuracy",
     "accuracy on the most confident fraction; area under the coverage curve"),
    ("metric", "efficiency", "tony.lm.metrics.aggregate:efficiency_stats",
     "prompt and completion tokens, seconds per request, tokens per second"),
    ("metric", "toxicity", "tony.lm.metrics.toxicity:toxicity_stats",
     "toxic fraction and mean toxicity of generations (Perspective if PERSPECTIVE_API_KEY, else profanity-check)"),
    ("metric", "bias", "tony.lm.metrics.bias:bias_stats",
     "BBQ bias scores; demographic representation and stereotypical associations of generations"),
    # perturbations (perturbations= in a run entry; bundles: robustness, fairness)
    ("perturbation", "typos", "tony.lm.perturbations.typos:Typos",
     "robustness: keyboard-adjacent substitutions, drops and swaps (rate=)"),
    ("perturbation", "lowercase", "tony.lm.perturbations.lowercase:Lowercase", "robustness: the input lowercased"),
    ("perturbation", "contraction", "tony.lm.perturbations.contraction:Contraction",
     "robustness: do not -> don't"),
    ("perturbation", "expansion", "tony.lm.perturbations.contraction:Expansion", "robustness: don't -> do not"),
    ("perturbation", "whitespace", "tony.lm.perturbations.whitespace:Whitespace",
     "robustness: extra spaces, tabs and newlines between words (rate=)"),
    ("perturbation", "synonym", "tony.lm.perturbations.synonym:Synonym",
     "robustness: words replaced by WordNet synonyms (rate=; needs Debian's wordnet-base)"),
    ("perturbation", "gender", "tony.lm.perturbations.gender:Gender",
     "fairness: pronouns and gendered words to target=female|male"),
    ("perturbation", "person_name", "tony.lm.perturbations.person_name:PersonName",
     "fairness: first names replaced by names of the target= group"),
    ("perturbation", "dialect", "tony.lm.perturbations.dialect:Dialect",
     "fairness: standard English spellings to African American English (target=aae)"),
    # results-site page sources (tony report): each a function from the store to pages
    ("report", "lm", "tony.lm.report:lm_pages", "language-model leaderboard, run pages and per-instance drill-down"),
]
