"""The built-in metrics, the entries of kind "metric": (name, address of what computes it, one line for `tony ls`,
family and direction)."""

from tony.core.metric_info import HIGHER, LOWER, UNORDERED, MetricInfo, best_at

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
    *((f"latency_{statistic}_s", "tony.voice.latency_run:latency_stats",
       f"{what} seconds from the end of the user's speech to the first audio byte (subgroup stage=: one stage)",
       MetricInfo("latency", LOWER))
      for statistic, what in (("min", "fewest"), ("mean", "mean"), ("p50", "median"), ("p95", "95th percentile of"))),
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
    # dataset poisoning (tony.vision.poisoning.metrics)
    *((name, f"tony.vision.poisoning.metrics:{function}", description, MetricInfo("poisoning", direction))
      for name, function, description, direction in (
          ("c_acc", "image_stats", "clean accuracy: test images without trigger classified correctly", HIGHER),
          ("asr", "image_stats", "attack success rate: triggered test images sent to the backdoor label", LOWER),
          ("r_acc", "image_stats", "robust accuracy: triggered test images still classified correctly", HIGHER),
          ("target_success", "target_stats", "targeted poisoning: named targets classified as the attacker's class",
           LOWER),
          ("filter_tpr", "filter_stats", "a filtering defense's share of the poisons removed", HIGHER),
          ("filter_fpr", "filter_stats", "a filtering defense's share of the clean training examples removed", LOWER),
          ("strip_frr", "image_stats", "STRIP: clean inputs rejected", LOWER),
          ("strip_far", "image_stats", "STRIP: triggered inputs accepted", LOWER),
          ("der", "image_stats", "defense effectiveness ratio (max(0, dASR) - max(0, dC-Acc) + 1) / 2", HIGHER))),
    # feature priors
    ("accuracy_over_seeds", "tony.vision.priors.study:aggregate",
     "test accuracy averaged over seeds, with a t interval over seeds", _ACCURACY),
    ("pseudo_label_accuracy", "tony.vision.priors.study:aggregate",
     "fraction of the pseudo-labels a model was trained on in a round that are right (@round)", _ACCURACY),
    ("shape_bias", "tony.vision.priors.cue_conflict:shape_bias",
     "cue-conflict decisions that follow the shape among those following shape or texture",
     MetricInfo("priors", UNORDERED)),
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
