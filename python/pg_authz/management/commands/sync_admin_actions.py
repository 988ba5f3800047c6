"""``manage.py sync_admin_actions``: create the declared admin actions' permissions as Django
``Permission`` rows (no migration: they appear in the Group editor at once) and sync the actions.

Reads ``settings.PG_AUTHZ_ADMIN_ACTIONS``: the list (the seed's ``ADMIN_ACTIONS``), or a dotted
path to it.
"""

import json

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction
from django.utils.module_loading import import_string

from pg_authz.errors import translate

SECTIONS = [
    ("permissions_created", "created permission"),
    ("created", "created action"),
    ("updated", "updated action"),
    ("unchanged", "unchanged action"),
    ("pruned", "pruned action"),
    ("permissions_kept", "kept permission"),
]


class _DryRun(Exception):
    pass


def declarations():
    value = getattr(settings, "PG_AUTHZ_ADMIN_ACTIONS", None)
    if value is None:
        raise CommandError("settings.PG_AUTHZ_ADMIN_ACTIONS is not set (the ADMIN_ACTIONS list, or a dotted path to it)")
    if isinstance(value, str):
        try:
            value = import_string(value)
        except ImportError as exc:
            raise CommandError(f"PG_AUTHZ_ADMIN_ACTIONS: cannot import {value!r}: {exc}") from exc
    if not isinstance(value, (list, tuple)):
        raise CommandError("PG_AUTHZ_ADMIN_ACTIONS must be a list of action declarations")
    return list(value)


def sync(using=DEFAULT_DB_ALIAS, prune=False, dry_run=False):
    """Run the sync and return pg_authz's report; with ``dry_run`` nothing stays written."""
    payload = json.dumps(declarations())
    report = None
    try:
        with transaction.atomic(using=using):
            with connections[using].cursor() as cursor:
                cursor.execute("SELECT authz.sync_admin_actions_report(%s::jsonb, %s)", [payload, prune])
                report = cursor.fetchone()[0]
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    except DatabaseError as exc:
        better = translate(exc)
        raise CommandError(str(better or exc)) from exc
    ContentType.objects.clear_cache()
    return json.loads(report) if isinstance(report, str) else report


class Command(BaseCommand):
    help = "Create the permissions of settings.PG_AUTHZ_ADMIN_ACTIONS (no migration) and sync the admin actions."

    def add_arguments(self, parser):
        parser.add_argument("--prune", action="store_true", help="delete actions no longer declared")
        parser.add_argument("--dry-run", action="store_true", help="report what would change, write nothing")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args, prune=False, dry_run=False, database=DEFAULT_DB_ALIAS, **options):
        report = sync(using=database, prune=prune, dry_run=dry_run)
        prefix = "would have " if dry_run else ""
        for key, label in SECTIONS:
            for item in report.get(key, []):
                self.stdout.write(f"{prefix}{label} {item}" if prefix else f"{label} {item}")
        counts = ", ".join(f"{len(report.get(key, []))} {key.replace('_', ' ')}" for key, _ in SECTIONS)
        self.stdout.write(("Dry run, nothing written: " if dry_run else "Synced: ") + counts)
