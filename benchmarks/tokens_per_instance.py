"""Tokens the model processes per multiple-choice instance against the minimum: target ratio <= 1.1.

The minimum for a question is its prompt once plus each option's own tokens. It is counted here
independently of tony's client, with llama-cpp-python's tokenizer (vocab only), as the tail of
tokenizing prompt + option (lm-evaluation-harness's rule). For reference, the tokens of scoring each
option as its own full sequence (what a backend without prompt sharing feeds) are counted too.

    .venv/bin/python benchmarks/tokens_per_instance.py [--instances 100]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import llama_cpp

import tony
from tony.core.store import Store
from tony.lm.clients.models import embedded_gguf_path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "tokens_per_instance.json"
ENTRY = "bigbench:task=truthful_qa,method=multiple_choice_separate,instructions="


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as store:
        specs = tony.plan([ENTRY], max_instances=args.instances)
        [result] = list(tony.run(specs, store))
        records = Store(store).records(result.run_id)
    vocab = llama_cpp.Llama(str(embedded_gguf_path()), vocab_only=True, verbose=False)

    def count(text: str) -> int:
        return len(vocab.tokenize(text.encode(), add_bos=True))

    processed = minimum = separate = 0
    for record in records:
        request = record["exchanges"][0]["request"]
        prompt_tokens = count(request["prompt"])
        option_tokens = [count(request["prompt"] + c) - prompt_tokens for c in request["continuations"]]
        minimum += prompt_tokens + sum(option_tokens)
        separate += sum(prompt_tokens + n for n in option_tokens)
        processed += record["exchanges"][0]["completion"]["processed_tokens"]
    result = {
        "instances": len(records), "processed_by_tony": processed, "minimum": minimum,
        "ratio_to_minimum": processed / minimum, "one_sequence_per_option": separate,
        "one_sequence_per_option_ratio": separate / minimum,
    }
    print(json.dumps(result, indent=1))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
