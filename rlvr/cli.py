"""The `rlvr` command: envs, experiments, training, evaluation and reports from the shell.

    rlvr list                       every id with its kind and knobs
    rlvr list rlvr/MathTree-v0      the id's doc card
    rlvr play rlvr/MathTree-v0 --agent oracle --episodes 100 --seed 0 --set horizon=6
    rlvr run scenarios/debate_confidence.yaml --out runs/debate
    rlvr export rlvr/Countdown-v0 --n 1000 --seed 0 --out countdown.parquet   (train split; --split all)
    rlvr train scenarios/quickstart.yaml --set rl_steps=100 [--resume [--force]]
    rlvr eval --run runs/quickstart                                 a trained run, with its own eval settings
    rlvr eval --run runs/quickstart --sampling-seeds 0 1 2          sampled metrics' mean and spread
    rlvr eval --env rlvr/Countdown-v0 --base-url http://localhost:8000/v1 --model NAME
    rlvr report runs/quickstart                                     rebuild a run's report.html
    rlvr algorithms [NAME]                                          training plug-ins by kind, or one
    rlvr serve rlvr/Countdown-v0 --port 8000                        envs over HTTP/WebSocket (rlvr.serve)
    rlvr --version                                                  `rlvr 0.1.0`

A failure is one `rlvr: error: ...` line on stderr, never a traceback: exit code 2 for a bad
request (an argument, a config value, an id), 1 for what surrounds it (an optional extra not
installed, with the pip command that installs it; a server that cannot be reached; a file that
cannot be read or written; anything unexpected), 130 for Ctrl-C. `--debug` (anywhere on the line)
or RLVR_DEBUG=1 lets the exception through with its traceback. Warnings print as `rlvr: warning:`.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
import warnings
from collections.abc import Sequence
from typing import Any

import yaml

from rlvr import __version__, registration
from rlvr.cli_errors import describe_error, show_warning, silence_stdout
from rlvr.core.hints import did_you_mean
from rlvr.training.metrics import wilson_interval

AGENTS = ("random", "oracle")

def _task_knobs(entry: registration.EnvEntry) -> list[Any]:
    task = entry.card.task  # the card sits on the env class: this imports the env's module
    return [] if task is None else list(task.knobs)


def cmd_list(args: argparse.Namespace) -> int:
    if args.id:
        entry = registration.entry(args.id)
        card = entry.card
        print(f"{entry.id}  ({entry.kind})\n\n{card.summary}\n")
        print(f"observation: {card.observation}\naction:      {card.action}\nreward:      {card.reward}")
        if entry.vector_entry_point:
            print("vector:      native batched implementation (gym.make_vec(..., vectorization_mode='vector_entry_point'))")
        knobs = _task_knobs(entry)
        if knobs:
            print("\ndifficulty knobs (constructor keywords, or reset(options={'difficulty': {...}})):")
            for knob in knobs:
                print(f"  {knob.describe()}")
        return 0
    rows = [(e.id, e.kind, ", ".join(k.name for k in _task_knobs(e))) for e in registration.ENTRIES]
    width = max(len(r[0]) for r in rows)
    print(f"{'id':<{width}}  {'kind':<10}  knobs")
    for env_id, kind, knobs in rows:
        print(f"{env_id:<{width}}  {kind:<10}  {knobs}")
    print("\n`rlvr list ID` shows an id's doc card.")
    return 0


def _parse_sets(pairs: Sequence[str], flag: str = "--set") -> dict[str, Any]:
    """`--set key=value` pairs; values are read as YAML scalars/lists (5 -> int, a -> str)."""
    parsed = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"{flag} expects key=value, got {pair!r}")
        parsed[key.strip()] = yaml.safe_load(value)
    return parsed


def cmd_play(args: argparse.Namespace) -> int:
    import gymnasium as gym
    from tqdm import tqdm

    from rlvr.agents import OracleAgent, RandomAgent
    from rlvr.agents.rollout import play_episode

    if registration.entry(args.id).kind != "gymnasium":  # unknown ids fail here, with suggestions
        raise ValueError(f"{args.id} is a multi-agent env: use rlvr.make_multi or `rlvr run` with a scenario")
    env = gym.make(args.id, render_mode="ansi", **_parse_sets(args.set))
    agent = OracleAgent([env]) if args.agent == "oracle" else RandomAgent(env.action_space, seed=args.seed)
    correct, total_reward, transcript = 0, 0.0, ""
    for episode in tqdm(range(args.episodes), desc=f"{args.agent} on {args.id}", disable=None, file=sys.stderr):
        outcome = play_episode(env, agent, seed=args.seed if episode == 0 else None)
        correct += outcome.correct
        total_reward += outcome.total_reward
        if episode == 0:
            transcript = outcome.transcript
    low, high = wilson_interval(correct, args.episodes)
    print(f"{args.id}  agent={args.agent}  episodes={args.episodes}  seed={args.seed}")
    print(f"pass rate {correct / args.episodes:.3f}  (95% CI {low:.3f}-{high:.3f})  mean reward {total_reward / args.episodes:.3f}")
    if transcript:
        print("\nfirst episode:\n" + transcript)
    env.close()
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from rlvr.serve.app import serve
    from rlvr.serve.sessions import ServeConfig

    if not 0 <= args.port <= 65535:
        raise ValueError(f"--port must be in [0, 65535], got {args.port}")
    config = ServeConfig.of(args.ids, max_sessions=args.max_sessions, session_ttl=args.session_ttl,
                            step_timeout=args.step_timeout)
    serve(config, args.host, args.port)
    return 0


EXPERIMENTS = {"debate": "rlvr.experiments.debate:run_scenario", "compare": "rlvr.training.compare:run_scenario"}
"""Scenario `experiment:` values and the runner each one goes to."""


BUILTIN_SCENARIOS = pathlib.Path(__file__).parent / "scenarios"
"""Scenarios shipped inside the package, so `rlvr train quickstart` works after a plain install."""


def resolve_scenario(name: str) -> pathlib.Path:
    """A scenario path, else scenarios/NAME.yaml under the working directory, else a built-in NAME."""
    candidates = [pathlib.Path(name), pathlib.Path("scenarios") / f"{name}.yaml", BUILTIN_SCENARIOS / f"{name}.yaml"]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    known = sorted({p.stem for folder in (pathlib.Path("scenarios"), BUILTIN_SCENARIOS) for p in folder.glob("*.yaml")})
    raise ValueError(f"no scenario file {name!r} (looked at {[str(c) for c in candidates]})" + did_you_mean(name, known))


def cmd_run(args: argparse.Namespace) -> int:
    path = resolve_scenario(args.scenario)
    scenario = yaml.safe_load(path.read_text()) or {}
    experiment = scenario.get("experiment") if isinstance(scenario, dict) else None
    if experiment not in EXPERIMENTS:
        raise ValueError(
            f"{path}: 'experiment' must be one of {sorted(EXPERIMENTS)}, got {experiment!r}"
            + did_you_mean(str(experiment), EXPERIMENTS)
        )
    out = args.out or str(pathlib.Path("runs") / path.stem)
    # progress: None = bars when stderr is a terminal; --no-progress turns them off
    registration.load(EXPERIMENTS[experiment])(str(path), out, progress=False if args.no_progress else None)
    print(f"\noutputs written to {out}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from rlvr.training.trainer import train_from_scenario

    if args.force and not args.resume:
        raise ValueError("--force goes with --resume (it resumes even when the config changed)")
    overrides = list(args.set) + (["resume=true"] if args.resume else [])
    overrides += ["force_resume=true"] if args.force else []
    summary = train_from_scenario(resolve_scenario(args.scenario), overrides, args.out)
    if os.environ.get("RANK", "0").strip() in ("", "0"):  # under a launcher, rank 0 speaks for the run
        print(yaml.safe_dump(summary, sort_keys=False) if isinstance(summary, dict) else summary)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from rlvr.training.eval_report import default_out, write_evaluation
    from rlvr.training.evaluation_run import parse_extra_body, run_evaluation
    from rlvr.training.metrics import rounded

    responses: list = []  # greedy responses (multi-turn: episodes) for the report
    metrics = run_evaluation(
        run=args.run, env_id=args.env, model=args.model, base_url=args.base_url, endpoint=args.endpoint,
        problems=args.problems, samples=args.samples, ks=args.k, split=args.split, seed=args.seed,
        difficulty=_parse_sets(args.set), task_options=_parse_sets(args.option, "--option"),
        max_new_tokens=args.max_new_tokens, temperature=args.temperature,
        prompt_template=args.prompt_template, paraphrases=args.paraphrase,
        sampling_seeds=args.sampling_seeds, sweep=_parse_sets(args.sweep, "--sweep"),
        progress=False if args.no_progress else True if args.progress else None,
        extra_body=parse_extra_body(args.extra_body), responses=responses,
    )
    print(yaml.safe_dump(rounded(metrics), sort_keys=False))  # 4 significant digits, not raw float32
    out = args.out or default_out(args.run)
    report = write_evaluation(out, metrics, responses, {**vars(args), "sweep_values": _parse_sets(args.sweep, "--sweep")})
    print(f"report: {report}", file=sys.stderr)  # stdout stays the YAML of the metrics
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from rlvr.training.report import write_report

    try:
        path = write_report(args.run_dir)
    except OSError as error:  # no such folder, or one the report cannot be written into
        raise ValueError(str(error)) from None
    print(f"wrote {path}")
    return 0


def cmd_algorithms(args: argparse.Namespace) -> int:
    from rlvr.training.algorithms import describe, listing

    print(describe(args.name) if args.name else listing())
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from rlvr.export import export_dataset

    rows = export_dataset(args.id, args.n, args.seed, args.out, split=args.split, env_kwargs=_parse_sets(args.set),
                          progress=False if args.no_progress else None)
    print(f"wrote {rows} problems of {args.id} (split {args.split}) to {args.out}")
    return 0


def _count(text: str) -> int:
    """An argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return value


class _HelpFormatter(argparse.HelpFormatter):
    """argparse before Python 3.13 measures command names without their indent, so `algorithms`
    pushed its summary to a second line: this counts the indent."""

    def add_argument(self, action: argparse.Action) -> None:
        super().add_argument(action)
        if isinstance(action.choices, dict) and action.help is not argparse.SUPPRESS:  # the commands
            longest = max(map(len, action.choices), default=0)
            self._action_max_length = max(self._action_max_length,
                                          longest + self._current_indent + self._indent_increment)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rlvr", description=__doc__.split("\n\n")[0], formatter_class=_HelpFormatter,
        epilog="`rlvr COMMAND -h` shows a command's options. A failure prints one `rlvr: error:` line; "
               "--debug (or RLVR_DEBUG=1) shows its traceback instead.",
    )
    parser.add_argument("--version", action="version", version=f"rlvr {__version__}")
    parser.add_argument("--debug", action="store_true", help="let errors through with their traceback")
    # --debug after the command too (`rlvr eval ... --debug`); SUPPRESS keeps the subparser from
    # overwriting a --debug given before the command with its own default
    debug = argparse.ArgumentParser(add_help=False)
    debug.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", required=True, title="commands", metavar="COMMAND")

    def command(name: str, summary: str) -> argparse.ArgumentParser:
        # the summary is one line under 80 columns in `rlvr -h`, and the command's own description
        return commands.add_parser(name, help=summary, description=summary[0].upper() + summary[1:] + ".",
                                   parents=[debug])

    listing = command("list", "list env ids, or show one id's doc card")
    listing.add_argument("id", nargs="?", help="an env id, e.g. rlvr/MathTree-v0")
    listing.set_defaults(func=cmd_list)
    play = command("play", "play an env with a random or oracle agent")
    play.add_argument("id", help="an env id, e.g. rlvr/MathTree-v0")
    play.add_argument("--agent", choices=AGENTS, default="random")
    play.add_argument("--episodes", type=_count, default=20)
    play.add_argument("--seed", type=int, default=0)
    play.add_argument("--set", action="append", default=[], metavar="KNOB=VALUE", help="a constructor keyword or difficulty knob")
    play.set_defaults(func=cmd_play)
    run = command("run", "run an experiment scenario (YAML): debate, compare")
    run.add_argument("scenario", help="a scenario file, or the name of one in ./scenarios")
    run.add_argument("--out", help="output folder (default runs/<scenario name>)")
    run.add_argument("--no-progress", action="store_true", help="no progress bars (none either when stderr is not a terminal)")
    run.set_defaults(func=cmd_run)
    train = command("train", "train a policy from a scenario (YAML)")
    train.add_argument("scenario", help="a scenario file, or the name of one in ./scenarios")
    train.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key")
    train.add_argument("--out", help="run folder (default: the scenario's out_dir)")
    train.add_argument("--resume", action="store_true", help="continue from the run folder's last checkpoint")
    train.add_argument("--force", action="store_true",
                       help="with --resume: continue even if the config differs from the checkpoint's")
    train.set_defaults(func=cmd_train)
    evaluation = command("eval", "held-out metrics of a run, a local model or a server")
    evaluation.add_argument("--run", help="a training run folder (its config and newest checkpoint)")
    evaluation.add_argument("--env", help="env id (default: the run's)")
    evaluation.add_argument("--model", help="a local Hugging Face model path, 'tiny', or the served model's name")
    evaluation.add_argument("--base-url", help="an OpenAI-compatible server, e.g. http://localhost:8000/v1")
    evaluation.add_argument("--endpoint", choices=("chat", "completions"), default="chat")
    evaluation.add_argument("--problems", type=int, help="held-out problems (default: the run's, or 200)")
    evaluation.add_argument("--samples", type=int,
                            help="samples per problem for pass@k (default: the run's, or 0: greedy only)")
    evaluation.add_argument("--k", type=int, nargs="+",
                            help="k of pass@k / maj@k (default: the run's that fit in --samples, or 1)")
    evaluation.add_argument("--split", choices=("eval", "test", "heldout"),
                            help="held-out problems (default: the run's split, else 'eval')")
    evaluation.add_argument("--seed", type=int, help="problem and sampling seed (default: the run's, or 0)")
    evaluation.add_argument("--sampling-seeds", type=int, nargs="+", metavar="S",
                            help="repeat the sampled metrics with these sampling seeds on the same problems: "
                                 "their mean and spread (0 is the default seed)")
    evaluation.add_argument("--max-new-tokens", type=int, help="longest completion (default: the run's, or 256)")
    evaluation.add_argument("--temperature", type=float,
                            help="sampling temperature for pass@k (default: the run's, or 1.0)")
    evaluation.add_argument("--prompt-template", help="prompt format string (default: the run's, or the task's)")
    evaluation.add_argument("--paraphrase", action="append", metavar="TEMPLATE",
                            help="a prompt template variant (give two or more): the same problems under each "
                                 "wording, metrics' mean and spread")
    evaluation.add_argument("--set", action="append", default=[], metavar="KNOB=VALUE", help="a difficulty knob")
    evaluation.add_argument("--sweep", action="append", default=[], metavar="KNOB=[V1, V2]",
                            help="held-out problems at each of these knob values; solve rates (and pass@k) per level")
    evaluation.add_argument("--progress", action="store_true",
                            help="a progress bar even when stderr is not a terminal")
    evaluation.add_argument("--no-progress", action="store_true", help="no progress bar")
    evaluation.add_argument("--out", help="folder for results.json, samples.jsonl and report.html "
                                          "(default: RUN/eval with --run, else runs/eval)")
    evaluation.add_argument("--option", action="append", default=[], metavar="NAME=VALUE",
                            help="a task option, e.g. reward_mode=f1 (default: the run's)")
    evaluation.add_argument("--extra-body", metavar="JSON",
                            help="""with --base-url: fields added to every request, a JSON object such as
                                 '{"top_k": 20}' (at most 16 KiB, 16 levels deep)""")
    evaluation.set_defaults(func=cmd_eval)
    report = command("report", "rebuild a training run's report.html")
    report.add_argument("run_dir", help="a training run folder, e.g. runs/quickstart")
    report.set_defaults(func=cmd_report)
    algorithms = command("algorithms", "list training plug-ins by kind, or describe one")
    algorithms.add_argument("name", nargs="?", help="a plug-in name, e.g. unlikeliness")
    algorithms.set_defaults(func=cmd_algorithms)
    served = command("serve", "serve env ids over HTTP and WebSocket sessions")
    served.add_argument("ids", nargs="*", metavar="ID", help="env ids to serve (default: every single-agent id)")
    served.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback only)")
    served.add_argument("--port", type=int, default=8000)
    served.add_argument("--max-sessions", type=_count, default=256, help="sessions open at once")
    served.add_argument("--session-ttl", type=float, default=300.0, help="seconds idle before a session is closed")
    served.add_argument("--step-timeout", type=float, default=30.0,
                        help="seconds a reset or step may run before its session ends with an error")
    served.set_defaults(func=cmd_serve)
    export = command("export", "write an env's problems to .jsonl or .parquet")
    export.add_argument("id", help="a single-agent env id, e.g. rlvr/Countdown-v0")
    export.add_argument("--n", type=int, default=1000, help="number of problems")
    export.add_argument("--seed", type=int, default=0)
    export.add_argument("--out", required=True, help="output file, .jsonl or .parquet")
    export.add_argument("--split", choices=("train", "eval", "test", "all"), default="train",
                        help="problems of this split only (default: train; 'all' mixes every split)")
    export.add_argument("--set", action="append", default=[], metavar="KNOB=VALUE",
                        help="a difficulty knob or constructor keyword")
    export.add_argument("--no-progress", action="store_true", help="no progress bar (none either when stderr is not a terminal)")
    export.set_defaults(func=cmd_export)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.debug or os.environ.get("RLVR_DEBUG", "").strip() not in ("", "0"):
        return args.func(args)  # exceptions and warnings as Python shows them
    with warnings.catch_warnings():
        warnings.showwarning = show_warning
        try:
            return args.func(args)
        except BrokenPipeError:  # `rlvr list | head`: the reader left; nothing to say, nothing to flush
            silence_stdout()
            return 1
        except (Exception, KeyboardInterrupt) as exc:
            message, code = describe_error(exc, args.command)
            print(f"rlvr: error: {message}", file=sys.stderr)
            return code


if __name__ == "__main__":
    raise SystemExit(main())
