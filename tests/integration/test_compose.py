"""docker-compose.yml (Docker cannot run here): its shape matches the commands and settings."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.main import get_command

from app.cli import cli
from app.settings import WEBHOOK_SECRET_PREFIX, Settings

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict:
    data: dict = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return data


def test_compose_has_postgres_one_api_and_two_workers() -> None:
    services = compose()["services"]
    assert services["db"]["image"].startswith("postgres:")
    app = {name: s for name, s in services.items() if name != "db"}
    commands = {name: s["command"] for name, s in app.items()}
    assert commands["api"][:2] == ["passerelle", "serve"] and "--no-worker" in commands["api"]
    assert sorted(n for n, c in commands.items() if c == ["passerelle", "worker"]) == [
        "worker-1", "worker-2"]
    known = set(get_command(cli).commands)  # type: ignore[attr-defined]
    assert {c[1] for c in commands.values()} <= known
    for service in app.values():
        assert service["build"] == "."
        assert service["depends_on"]["db"]["condition"] == "service_healthy"
    assert (ROOT / "Dockerfile").is_file()


def test_compose_environment_uses_only_settings_names() -> None:
    aliases = {f.validation_alias for f in Settings.model_fields.values()}
    for name, service in compose()["services"].items():
        if name == "db":
            continue
        env = service["environment"]
        assert env["PASSERELLE_DATABASE_URL"].startswith("postgresql://")
        for key in env:
            assert key in aliases or key.startswith(WEBHOOK_SECRET_PREFIX), (name, key)
        # Secrets are passed through from the operator's environment, never written here.
        for key in ("PASSERELLE_ADMIN_TOKEN", "SLACK_BOT_TOKEN", "NOTION_TOKEN"):
            assert str(env[key]).startswith("${"), key
