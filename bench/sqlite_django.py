"""Django for a benchmark: the project's settings on a throwaway SQLite database, migrated.

Shared by the benchmarks that need the ORM but no server of their own.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path


def setup_django(tmp: str) -> None:
    """Configure and migrate Django on `<tmp>/bench.sqlite3`, with DEBUG off and no Redis."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "hindsight.settings",
            "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3",
            "DEBUG": "false",
            # Served over plain HTTP here, in process or on 127.0.0.1: no redirect to HTTPS.
            "SECURE_SSL_REDIRECT": "false",
            "SECRET_KEY": "bench-only-not-secret",
            "ALLOWED_HOSTS": "testserver",
            "SECURE_COOKIES": "false",
            "LOG_LEVEL": "ERROR",
        }
    )
    os.environ.pop("REDIS_URL", None)
    # whitenoise warns that collectstatic never ran; static files play no part here.
    warnings.filterwarnings("ignore", message="No directory at")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
