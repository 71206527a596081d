"""``onetoone survey``: create, serve, status, export, results.

Registered into the main command by :func:`add_parser`; runs alone as
``python -m onetoone.readiness.cli survey ...`` too.
"""

from __future__ import annotations

import argparse
import os
import sys

from .. import paths
from . import admin


def _cfg(path: str):
    from ..config import load_config

    return load_config(path)


def cmd_create(args: argparse.Namespace) -> int:
    cfg = _cfg(args.config)
    try:
        groups = admin.parse_groups(args.group or [])
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    base = args.base_url or f"http://127.0.0.1:{admin.DEFAULT_PORT}"
    survey_id, path, _links = admin.create_survey(cfg, groups, base, out=args.out, title=args.title)
    print(f"survey {survey_id} for {cfg.client}: "
          + ", ".join(f"{n} {g}" for g, n in groups.items()))
    print(f"personal links (keep private; each opens one respondent's answers): {path}")
    print(f"responses database: {_safe_url(cfg.survey_db_url)}")
    return 0


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def cmd_serve(args: argparse.Namespace) -> int:
    cfg = _cfg(args.config)
    from .store import SurveyStore

    with SurveyStore(cfg.survey_db_url) as store:  # creates the tables, checks the DB answers
        if args.token and store.respondent(args.token) is None:
            print("error: --token is not a respondent token of this client's survey", file=sys.stderr)
            return 2
    base = f"http://{args.ip}:{args.port}"
    print(f"serving the readiness survey of {cfg.client} on {base} (Ctrl-C stops)")
    if args.token:
        print(f"link: {admin.survey_link(base, args.token)}")
    else:
        print(f"respondents open {base}/?token=<their token> (see the links CSV)")
    cmd = admin.voila_command(args.port, args.ip)
    env = admin.voila_env(cfg.config_path)
    os.chdir(paths.ROOT)  # voila.json is read from the folder Voila starts in
    os.execvpe(cmd[0], cmd, env)
    return 0  # pragma: no cover


def cmd_status(args: argparse.Namespace) -> int:
    cfg = _cfg(args.config)
    from .store import SurveyStore

    with SurveyStore(cfg.survey_db_url) as store:
        df = store.status(args.survey)
    if df.empty:
        print(f"no survey yet for {cfg.client}; create one with `onetoone survey create`")
        return 1
    print(f"survey {df['survey_id'].iloc[0]} for {cfg.client}")
    print(df.drop(columns=["survey_id"]).to_string(index=False))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    cfg = _cfg(args.config)
    df = admin.export_answers(cfg, args.out, survey_id=args.survey, include_drafts=args.drafts)
    print(f"{len(df):,} answers of {df['respondent'].nunique():,} respondents written to {args.out}")
    return 0


def cmd_results(args: argparse.Namespace) -> int:
    cfg = _cfg(args.config)
    from .results import readiness_results

    res = readiness_results(cfg, survey_id=args.survey)
    print(res.summary_text())
    return 0


def add_parser(subparsers) -> None:
    """Register ``survey`` and its subcommands on the main command's subparsers."""
    p = subparsers.add_parser(
        "survey", help="the readiness survey: create links, serve, status, export, results",
        description="Run the Broad View and One-to-One Gap readiness survey for a client: create "
                    "personal links, serve the Voila app, follow responses, export and score them.")
    sub = p.add_subparsers(dest="survey_command", metavar="SUBCOMMAND", required=True)

    s = sub.add_parser("create", help="create a survey with personal links (written to a CSV)",
                       description="Create a survey for the client with respondent groups and counts; "
                                   "each respondent gets an unguessable personal link.")
    s.add_argument("config", help="client YAML")
    s.add_argument("--group", action="append", metavar="GROUP=COUNT",
                   help="respondent group and count, repeatable: managers=10 employees=40 customers=100")
    s.add_argument("--base-url", help="address respondents reach the server at "
                                      f"(default: http://127.0.0.1:{admin.DEFAULT_PORT})")
    s.add_argument("--out", help="links CSV (default: beside the client YAML)")
    s.add_argument("--title", help="survey title shown to respondents")
    s.set_defaults(func=cmd_create)

    s = sub.add_parser("serve", help="serve the survey app (Voila, one notebook, safe settings)",
                       description="Start Voila on notebooks/readiness_survey.ipynb only, with the "
                                   "shipped voila.json (sources stripped, no tracebacks, culling).")
    s.add_argument("config", help="client YAML")
    s.add_argument("--port", type=int, default=admin.DEFAULT_PORT, help="port (default: %(default)s)")
    s.add_argument("--ip", default="127.0.0.1", help="address to bind (default: %(default)s)")
    s.add_argument("--token", help="a respondent token: check it and print its personal link")
    s.set_defaults(func=cmd_serve)

    s = sub.add_parser("status", help="responses per respondent group",
                       description="Invited, opened, started and submitted per respondent group.")
    s.add_argument("config", help="client YAML")
    s.add_argument("--survey", help="survey id (default: the latest)")
    s.set_defaults(func=cmd_status)

    s = sub.add_parser("export", help="write the answers to a CSV",
                       description="One row per respondent and item (respondents pseudonymised); "
                                   "comments go to <out>_comments.csv.")
    s.add_argument("config", help="client YAML")
    s.add_argument("--out", required=True, help="CSV file to write")
    s.add_argument("--survey", help="survey id (default: the latest)")
    s.add_argument("--drafts", action="store_true", help="include answers not yet submitted")
    s.set_defaults(func=cmd_export)

    s = sub.add_parser("results", help="scores, gaps, agreement and priorities in the terminal",
                       description="Score the survey per stage and area and group, and list the "
                                   "ranked priorities (with data-measured readiness when the "
                                   "client's workspace exists).")
    s.add_argument("config", help="client YAML")
    s.add_argument("--survey", help="survey id (default: the latest)")
    s.set_defaults(func=cmd_results)


def main(argv: list[str] | None = None) -> int:
    from ..config import ConfigError

    parser = argparse.ArgumentParser(prog="onetoone")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
