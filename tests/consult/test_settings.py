"""Production settings pass Django's deployment checks and refuse a default key."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]
STRONG_KEY = "k7#Qz!v9Lr2$Wm8@Xp4^Tn6&Yb1*Hc5(Jd3)Fg0-Sa7+Ue9=Io2"


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "ALLOWED_HOSTS", "COMITY_RATE_PER_SECOND")
    }
    environment.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )


def test_check_deploy__passes_with_production_settings() -> None:
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        COMITY_ENV="production",
        SECRET_KEY=STRONG_KEY,
        ALLOWED_HOSTS="comity.example.org",
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_production__refuses_default_secret_key() -> None:
    result = _manage("check", COMITY_ENV="production", ALLOWED_HOSTS="comity.example.org")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


@pytest.mark.django_db
def test_headers__csp_without_unsafe_inline_and_frame_ancestors_none() -> None:
    response = Client().get("/login/")
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


def test_rate_per_socket__read_from_the_environment() -> None:
    script = "from consult.conf import comity_settings; print(comity_settings.COMITY_RATE_PER_SECOND)"
    result = _manage("shell", "--no-imports", "-c", script, COMITY_RATE_PER_SECOND="250")
    assert result.stdout.strip() == "250.0", result.stdout + result.stderr
    result = _manage("shell", "--no-imports", "-c", script)
    assert result.stdout.strip() == "50.0", result.stdout + result.stderr
