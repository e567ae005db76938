"""`matchday flower`: Flower's command line, never open by default.

Flower shows every task's arguments and can revoke tasks and shut workers down, so it starts
only behind basic auth (FLOWER_BASIC_AUTH) or OAuth (FLOWER_AUTH + FLOWER_AUTH_PROVIDER +
FLOWER_OAUTH2_*), unless `--insecure-no-auth` says a developer means it. Credentials reach
Flower through its own FLOWER_* environment variables in this process, never through argv,
which any user of the machine can read (`ps`).
"""

from __future__ import annotations

import logging
import os

from config.settings import Settings

log = logging.getLogger("matchday.flower")
PROVIDERS = {
    "google": "flower.views.auth.GoogleAuth2LoginHandler",
    "github": "flower.views.auth.GithubLoginHandler",
    "gitlab": "flower.views.auth.GitLabLoginHandler",
    "okta": "flower.views.auth.OktaLoginHandler",
}


class FlowerAuthMissing(Exception):
    """Neither basic auth nor OAuth is configured, and no explicit insecure flag."""


def flower_argv(settings: Settings, port: int, address: str, *, insecure: bool) -> list[str]:
    """Celery's argv for Flower; puts the credentials in this process's environment."""
    env = flower_environment(settings)
    if not env and not insecure:
        raise FlowerAuthMissing(
            "Flower needs authentication: set FLOWER_BASIC_AUTH (user:password) or "
            "FLOWER_AUTH with FLOWER_AUTH_PROVIDER and FLOWER_OAUTH2_* "
            "(or pass --insecure-no-auth on a development machine)"
        )
    if not env:
        log.warning("Flower runs WITHOUT authentication (--insecure-no-auth)")
    # Flower would also read these from the environment we were started with: only ours count.
    for name in [n for n in os.environ if n.startswith(("FLOWER_BASIC_AUTH", "FLOWER_AUTH"))]:
        del os.environ[name]
    os.environ.update(env)
    return ["flower", f"--port={port}", f"--address={address}"]


def flower_environment(settings: Settings) -> dict[str, str]:
    """Flower's own variables for the configured authentication (empty: none configured)."""
    env: dict[str, str] = {}
    if settings.flower_basic_auth:
        env["FLOWER_BASIC_AUTH"] = ",".join(settings.flower_basic_auth)
    if settings.flower_auth:
        env["FLOWER_AUTH"] = settings.flower_auth
        env["FLOWER_AUTH_PROVIDER"] = PROVIDERS[settings.flower_auth_provider]
        env["FLOWER_OAUTH2_KEY"] = settings.flower_oauth2_key
        env["FLOWER_OAUTH2_SECRET"] = settings.flower_oauth2_secret
        if settings.flower_oauth2_redirect_uri:
            env["FLOWER_OAUTH2_REDIRECT_URI"] = settings.flower_oauth2_redirect_uri
    return env
