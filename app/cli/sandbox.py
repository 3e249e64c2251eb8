"""Acting as a person against the running hub's sandbox, and starting the sandbox over:
``passerelle slack send …``, ``passerelle notion edit …``, ``passerelle sandbox reset``.

Each command sends, through the hub's public routes at ``PASSERELLE_URL``, what Slack or
Notion would send (see app/sandbox/slack_people.py and notion_people.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
import typer

from app.cli.base import cli, run_async
from app.cli.notion import notion
from app.cli.slack import slack
from app.errors import PasserelleError
from app.receivers.slack_verify import signing_secret
from app.sandbox import notion_people
from app.sandbox.slack_people import SlackPerson
from app.settings import Settings

T = TypeVar("T")
send = typer.Typer(help="Act as a person in Slack: send what Slack sends, signed, to the hub.",
                   no_args_is_help=True)
slack.add_typer(send, name="send")
sandbox = typer.Typer(help="The sandbox stand-ins of Notion and Slack.", no_args_is_help=True)
cli.add_typer(sandbox, name="sandbox")

USER = typer.Option("U0ADA", "--user", help="Slack user id or name of the person (U0ADA, grace).")
CHANNEL = typer.Option("C0FEEDBACK", "--channel",
                       help="Channel id or #name (see docs/slack.md).")


def _slack(act: Callable[[SlackPerson], Awaitable[T]]) -> T:
    settings = Settings()

    async def main() -> T:
        async with httpx.AsyncClient(timeout=30) as client:
            try:
                return await act(SlackPerson(client, settings.passerelle_url,
                                             signing_secret(settings)))
            except httpx.HTTPError as exc:
                raise PasserelleError(f"cannot reach the hub at {settings.passerelle_url} "
                                      f"(PASSERELLE_URL): {exc}") from None

    return run_async(main())


def _said(answer: httpx.Response) -> None:
    text = answer.text.strip()
    typer.echo(f"sent: the hub answered {answer.status_code}" + (f": {text}" if text else ""))


@send.command("command")
def send_command(command: str = typer.Argument(..., help="The slash command, e.g. /feedback."),
                 text: str = typer.Argument("", help="What the person typed after it."),
                 user: str = USER, channel: str = CHANNEL) -> None:
    """Type a slash command as a person."""
    _said(_slack(lambda p: p.command(command, text, user=user, channel=channel)))


@send.command("message")
def send_message(text: str = typer.Argument(..., help="The message."),
                 user: str = USER, channel: str = CHANNEL) -> None:
    """Post a message in a channel as a person; prints its ts (for reaction and shortcut)."""
    ts = _slack(lambda p: p.message(text, user=user, channel=channel))
    typer.echo(ts)


@send.command("reaction")
def send_reaction(name: str = typer.Option(..., "--name", help="Emoji name, e.g. memo."),
                  ts: str = typer.Option(..., "--ts", help="The message's ts."),
                  user: str = USER, channel: str = CHANNEL) -> None:
    """Add a reaction to a message as a person."""
    _said(_slack(lambda p: p.reaction(name, user=user, channel=channel, ts=ts)))


@send.command("shortcut")
def send_shortcut(callback_id: str = typer.Argument(..., help="The shortcut's callback_id."),
                  ts: str = typer.Option(..., "--ts", help="The message's ts."),
                  user: str = USER, channel: str = CHANNEL) -> None:
    """Run a message shortcut on a message as a person."""
    _said(_slack(lambda p: p.shortcut(callback_id, user=user, channel=channel, ts=ts)))


@send.command("view")
def send_view(callback_id: str = typer.Argument(..., help="The modal's callback_id."),
              value: list[str] = typer.Option([], "--value", help="input=value (repeat)."),
              user: str = USER) -> None:
    """Submit the open modal with CALLBACK_ID as a person."""
    values = dict(_pair(v, "--value") for v in value)
    _said(_slack(lambda p: p.view(callback_id, values, user=user)))


def _pair(item: str, option: str) -> tuple[str, str]:
    name, sep, val = item.partition("=")
    if not sep or not name:
        typer.echo(f"error: {option} {item!r}: write name=value", err=True)
        raise typer.Exit(2)
    return name, val


@notion.command("edit")
def edit(page: str = typer.Argument(..., help="The page id."),
         sets: list[str] = typer.Option(..., "--set", help="Property=value (repeat)."),
         user: str = typer.Option(..., "--as", help="The person: name, email or user id.")) -> None:
    """Edit a page's properties in the sandbox as a person (fires notion.page triggers)."""
    settings = Settings()

    async def main() -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=30) as client:
            return await notion_people.edit(client, settings.passerelle_url, page,
                                            notion_people.parse_sets(sets), user=user)

    done = run_async(main())
    typer.echo(f"edited {done['id']} as {notion_people.PEOPLE[notion_people.person(user)]['name']}")


@sandbox.command("reset")
def reset(yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation.")) -> None:
    """Forget every page, message and database of the stand-ins and reseed them."""
    settings = Settings()
    if not yes and not typer.confirm("Erase the sandbox's pages, messages and databases?"):
        raise typer.Exit(1)

    async def main() -> str:
        from app.sandbox.persist import clear_stored

        token = settings.admin_token.get_secret_value() if settings.admin_token else ""
        url = f"{settings.passerelle_url.rstrip('/')}/api/sandbox/reset"
        try:
            async with httpx.AsyncClient(timeout=30) as client:
                answer = await client.post(url, headers={"Authorization": f"Bearer {token}"})
        except httpx.TransportError:  # no hub running there: clear what it stored
            await clear_stored(settings)
            return "no hub answers at PASSERELLE_URL: the stored sandbox was cleared"
        if answer.status_code != 200:
            raise PasserelleError(
                f"the hub at {settings.passerelle_url} answered {answer.status_code}: set "
                "PASSERELLE_ADMIN_TOKEN to the hub's admin token, or reset from the "
                "dashboard's Sandbox page")
        return "the sandbox was reset: seeded databases, channels and people only"

    typer.echo(run_async(main()))
