"""The command line: parses, calls tony.api, prints. Imports nothing heavy before it must."""

from __future__ import annotations

import argparse
import sys
from typing import Any

EXIT_USAGE = 2
# What `tony run` prints at the end: these metrics on the unperturbed instances, and the worst case of each
# perturbation family; `tony results` shows every stat.
HEADLINE_METRICS = ("accuracy", "correct_mass", "not_unsafe", "not_overrefuse", "exact_match", "quasi_exact_match",
                    "f1", "ece_10_bin",
                    "selective_accuracy_area", "tokens_per_second", "bbq_bias_ambiguous", "bbq_bias_disambiguated",
                    "demographic_representation_gender", "demographic_representation_race", "toxic_fraction",
                    "toxicity_mean")


class _Parser(argparse.ArgumentParser):
    """argparse whose errors are one line (no usage dump) and exit 2."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"tony: error: {message} (see `{self.prog} --help`)\n")


def _build_parser(plugins: bool = True) -> argparse.ArgumentParser:
    """tony's own commands, then every registered "command" (a domain's, or with `plugins` a plugin's too)."""
    from tony.core.executor_options import add_executor_options

    parser = _Parser(prog="tony", description="Measure how models really behave.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = commands.add_parser("run", help="run entries or suite files; results go to the store")
    run.add_argument("entries", nargs="+", help="SCENARIO:key=value,... or a suite .yaml file; quote a value "
                     "holding a comma or a quote, doubling a quote inside: 'jsonl:path=\"a,b.jsonl\"' "
                     "(docs/run-entries.md)")
    run.add_argument("--max-instances", type=int, help="a seeded sample of this many test instances per run")
    run.add_argument("--seed", type=int, help="seed for sampling, few-shot draws and option order")
    run.add_argument("--model", help="model for every run (overrides the suite's)")
    _store_option(run)
    run.add_argument("--workers", type=int, default=1, help="runs executed in parallel processes (default 1)")
    add_executor_options(run)
    run.add_argument("--batch-size", type=int, default=8, help="instances per committed batch (default 8)")
    run.add_argument("--skip-missing-data", action="store_true",
                     help="leave out (and name) runs whose data is not installed, instead of stopping")
    _data_option(run)

    data = commands.add_parser("data", help="list the public data sets tony reads: found or missing, rows, license")
    data.add_argument("--format", choices=["table", "json"], default="table")
    _data_option(data)

    ls = commands.add_parser("ls", help="list every kind of component: scenarios, models, metrics, commands, ...")
    ls.add_argument("kind", nargs="?", help="only this kind (scenario, model, icl_baseline, ...)")

    results = commands.add_parser("results", help="print stats with their intervals")
    _store_option(results)
    results.add_argument("--run", action="append", help="only this run (id prefix); repeatable")
    results.add_argument("--all", action="store_true", help="also per-draw, per-subgroup and per-perturbation rows")
    results.add_argument("--format", choices=["table", "json", "csv"], default="table")

    records = commands.add_parser("records", help="export every stored record: prompt, prediction, stats, ...")
    _store_option(records)
    records.add_argument("--run", action="append", help="only this run (id prefix); repeatable")
    records.add_argument("--format", choices=["jsonl", "csv"], default="jsonl",
                         help="jsonl (default): one JSON object a line; csv: stats and extra as JSON text")

    compare = commands.add_parser("compare", help="paired comparison of two runs on shared instances")
    compare.add_argument("run_a")
    compare.add_argument("run_b")
    compare.add_argument("--metric", action="append", help="metric to compare (default: every shared one)")
    compare.add_argument("--format", choices=["table", "json"], default="table")
    _store_option(compare)
    report = commands.add_parser("report", help="write the results site: leaderboard, run pages, drill-down")
    _store_option(report)
    report.add_argument("--out", help="site folder (default ./tony-results/site; rebuilt in place)")
    report.add_argument("--workers", type=int, help="processes rendering pages (default: one per CPU)")

    serve = commands.add_parser("serve", help="serve the results site on 127.0.0.1")
    serve.add_argument("--out", help="site folder (default ./tony-results/site)")
    serve.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (default 8765; 0: any free one)")

    doctor = commands.add_parser("doctor", help="check the installation: extras, models, data, store, browser; "
                                 "says the command that fixes what is missing")
    _store_option(doctor)
    _data_option(doctor)
    doctor.add_argument("--load", action="store_true",
                        help="also import every extra and load each embedded model through llama.cpp (seconds)")
    doctor.add_argument("--format", choices=["table", "json"], default="table")
    _add_registered_commands(commands, plugins)
    return parser


def _add_registered_commands(commands: Any, plugins: bool) -> None:
    """Each registered command's module adds its parser (argparse only); its run(args) imports the rest."""
    from tony.core.errors import SpecError
    from tony.core.registry import registry

    for entry in registry.entries("command", plugins=plugins):
        if entry.name in commands.choices:
            raise SpecError(f"the registered command '{entry.name}' ({entry.target or repr(entry.obj)}) takes the name "
                            "of one of tony's own commands: register it under another name")
        entry.load().add_commands(commands)


def _needs_plugins(argv: list[str]) -> bool:
    """Whether parsing `argv` needs the plugins' commands: not when it starts with a built-in command (so `tony run`
    never looks for plugins); for `--help`, no command or any other name, yes."""
    from tony.core.registry import registry

    builtin = {*COMMANDS, *(entry.name for entry in registry.entries("command", plugins=False))}
    return not argv or argv[0] not in builtin


def _store_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", help="results directory or database URL (default ./tony-results)")


def _data_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", help="the data root: folder holding the data sets (default: $TONY_DATA, "
                        "else ./data, else ../shared/data)")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    from tony.core.errors import TonyError

    try:
        args = _build_parser(plugins=_needs_plugins(argv)).parse_args(argv)
        if getattr(args, "data", None):
            from tony.core.data import use_data_root

            use_data_root(args.data)
        if args.command in COMMANDS:
            return COMMANDS[args.command](args)
        from tony.core.registry import registry

        return registry.get("command", args.command).run(args)
    except TonyError as err:
        print(f"tony: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("tony: interrupted; stored records are kept and `tony run` resumes them", file=sys.stderr)
        return 130


def _cmd_run(args: argparse.Namespace) -> int:
    from tony import api
    from tony.core.errors import DataNotInstalledError, SpecError
    from tony.core.executor_options import executor_settings
    from tony.core.store import Store

    skipped: list[str] = []
    reasons: set[str] = set()

    def skip(entry: str, err: Exception) -> None:
        skipped.append(entry)
        reason = "" if str(err) in reasons else f": {err}"  # each reason once, not once per run
        reasons.add(str(err))
        print(f"SKIPPED {entry}{reason}", file=sys.stderr)

    specs = api.plan(args.entries, max_instances=args.max_instances, seed=args.seed, model=args.model,
                     on_missing_data=skip if args.skip_missing_data else None)
    if not specs:
        if not skipped:
            raise SpecError("nothing to run: the suite's `runs:` list is empty")
        raise DataNotInstalledError("every run was left out because its data is not installed (see above)")
    store = Store(args.store)
    failed = []
    for result in api.run(specs, args.store, workers=args.workers, batch_size=args.batch_size,
                          **executor_settings(args)):
        what = " ".join(str(v) for v in result.labels.values())
        if result.status == "complete":
            note = "already stored" if result.reused else f"{result.wall_s:.1f}s"
            print(f"done    {result.run_id[:12]}  {what}  ({note})", file=sys.stderr)
        else:
            failed.append(result)
            print(f"FAILED  {result.run_id[:12]}  {what}: {result.error}", file=sys.stderr)
    print(_table([r for r in api.results(args.store, run_ids=[s.key() for s in specs], everything=True)
                  if not r["split"] and not r["subgroup"] and _is_headline(r)]))
    left_out = f", {len(skipped)} left out for missing data" if skipped else ""
    print(f"\nstore: {store.describe()}  ({len(specs) - len(failed)} of {len(specs)} runs complete{left_out}; "
          "`tony results` shows every stat)")
    return 1 if failed else 0


def _cmd_data(args: argparse.Namespace) -> int:
    from tony import api

    sets = api.datasets()
    if args.format == "json":
        import json

        print(json.dumps(sets, indent=1))
        return 0
    root = sets[0]["root"] if sets else None
    print(f"data root: {root or 'none'} ({sets[0]['root_from'] if sets else ''})")
    for entry in sets:
        where = ", ".join(entry["files"]) if entry["status"] != "missing" else "missing: " + ", ".join(entry["missing"])
        print(f"  {entry['name']:<22} {entry['status']:<8} {entry['rows']:>7} rows  {entry['license']:<12} {where}")
        print(f"  {'':<22} {entry['description']}; original: {entry['source']}")
    return 0


def _cmd_ls(args: argparse.Namespace) -> int:
    from tony.core.registry import registry

    for kind in [registry.kind(args.kind)] if args.kind else [registry.kind(k) for k in registry.kinds()]:
        print(f"{kind.name}: {kind.description}" if kind.description else f"{kind.name}:")
        for entry in registry.entries(kind.name):
            print(f"  {entry.name:<38} {entry.description}")
    return 0


def _cmd_results(args: argparse.Namespace) -> int:
    from tony import api

    rows = api.results(args.store, run_ids=args.run, everything=args.all)
    if args.format == "json":
        import json

        print(json.dumps(rows, indent=1))
    elif args.format == "csv":
        import csv

        writer = csv.DictWriter(sys.stdout, fieldnames=api.RESULT_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    else:
        print(_table(rows) if rows else "no results yet: `tony run ...` stores some")
    return 0


def _cmd_records(args: argparse.Namespace) -> int:
    import os

    from tony import api
    from tony.core.store import json_text
    from tony.lm.export import RECORD_FIELDS, csv_row

    rows = api.records(args.store, run_ids=args.run)  # checks the store and run ids; rows stream as written
    count = 0
    try:
        if args.format == "csv":
            import csv

            writer = csv.DictWriter(sys.stdout, fieldnames=RECORD_FIELDS)
            writer.writeheader()
            for row in rows:
                writer.writerow(csv_row(row))
                count += 1
        else:
            for row in rows:
                sys.stdout.write(json_text(row) + "\n")
                count += 1
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader (`| head`) has what it wanted: stop quietly, as other command-line tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    if not count:
        print("no records of language-model runs in this store: `tony run ...` stores some", file=sys.stderr)
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from tony import api

    result = api.compare(args.run_a, args.run_b, args.store, metrics=args.metric)
    if args.format == "json":
        import json

        print(json.dumps({part: [asdict(c) for c in rows]
                          for part, rows in result.items()}, indent=1))
        return 0
    print(f"A = {args.run_a}   B = {args.run_b}   (paired over shared instances)")
    print(f"{'family':<12}{'metric':<36}{'n':>6}{'A':>9}{'B':>9}{'A-B':>9}  {'95% CI':<18}{'p boot':>8}  McNemar")
    for c in result["paired"]:
        mcnemar = "" if c.mcnemar_p is None else f"A only {c.a_only}, B only {c.b_only}, p={c.mcnemar_p:.3g}"
        interval = f"[{c.ci_low:+.3f}, {c.ci_high:+.3f}]"
        print(f"{c.family:<12}{c.metric:<36}{c.n:>6}{c.mean_a:>9.3f}{c.mean_b:>9.3f}{c.difference:>+9.3f}  "
              f"{interval:<18}{c.bootstrap_p:>8.3g}  {mcnemar}")
    if result["unpaired"]:
        print("\nwhole-run stats (not paired; each with its own 95% interval)")
        for u in result["unpaired"]:
            a = _interval({"value": u.value_a, "ci_low": u.ci_a[0], "ci_high": u.ci_a[1]})
            b = _interval({"value": u.value_b, "ci_low": u.ci_b[0], "ci_high": u.ci_b[1]})
            overlap = "" if u.intervals_overlap else "  intervals apart"
            print(f"{u.family:<12}{u.metric:<36}A {a:<26}B {b:<26}A-B {u.difference:+.3f}{overlap}")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from tony import api

    site = api.report(args.store, args.out, workers=args.workers)
    runs = f"{site.runs} run{'' if site.runs == 1 else 's'}"
    print(f"wrote {site.pages} pages for {runs} in {site.seconds:.1f}s: {site.path / 'index.html'}")
    print(f"`tony serve{'' if args.out is None else ' --out ' + str(args.out)}` serves it")
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from tony import api

    server = api.serve(args.out, port=args.port)
    print(f"serving {server.root} at {server.url} (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def _cmd_doctor(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from tony import api
    from tony.doctor import all_required_ok

    checks = api.doctor(args.store, load=args.load)
    ok = all_required_ok(checks)
    if args.format == "json":
        import json

        print(json.dumps({"ok": ok, "checks": [asdict(c) for c in checks]}, indent=1))
        return 0 if ok else 1
    labels = [c.name + ("" if c.required else " (optional)") for c in checks]
    width = max(map(len, labels))
    for c, label in zip(checks, labels, strict=True):
        print(f"{'ok' if c.ok else 'MISSING':<8} {label:<{width}}  {c.detail}")
        if not c.ok:
            print(f"{'':<8} {'':<{width}}  fix: {c.fix}")
    failed = [c.name for c in checks if c.required and not c.ok]
    optional = [c.name for c in checks if not c.required and not c.ok]
    also = f"; optional, missing: {', '.join(optional)}" if optional else ""
    print(f"\nrequired, missing: {', '.join(failed)}{also}" if failed else f"\neverything required is there{also}")
    return 0 if ok else 1


def _is_headline(row: dict[str, Any]) -> bool:
    """Whether `tony run` prints a `results` row: a headline metric unperturbed (its name is then the metric's), or
    a family's worst case."""
    from tony.core.stat_id import WORST_CASE

    return row["variant"] == WORST_CASE or (row["variant"] is None and row["metric"] in HEADLINE_METRICS)


def _table(rows: list[dict[str, Any]]) -> str:
    """Aligned text table of result rows: value [ci_low, ci_high] with n."""
    columns = ["run", "scenario", "method", "model", "metric", "split", "subgroup"]
    shown = [c for c in columns if any(r.get(c) for r in rows)]
    lines = [[*(str(r[c]) for c in shown), _interval(r), str(r["n"])] for r in rows]
    header = [*shown, "value [95% CI]", "n"]
    widths = [max(len(x) for x in column) for column in zip(header, *lines, strict=True)]
    render = ["  ".join(x.ljust(w) for x, w in zip(line, widths, strict=True)).rstrip() for line in [header, *lines]]
    return "\n".join(render)


def _interval(row: dict[str, Any]) -> str:
    value, low, high = row["value"], row["ci_low"], row["ci_high"]
    if value is None or value != value:
        return "n/a"
    digits = 3 if abs(value) < 100 else 1
    return f"{value:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


COMMANDS = {"run": _cmd_run, "data": _cmd_data, "ls": _cmd_ls, "results": _cmd_results, "compare": _cmd_compare,
            "records": _cmd_records, "report": _cmd_report, "serve": _cmd_serve, "doctor": _cmd_doctor}

if __name__ == "__main__":
    sys.exit(main())
