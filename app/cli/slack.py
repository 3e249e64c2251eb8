"""``passerelle slack manifest`` and ``passerelle slack sign``."""

from __future__ import annotations

import secrets
import shlex
import sys
import time
from urllib.parse import urlencode

import typer
import yaml

from app.cli.base import cli
from app.errors import PasserelleError
from app.receivers.slack_manifest import build_manifest
from app.receivers.slack_verify import sign as sign_body
from app.receivers.slack_verify import signing_secret
from app.runtime import load
from app.sandbox.slack_state import SEED_CHANNELS, SEED_USERS, TEAM_ID
from app.settings import Settings

slack = typer.Typer(help="Set up the Slack app and try commands.", no_args_is_help=True)
cli.add_typer(slack, name="slack")


@slack.command()
def manifest(
    url: str = typer.Option(..., "--url", help="Public base URL of this hub (https://...)."),
    name: str = typer.Option("Passerelle", help="App and bot name shown in Slack."),
) -> None:
    """Print the Slack app manifest (YAML) the loaded flows need."""
    if not url.startswith(("https://", "http://")):
        typer.echo("error: --url must be the hub's public base URL, e.g. https://hub.example.com",
                   err=True)
        raise typer.Exit(2)
    if url.startswith("http://"):
        typer.echo("note: Slack only calls https:// request URLs", err=True)
    flows = load(Settings())
    for problem in flows.problems:
        typer.echo(f"warning: {problem} (flow left out)", err=True)
    sys.stdout.write(yaml.safe_dump(build_manifest(flows, base_url=url, name=name),
                                    sort_keys=False, allow_unicode=True, width=100))


@slack.command("sign")
def sign_command(
    command: str = typer.Argument(..., help="The slash command, e.g. /feedback."),
    text: str = typer.Argument("", help="What the user typed after the command."),
    url: str = typer.Option("http://127.0.0.1:8000", "--url", envvar="PASSERELLE_URL",
                            help="Base URL of the hub (default: PASSERELLE_URL)."),
    user: str = typer.Option("U0ADA", "--user", help="Slack user id of the sender."),
    channel: str = typer.Option("C0FEEDBACK", "--channel", help="Slack channel id."),
) -> None:
    """Print a signed curl that sends COMMAND like Slack does (valid for 5 minutes)."""
    if not command.startswith("/"):
        command = "/" + command
    settings = Settings()
    try:
        secret = signing_secret(settings)
    except PasserelleError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    base = url.rstrip("/")
    key = secrets.token_urlsafe(9)
    if settings.slack_sandbox:
        response_url = f"{base}/sandbox/slack/response/{key}"
    else:
        response_url = f"https://hooks.slack.com/commands/{TEAM_ID}/0/{key}"
        typer.echo("note: live mode: this response_url is not a real one, so slack.respond "
                   "steps will fail; send the command from Slack to try those", err=True)
    names = dict(SEED_CHANNELS)
    user_names = {u.id: u.name for u in SEED_USERS}
    body = urlencode({
        "team_id": TEAM_ID, "team_domain": "sandbox", "channel_id": channel,
        "channel_name": names.get(channel, channel.lower()), "user_id": user,
        "user_name": user_names.get(user, user.lower()), "command": command, "text": text,
        "api_app_id": "A0PASSAPP", "is_enterprise_install": "false",
        "response_url": response_url, "trigger_id": f"{int(time.time())}.{secrets.token_hex(8)}",
    }).encode()
    headers = sign_body(secret, body)
    parts = ["curl", "-sS", "-X", "POST", f"{base}/slack/commands",
             "-H", "Content-Type: application/x-www-form-urlencoded"]
    for name, value in headers.items():
        parts += ["-H", f"{name}: {value}"]
    parts += ["--data-raw", body.decode()]
    typer.echo(" ".join(shlex.quote(p) for p in parts))
    if settings.slack_sandbox:
        typer.echo(f"# then see what the flow sent: curl -s {base}/sandbox/slack/messages",
                   err=True)
