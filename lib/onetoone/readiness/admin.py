"""Survey administration: create a survey with personal links, serve it, follow it, export it.

Used by ``onetoone survey ...`` (see :mod:`onetoone.readiness.cli`) and by tests.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd

from .. import paths
from .model import GROUPS
from .store import SurveyStore

SURVEY_NOTEBOOK = paths.NOTEBOOKS / "readiness_survey.ipynb"
VOILA_JSON = paths.ROOT / "voila.json"
DEFAULT_PORT = 8866


def parse_groups(specs: list[str]) -> dict[str, int]:
    """``["managers=10", "customers=100"]`` -> ``{"managers": 10, "customers": 100}``."""
    out: dict[str, int] = {}
    for spec in specs:
        name, sep, count = spec.partition("=")
        name = name.strip().lower()
        if not sep or name not in GROUPS:
            raise ValueError(f"--group {spec!r}: expected GROUP=COUNT with GROUP one of "
                             f"{list(GROUPS)}, e.g. managers=10")
        try:
            n = int(count)
        except ValueError:
            raise ValueError(f"--group {spec!r}: expected a whole number after '=', found {count!r}") from None
        if n < 0:
            raise ValueError(f"--group {spec!r}: expected a count >= 0, found {n}")
        if name in out:
            raise ValueError(f"--group {name} given twice")
        out[name] = n
    if not out:
        raise ValueError("expected at least one --group GROUP=COUNT, e.g. --group managers=10")
    return out


def survey_link(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/?token={token}"


def create_survey(cfg, groups: dict[str, int], base_url: str, out: str | Path | None = None,
                  title: str | None = None) -> tuple[str, Path, pd.DataFrame]:
    """Create a survey for the client and write the personal links to a CSV.

    Returns
    -------
    survey_id, csv_path, links
        ``links`` has columns survey_id, group, token, link. The CSV is written with mode 0600
        beside the client config (``<stem>_survey_links_<survey_id>.csv``) unless ``out`` says.
    """
    with SurveyStore(cfg.survey_db_url) as store:
        survey_id, tokens = store.create_survey(cfg.client, groups, title=title,
                                                base_url=base_url.rstrip("/"))
    tokens["link"] = [survey_link(base_url, t) for t in tokens["token"]]
    stem = cfg.config_path.stem if cfg.config_path else "client"
    path = Path(out) if out else cfg.base_dir / f"{stem}_survey_links_{survey_id}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an existing file keeps its mode through O_CREAT: set it
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
        tokens.to_csv(fh, index=False)
    return survey_id, path, tokens


def export_answers(cfg, out: str | Path, survey_id: str | None = None,
                   include_drafts: bool = False) -> pd.DataFrame:
    """Write every submitted answer (one row per respondent and item) to a CSV.

    The respondent column is a short pseudonym, not the token (a token opens the survey).
    Comments, when there are any, go to ``<out stem>_comments.csv`` beside it; the paths
    written are in ``df.attrs["written"]``.
    """
    with SurveyStore(cfg.survey_db_url) as store:
        df = store.answers(survey_id, submitted_only=not include_drafts)
        comments = store.comments(survey_id)
    df = df.copy()
    codes = {t: f"R{i + 1:04d}" for i, t in enumerate(dict.fromkeys(df["token"]))}
    df.insert(1, "respondent", df["token"].map(codes))
    df = df.drop(columns=["token"])
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(out, index=False)
    written = [out]
    if len(comments):
        extra = out.with_name(out.stem + "_comments.csv")
        comments.to_csv(extra, index=False)
        written.append(extra)
    df.attrs["written"] = written
    df.attrs["comments"] = len(comments)
    return df


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


TEMPLATE_ROOT = Path(__file__).with_name("jupyter")
"""A Jupyter data folder holding the survey's Voila template (``voila/templates/onetoone-survey``)."""
TEMPLATE = "onetoone-survey"
CULL_IDLE_SECONDS = 45
CULL_INTERVAL_SECONDS = 10
"""A kernel with no open page is shut down within CULL_IDLE + CULL_INTERVAL seconds (under a
minute) of its last message; the page's close-tab shutdown usually frees it at once."""


KERNEL_MANAGER = "onetoone.readiness.server.SurveyKernelManager"
"""Culls like jupyter_server's, but never a kernel that is still starting (a loaded server)."""
DEFAULT_WARM = 3
"""Preheated kernels when the machine's memory cannot be read (see :func:`default_warm`)."""
KERNEL_MB = 100
"""Memory of one survey kernel with the form imported (measured 90 MB RSS)."""
MAX_WARM = 30
EXTENSIONS_NOT_NEEDED = ("jupyterlab-plotly", "anywidget", "jupyterlab_pygments",
                         "@voila-dashboards/jupyterlab-preview")
"""JupyterLab extensions installed in the environment that the form does not use: Voila's page
loads every installed one, and plotly's alone is 4.7 MB of the page's 9.9 MB."""


def default_warm(max_respondents: int = 40, meminfo: str = "/proc/meminfo") -> int:
    """Preheated kernels for a server: a quarter of the memory available now at
    :data:`KERNEL_MB` each, at most the kernel cap and :data:`MAX_WARM`, at least 1.

    A respondent given a preheated kernel sees the form within ~2 s; one who is not waits for a
    kernel start (~2.5 s of CPU), behind the others who arrived at the same time.
    """
    try:
        with open(meminfo, encoding="ascii") as fh:
            avail_kb = next(int(line.split()[1]) for line in fh if line.startswith("MemAvailable:"))
    except (OSError, StopIteration, ValueError, IndexError):
        return min(DEFAULT_WARM, max(1, max_respondents))
    by_memory = int(avail_kb / 1024 * 0.25 / KERNEL_MB)
    return max(1, min(by_memory, max_respondents, MAX_WARM))


IOPUB_TIMEOUT_SECONDS = 300
"""How long a cell's output may trail its execute reply before Voila gives up on it."""


def voila_command(port: int = DEFAULT_PORT, ip: str = "127.0.0.1", token: str | None = None,
                  warm: int | None = None) -> list[str]:
    """The Voila command line for the one survey notebook (never directory mode).

    Voila runs with the survey's front door (:mod:`onetoone.readiness.server`: unknown and used
    links and the kernel cap are answered before any kernel starts) and its own template. Safety
    settings come from the shipped voila.json (read from the folder Voila starts in, which
    :func:`serve` makes the repository root) and are repeated on the command line.

    ``warm``: preheated kernels (``None``: :func:`default_warm`). With a pool, a cell has no
    execution timeout: a pooled kernel's last cell waits for its respondent, and with voila.json's
    60 s a kernel that waited longer than a minute served a page without the form (measured).
    Without one, a cell gets 300 s (a crowd on 2 cores).
    """
    if warm is None:
        warm = default_warm()
    cmd = [sys.executable, "-m", "onetoone.readiness.server", str(SURVEY_NOTEBOOK), f"--port={port}",
           f"--Voila.ip={ip}", "--no-browser", "--Voila.port_retries=0",
           "--VoilaConfiguration.strip_sources=True", "--VoilaConfiguration.show_tracebacks=False",
           f"--VoilaConfiguration.template={TEMPLATE}",
           "--VoilaConfiguration.allow_template_override=NO",
           "--VoilaConfiguration.allow_theme_override=NO",
           f"--MappingKernelManager.cull_idle_timeout={CULL_IDLE_SECONDS}",
           f"--MappingKernelManager.cull_interval={CULL_INTERVAL_SECONDS}",
           "--MappingKernelManager.cull_connected=False",
           f"--VoilaConfiguration.multi_kernel_manager_class={KERNEL_MANAGER}"]
    cmd.append("--VoilaConfiguration.extension_denylist="
               + repr(list(EXTENSIONS_NOT_NEEDED)).replace(" ", ""))
    cmd.append("--VoilaExecutor.startup_timeout=300")  # a kernel booting in a crowd on 2 cores
    # After a cell's reply, nbclient waits iopub_timeout (default 4 s) for the rest of its output
    # and then drops it silently: in a crowd the form's display message (behind hundreds of
    # widget comm_opens) came later, and the page was served without the form (measured: 4 of
    # 10 pages at once, "Timeout waiting for IOPub output"). The wait ends at the kernel's idle
    # status, so a long limit costs nothing when the server keeps up.
    cmd.append(f"--VoilaExecutor.iopub_timeout={IOPUB_TIMEOUT_SECONDS}")
    if warm > 0:
        cmd += ["--VoilaConfiguration.preheat_kernel=True",
                f"--VoilaConfiguration.default_pool_size={int(warm)}",
                "--VoilaExecutor.timeout=-1"]
    else:
        cmd.append("--VoilaExecutor.timeout=300")
    if token is not None:
        cmd.append(f"--Voila.token={token}")
    return cmd


def voila_env(config_path: str | Path | None, db_url: str | None = None,
              max_kernels: int | None = None) -> dict[str, str]:
    """The survey server's environment: the client's DB URL (kernels and the front door read it),
    the template folder on ``JUPYTER_PATH``, the kernel cap."""
    env = dict(os.environ)
    env.pop("PYTEST_CURRENT_TEST", None)
    if config_path:
        env["ONETOONE_CONFIG"] = str(Path(config_path).resolve())
        # what the kernels refuse (malformed widget messages) is logged here, never to the page
        env.setdefault("ONETOONE_SURVEY_LOG", str(Path(config_path).resolve().with_name(
            Path(config_path).stem + "_survey_kernels.log")))
        if not db_url:
            from ..config import load_config

            db_url = load_config(config_path).survey_db_url
    if db_url:
        env["ONETOONE_DB_URL"] = db_url
    if max_kernels is not None:
        env["ONETOONE_SURVEY_MAX_KERNELS"] = str(int(max_kernels))
    env["JUPYTER_PATH"] = os.pathsep.join(p for p in (str(TEMPLATE_ROOT), env.get("JUPYTER_PATH")) if p)
    env.setdefault("ONETOONE_PLOTLY_RENDERER", "plotly_mimetype")
    return env


def start_voila(config_path: str | Path, port: int | None = None, ip: str = "127.0.0.1",
                db_url: str | None = None, log_path: str | Path | None = None,
                max_kernels: int | None = None, warm: int | None = None) -> subprocess.Popen:
    """Start Voila on the survey notebook in the background (tests, benchmarks)."""
    port = port or free_port(ip)
    log = open(log_path, "wb") if log_path else subprocess.DEVNULL  # noqa: SIM115 - the child keeps it
    if warm is None:
        warm = default_warm(max_kernels or 40)
    proc = subprocess.Popen(voila_command(port, ip, warm=warm), cwd=str(paths.ROOT),
                            env=voila_env(config_path, db_url, max_kernels), stdout=log,
                            stderr=subprocess.STDOUT,
                            start_new_session=True)
    proc.port = port  # type: ignore[attr-defined]
    proc.warm = warm  # type: ignore[attr-defined]
    proc.base_url = f"http://{ip}:{port}"  # type: ignore[attr-defined]
    return proc


def check_public_url(url: str) -> str:
    """The respondents' address, normalised (no trailing slash), or ValueError saying why not.

    https is required except for a loopback address (a test or a laptop); the survey is served
    at the root of the address (no path prefix).
    """
    from urllib.parse import urlsplit

    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r}: expected an address such as https://survey.example.com")
    if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError(f"{url!r}: respondents' links must use https (TLS) unless the host is "
                         f"127.0.0.1 or localhost")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"{url!r}: expected the address without a path, query or fragment "
                         f"(the survey is served at the root)")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise ValueError(f"{url!r}: the port is not a number 1-65535") from None
    return f"{parts.scheme}://{parts.netloc}"


def same_address(a: str, b: str) -> bool:
    """Do two base URLs reach the same server (scheme, host, port; default ports filled in)?"""
    from urllib.parse import urlsplit

    def key(u: str):
        p = urlsplit(u.rstrip("/"))
        host = (p.hostname or "").lower()
        host = "127.0.0.1" if host in ("localhost", "::1") else host
        return p.scheme, host, p.port or (443 if p.scheme == "https" else 80)

    return key(a) == key(b)


NGINX_TEMPLATE = """\
# The readiness survey of {client}, behind nginx with TLS.
# Written by `onetoone survey serve --public-url {public_url} --proxy-config ...`.
#
# Debian: sudo apt-get install nginx; copy this file to /etc/nginx/sites-available/onetoone-survey,
#   sudo ln -s ../sites-available/onetoone-survey /etc/nginx/sites-enabled/
#   sudo nginx -t && sudo systemctl reload nginx
# Certificate: certbot (Let's Encrypt) for {host}, or the client's own; the paths are below.
# Voila listens on 127.0.0.1:{port} only; nginx is the one public door.

map $http_upgrade $onetoone_survey_connection {{
    default upgrade;
    ''      close;
}}

# The personal link's token is in the query string: log the path only, never the token.
log_format onetoone_survey '$remote_addr [$time_local] "$request_method $uri" $status $body_bytes_sent';
{redirect}
server {{
    listen {listen} ssl;
    server_name {host};

    ssl_certificate     {cert};
    ssl_certificate_key {key};
    ssl_protocols       TLSv1.2 TLSv1.3;

    access_log {access_log} onetoone_survey;
    client_max_body_size 1m;
    add_header Strict-Transport-Security "max-age=31536000" always;
    add_header Referrer-Policy "no-referrer" always;
    add_header X-Content-Type-Options "nosniff" always;

    # The page's scripts and styles (4.9 MB in 92 files, sent uncompressed by Voila): gzipped
    # here, about a quarter of that over a respondent's phone connection. Not the page itself:
    # it streams, and compressing it would hold the survey's name back.
    location ~ ^/voila/(static|templates|labextensions)/ {{
        proxy_pass http://127.0.0.1:{port};
        proxy_http_version 1.1;
        proxy_set_header Host $http_host;
        gzip on;
        gzip_proxied any;
        gzip_min_length 1024;
        gzip_types application/javascript text/javascript text/css application/json image/svg+xml;
    }}

    location / {{
        proxy_pass http://127.0.0.1:{port};
        proxy_http_version 1.1;
        proxy_set_header Host $http_host;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection $onetoone_survey_connection;
        proxy_buffering off;            # the page streams: the survey's name shows at once
        proxy_read_timeout 3600s;       # the form's websocket stays open while it is answered
    }}
}}
"""


def nginx_config(public_url: str, port: int, client: str = "the client", cert: str | None = None,
                 key: str | None = None, listen_ip: str | None = None,
                 access_log: str = "/var/log/nginx/onetoone_survey.log") -> str:
    """A Debian nginx site for the survey: TLS at ``public_url``, proxied to Voila on 127.0.0.1."""
    from urllib.parse import urlsplit

    url = check_public_url(public_url)
    parts = urlsplit(url)
    if parts.scheme != "https":
        raise ValueError(f"{public_url!r}: the proxy serves https; give an https:// address")
    host = parts.hostname
    public_port = parts.port or 443
    listen = f"{listen_ip}:{public_port}" if listen_ip else str(public_port)
    redirect = ("" if public_port != 443 else
                f"\nserver {{\n    listen 80;\n    server_name {host};\n"
                f"    return 301 https://$host$request_uri;\n}}\n")
    return NGINX_TEMPLATE.format(
        client=client.replace("\n", " "), public_url=url, host=host, port=int(port),
        listen=listen, redirect=redirect, access_log=access_log,
        cert=cert or f"/etc/letsencrypt/live/{host}/fullchain.pem",
        key=key or f"/etc/letsencrypt/live/{host}/privkey.pem")


def write_private(path: str | Path, text: str, mode: int = 0o600) -> Path:
    """Write ``text`` to ``path`` with ``mode`` (also when the file already existed)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    os.fchmod(fd, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    return path
