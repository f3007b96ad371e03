"""`tony voice say | transcribe | latency | serve`: parses, calls `tony.voice`, prints.

Imports nothing beyond argparse until run."""

from __future__ import annotations

import argparse
from typing import Any


def add_commands(commands: Any) -> None:
    """Add `voice` and its subcommands to the top-level subparsers `commands`."""
    voice = commands.add_parser("voice", help="speech in, speech out: speak, transcribe, the cascade's latency, "
                                "an OpenAI-compatible audio endpoint")
    sub = voice.add_subparsers(dest="voice_command", required=True, parser_class=type(voice))
    say = sub.add_parser("say", help="speak TEXT with espeak-ng into a 16 kHz WAV file")
    say.add_argument("text")
    say.add_argument("--voice", default="en-us", help="an espeak-ng voice, optionally +VARIANT (en-gb, en-us+f3)")
    say.add_argument("--speed", type=int, default=175, help="words per minute (default 175)")
    say.add_argument("--noise-snr", type=float, help="add noise at this SNR, dB")
    say.add_argument("--noise", choices=["white", "babble"], default="white")
    say.add_argument("--telephone", action="store_true", help="band-pass 300-3400 Hz and 8 kHz, like a phone line")
    say.add_argument("--out", required=True, help="the .wav file to write")
    transcribe = sub.add_parser("transcribe", help="transcribe a WAV file with Whisper base")
    transcribe.add_argument("file")
    transcribe.add_argument("--format", choices=["text", "json"], default="text")
    latency = sub.add_parser("latency", help="end of speech to first audio byte over N spoken questions, with "
                             "each stage (min / mean / p50 / p95 with bootstrap intervals)")
    latency.add_argument("--pipeline", default="cascade", help="cascade, or an endpoint's base URL "
                         "(http://127.0.0.1:8090/v1)")
    latency.add_argument("--model", default="smollm2-135m-instruct", help="the cascade's text model (`tony ls "
                         "model`), or the model name an endpoint serves")
    latency.add_argument("--n", type=int, default=10, help="spoken questions to time (default 10)")
    latency.add_argument("--voice", default="en-us", help="the voice asking (espeak-ng)")
    latency.add_argument("--format", choices=["table", "json"], default="table")
    latency.add_argument("--store", nargs="?", const="", default=None, metavar="STORE",
                         help="keep the measurement as a run in the results store (default ./tony-results), for the "
                         "site's voice page; a run already stored is shown, not measured again")
    latency.add_argument("--label", default="", help="with --store: tells this measurement apart from another of "
                         "the same pipeline (the machine, its load)")
    serve = sub.add_parser("serve", help="the cascade as an OpenAI-compatible /v1/chat/completions on 127.0.0.1 "
                           "(input_audio in, streamed audio out)")
    serve.add_argument("--model", default="smollm2-135m-instruct", help="the text model (`tony ls model`)")
    serve.add_argument("--voice", default="en-us", help="the voice answering (espeak-ng)")
    serve.add_argument("--port", type=int, default=8090)


def run(args: argparse.Namespace) -> int:
    """Run `tony voice ...`; TonyErrors propagate to the caller, which prints them and exits 2."""
    return {"say": _say, "transcribe": _transcribe, "latency": _latency, "serve": _serve}[args.voice_command](args)


def _say(args: argparse.Namespace) -> int:
    from pathlib import Path

    from tony.core.errors import SpecError
    from tony.voice.audio import add_noise, telephone, write_wav
    from tony.voice.tts import synthesize

    if not args.out.endswith(".wav"):
        raise SpecError(f"--out {args.out} must end with .wav")
    samples = synthesize(args.text, args.voice, args.speed)
    if args.noise_snr is not None:
        samples = add_noise(samples, args.noise_snr, args.noise)
    if args.telephone:
        samples = telephone(samples)
    tmp = Path(args.out + ".tmp")
    write_wav(tmp, samples)
    tmp.replace(args.out)  # never a half-written file under the name asked for
    print(f"{args.out}: {len(samples) / 16000:.2f} s, voice {args.voice}")
    return 0


def _transcribe(args: argparse.Namespace) -> int:
    import json

    from tony.voice.audio import read_wav
    from tony.voice.stt import transcribe

    samples = read_wav(args.file)  # an unreadable file fails before the model loads
    result = transcribe(samples)
    if args.format == "json":
        print(json.dumps({"file": args.file, "text": result.text, "seconds": round(result.seconds, 3),
                          "audio_s": round(len(samples) / 16000, 3)}))
    else:
        print(result.text)
    return 0


def _latency(args: argparse.Namespace) -> int:
    import json

    from tony.voice.latency import format_table, measure

    if args.store is not None:
        report = _stored_latency(args)
    else:
        report = measure(args.pipeline, model=args.model, n=args.n, voice=args.voice)
    print(json.dumps(report.to_json(), indent=1) if args.format == "json" else format_table(report))
    return 0


def _stored_latency(args: argparse.Namespace):
    """The measurement run through tony's runner into the store, read back from its records."""
    import sys

    from tony.core.errors import ModelError
    from tony.core.runner import execute
    from tony.core.store import Store
    from tony.voice.latency import LatencyReport, summaries
    from tony.voice.latency_run import VoiceLatencySpec, measurements

    spec = VoiceLatencySpec.parse({"pipeline": args.pipeline, "model": args.model, "n": args.n, "voice": args.voice,
                                   "label": args.label})
    store = Store(args.store or None)
    result = execute(spec.task(store), store, batch_size=args.n)
    if result.status != "complete":
        raise ModelError(f"the latency run failed: {result.error}")
    timed = measurements(store.records(result.run_id))
    print(f"run {result.run_id[:12]} in {store.describe()}" + (" (already stored)" if result.reused else ""),
          file=sys.stderr)  # stdout holds only the table or the JSON
    return LatencyReport(args.pipeline, args.model, args.voice, timed, summaries(timed, spec.seed))


def _serve(args: argparse.Namespace) -> int:
    import threading

    from tony.voice.cascade import Cascade
    from tony.voice.serve import serve

    cascade = Cascade(args.model, voice=args.voice)
    cascade.warm_up()
    server = serve(cascade, args.port)
    host, port = server.server_address[:2]
    print(f"serving {args.model} (voice {args.voice}) at http://{host!s}:{port}/v1/chat/completions; Ctrl-C stops",
          flush=True)
    try:
        threading.Event().wait()
    finally:
        server.shutdown()
    return 0
