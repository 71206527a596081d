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


def _fail(msg: str) -> int:
    print(f"error: {msg}", file=sys.stderr)
    return 2


def cmd_create(args: argparse.Namespace) -> int:
    cfg = _cfg(args.config)
    try:
        groups = admin.parse_groups(args.group or [])
        base = admin.check_public_url(args.base_url or f"http://127.0.0.1:{admin.DEFAULT_PORT}")
        if sum(groups.values()) == 0:
            raise ValueError("--group: every count is 0; invite at least one respondent, "
                             "e.g. --group managers=10")
        survey_id, path, _links = admin.create_survey(cfg, groups, base, out=args.out,
                                                      title=args.title)
    except ValueError as exc:
        return _fail(str(exc).replace("\n", " "))
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

    if not 1 <= args.port <= 65535:
        return _fail(f"--port {args.port}: expected a port 1-65535")
    if args.max_respondents < 1:
        return _fail(f"--max-respondents {args.max_respondents}: expected at least 1")
    local = f"http://{args.ip}:{args.port}"
    try:
        public = admin.check_public_url(args.public_url) if args.public_url else local
    except ValueError as exc:
        return _fail(f"--public-url {exc}")
    with SurveyStore(cfg.survey_db_url) as store:  # creates the tables, checks the DB answers
        if args.token and store.respondent(args.token) is None:
            return _fail("--token is not a respondent token of this client's survey")
        survey_id = store.latest_survey()
        links_at = store.base_url(survey_id) if survey_id else None
    if links_at and not admin.same_address(links_at, public):
        how = (f"--public-url {links_at}" if links_at.startswith("https://")
               else f"--port {links_at.rsplit(':', 1)[-1]}")
        return _fail(f"survey {survey_id}'s links point at {links_at}, but this server would be "
                     f"reached at {public}; serve with {how}, or create the links again with "
                     f"--base-url {public}")
    if args.proxy_config:
        try:
            text = admin.nginx_config(public, args.port, client=cfg.client, cert=args.tls_cert,
                                      key=args.tls_key)
        except ValueError as exc:
            return _fail(f"--proxy-config: {exc}")
        print(f"nginx site for {public} written to {admin.write_private(args.proxy_config, text, 0o644)}")
    warm = admin.default_warm(args.max_respondents) if args.preheat is None else max(0, args.preheat)
    print(f"serving the readiness survey of {cfg.client} on {local}"
          + (f", reached by respondents at {public} through the proxy" if public != local else "")
          + f"; at most {args.max_respondents} respondents at once, {warm} kernels preheated "
            f"(Ctrl-C stops)")
    if args.token:
        print(f"link: {admin.survey_link(public, args.token)}")
    else:
        print(f"respondents open {public}/?token=<their token> (see the links CSV)")
    cmd = admin.voila_command(args.port, args.ip, warm=warm)
    env = admin.voila_env(cfg.config_path, max_kernels=args.max_respondents)
    os.chdir(paths.ROOT)  # voila.json is read from the folder Voila starts in
    os.execvpe(cmd[0], cmd, env)
    return 0  # pragma: no cover


def cmd_status(args: argparse.Namespace) -> int:
    cfg = _cfg(args.config)
    from .store import SurveyStore

    with SurveyStore(cfg.survey_db_url) as store:
        if args.survey and not store.has_survey(args.survey):
            known = store.surveys()["survey_id"].tolist()
            return _fail(f"no survey {args.survey!r} for {cfg.client}; "
                         + (f"its surveys: {', '.join(known)}" if known else "it has no survey yet"))
        df = store.status(args.survey)
    if df.empty:
        print(f"no survey yet for {cfg.client}; create one with `onetoone survey create`")
        return 1
    print(f"survey {df['survey_id'].iloc[0]} for {cfg.client}")
    print(df.drop(columns=["survey_id"]).to_string(index=False))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    cfg = _cfg(args.config)
    from .store import SurveyStore

    with SurveyStore(cfg.survey_db_url) as store:
        if args.survey and not store.has_survey(args.survey):
            return _fail(f"no survey {args.survey!r} for {cfg.client}")
        if not args.survey and store.latest_survey() is None:
            return _fail(f"no survey yet for {cfg.client}; create one with `onetoone survey create`")
    try:
        df = admin.export_answers(cfg, args.out, survey_id=args.survey, include_drafts=args.drafts)
    except OSError as exc:
        return _fail(f"--out {args.out}: {exc.strerror or exc}")
    written = df.attrs.get("written", [args.out])
    print(f"{len(df):,} answers of {df['respondent'].nunique():,} respondents written to {written[0]}")
    if len(written) > 1:
        print(f"{df.attrs.get('comments', 0):,} comments written to {written[1]}")
    else:
        print("no comments to write")
    return 0


def cmd_results(args: argparse.Namespace) -> int:
    cfg = _cfg(args.config)
    from .results import readiness_results
    from .store import SurveyStore

    if args.survey:
        with SurveyStore(cfg.survey_db_url) as store:
            if not store.has_survey(args.survey):
                return _fail(f"no survey {args.survey!r} for {cfg.client}")

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
                       description="Start Voila on notebooks/readiness_survey.ipynb only, behind "
                                   "the survey's front door (unknown and used links and a full "
                                   "server answered without a kernel), with the shipped voila.json "
                                   "(sources stripped, no tracebacks, culling). Behind a reverse "
                                   "proxy with TLS: --public-url and --proxy-config.")
    s.add_argument("config", help="client YAML")
    s.add_argument("--port", type=int, default=admin.DEFAULT_PORT, help="port (default: %(default)s)")
    s.add_argument("--ip", default="127.0.0.1", help="address to bind (default: %(default)s)")
    s.add_argument("--token", help="a respondent token: check it and print its personal link")
    s.add_argument("--public-url", help="the https address respondents reach through the reverse "
                                        "proxy (links are built from it; must match create --base-url)")
    s.add_argument("--proxy-config", metavar="PATH",
                   help="write a Debian nginx site for --public-url (TLS, websockets, no tokens "
                        "in its log) proxying to this server, then serve")
    s.add_argument("--tls-cert", help="certificate path for the nginx site (default: Let's Encrypt's)")
    s.add_argument("--tls-key", help="key path for the nginx site (default: Let's Encrypt's)")
    s.add_argument("--max-respondents", type=int, default=40,
                   help="respondents with the form open at once (kernels, ~100 MB each); over it "
                        "a 'busy, retry in a minute' page (default: %(default)s)")
    s.add_argument("--preheat", type=int, default=None,
                   help="kernels kept started with the form imported, so a respondent's form "
                        "opens without waiting for a kernel (0: none; default: a quarter of the "
                        f"available memory at ~{admin.KERNEL_MB} MB each, at most "
                        f"--max-respondents and {admin.MAX_WARM})")
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
    from .store import SurveyError

    parser = argparse.ArgumentParser(prog="onetoone")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (SurveyError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
