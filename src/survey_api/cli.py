"""The survey-api command: serve, migrate, demo data, organisations, API keys, staff users,
backups, webhook delivery, the contract."""

import argparse
import contextlib
import json
import os
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy.orm import Session

from survey_api.config import get_settings
from survey_api.db import make_engine, make_sessionmaker

OPENAPI_PATH = Path("openapi/openapi.json")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the survey-api console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    result: int = args.handler(args)
    return result


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="survey-api", description=__doc__)
    sub = p.add_subparsers(title="commands")

    def cmd(name: str, help_: str, handler: object) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help_, description=help_)
        sp.set_defaults(handler=handler)
        return sp

    for name, help_, handler in (
        ("serve", "Serve the API and the tenant form with uvicorn.", _serve),
        (
            "quickstart",
            "Migrate, load demo data if the database is empty, then serve.",
            _quickstart,
        ),
    ):
        sp = cmd(name, help_, handler)
        sp.add_argument("--host", default="127.0.0.1")
        sp.add_argument("--port", type=int, default=8000)
        sp.add_argument("--workers", type=int, default=1)
        sp.add_argument(
            "--healthcheck-timeout",
            type=float,
            default=30.0,
            help="seconds a worker may take to start before uvicorn restarts it (default 30)",
        )
    cmd("migrate", "Apply the database migrations (alembic upgrade head).", _migrate)
    cmd("demo", "Load the demo organisation and data if the database is empty.", _demo)

    orgs = cmd("orgs", "Manage organisations.", None)
    orgs_sub = orgs.add_subparsers(title="actions")
    create = orgs_sub.add_parser("create", help="Create an organisation and its first admin key.")
    create.add_argument("name")
    create.add_argument("--slug", required=True)
    create.set_defaults(handler=_orgs_create)
    orgs_sub.add_parser("list", help="List organisations.").set_defaults(handler=_orgs_list)

    keys = cmd("keys", "Manage API keys.", None)
    keys_sub = keys.add_subparsers(title="actions")
    kc = keys_sub.add_parser("create", help="Create a key; it is printed once.")
    kc.add_argument("org_slug")
    kc.add_argument("--role", choices=("admin", "analyst", "integrator"), required=True)
    kc.add_argument("--name", default="")
    kc.set_defaults(handler=_keys_create)
    kl = keys_sub.add_parser("list", help="List an organisation's keys (never their secrets).")
    kl.add_argument("org_slug")
    kl.set_defaults(handler=_keys_list)
    kr = keys_sub.add_parser("revoke", help="Revoke a key by id.")
    kr.add_argument("key_id", type=int)
    kr.set_defaults(handler=_keys_revoke)

    users = cmd("users", "Manage staff users of the console.", None)
    users_sub = users.add_subparsers(title="actions")
    uc = users_sub.add_parser(
        "create", help="Create a staff user; prints a one-time link to choose a password."
    )
    uc.add_argument("org_slug")
    uc.add_argument("email")
    uc.add_argument("--role", choices=("admin", "analyst", "viewer"), required=True)
    uc.set_defaults(handler=_users_create)
    ul = users_sub.add_parser("list", help="List an organisation's staff users.")
    ul.add_argument("org_slug")
    ul.set_defaults(handler=_users_list)
    ur = users_sub.add_parser(
        "reset", help="Sign a user out everywhere and print a new one-time password link."
    )
    ur.add_argument("org_slug")
    ur.add_argument("email")
    ur.set_defaults(handler=_users_reset)

    bk = cmd("backup", "Write a consistent copy of the database to a file, while serving.", _backup)
    bk.add_argument("path", type=Path)
    rs = cmd("restore", "Load a backup file into the configured (empty) database.", _restore)
    rs.add_argument("path", type=Path)
    rs.add_argument(
        "--force", action="store_true", help="replace the contents of a database that is not empty"
    )

    oa = cmd("openapi", "Write the OpenAPI contract (or --check it is up to date).", _openapi)
    oa.add_argument("--output", type=Path, default=OPENAPI_PATH)
    oa.add_argument("--check", action="store_true")

    hooks = sub.add_parser("webhooks", help="Webhook delivery.")
    hooks_sub = hooks.add_subparsers(title="webhook commands")
    hd = hooks_sub.add_parser(
        "dispatch",
        help="Deliver webhooks: emit due events and send due deliveries every "
        "SURVEY_API_WEBHOOK_POLL_SECONDS until stopped (or one pass with --once). Runs beside "
        "app processes or instead of their dispatcher (SURVEY_API_WEBHOOK_DISPATCHER=false).",
    )
    hd.add_argument("--once", action="store_true", help="one pass, then exit")
    hd.set_defaults(handler=_webhooks_dispatch)
    return p


def _session() -> Session:
    return make_sessionmaker(make_engine(get_settings().database_url))()


def _port_problem(host: str, port: int) -> str | None:
    """Why the server could not listen on host:port, checked before anything is printed."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            return (
                f"cannot listen on {host}:{port}: {error.strerror}. Another program (perhaps "
                f"another survey-api) uses the port: pick another one with --port "
                f"{port + 1} (python3 dev.py serve --port {port + 1})"
            )
    return None


def _workers_problem(workers: int) -> str | None:
    """SQLite has one writer: several worker processes would queue for it and time out."""
    if workers > 1 and get_settings().database_url.startswith("sqlite"):
        return (
            f"--workers {workers} needs PostgreSQL: SQLite lets one process write at a time, so "
            "extra workers would only wait for each other. Serve SQLite with one worker, or set "
            "DATABASE_URL=postgresql://… for several."
        )
    return None


def _derive_public_base_url(host: str, port: int) -> None:
    """Links on letters, invitations and share links point at the address actually served,
    unless SURVEY_API_PUBLIC_BASE_URL says otherwise."""
    if "public_base_url" in get_settings().model_fields_set:
        return
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    if ":" in shown:
        shown = f"[{shown}]"
    # The environment carries it to uvicorn's worker processes too.
    os.environ["SURVEY_API_PUBLIC_BASE_URL"] = f"http://{shown}:{port}"
    get_settings.cache_clear()


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from survey_api.log_redaction import uvicorn_log_config

    problem = _port_problem(args.host, args.port) or _workers_problem(args.workers)
    if problem:
        print(problem, file=sys.stderr)
        return 1
    _derive_public_base_url(args.host, args.port)
    uvicorn.run(
        "survey_api.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_config=uvicorn_log_config(),
        proxy_headers=False,
        timeout_worker_healthcheck=args.healthcheck_timeout,
    )
    return 0


def _migrate(_args: argparse.Namespace) -> int:
    from survey_api import migrate

    migrate.upgrade(get_settings().database_url)
    print("database is at the latest migration")
    return 0


def _demo(_args: argparse.Namespace) -> int:
    from survey_api.demo import load_demo

    with _session() as session:
        report = load_demo(session, base_url=get_settings().public_base_url)
        session.commit()
    print(report)
    return 0


def _quickstart(args: argparse.Namespace) -> int:
    problem = _port_problem(args.host, args.port) or _workers_problem(args.workers)
    if problem:
        print(problem, file=sys.stderr)
        return 1
    _derive_public_base_url(args.host, args.port)
    _migrate(args)
    _demo(args)
    print(f"\nAPI docs: http://{args.host}:{args.port}/docs\n")
    return _serve(args)


def _orgs_create(args: argparse.Namespace) -> int:
    from survey_api.auth import service as auth_service
    from survey_api.organisations import service

    with _session() as session:
        org = service.create_organisation(session, name=args.name, slug=args.slug)
        _key, secret = auth_service.create_api_key(session, org, name="first admin", role="admin")
        session.commit()
        print(f"organisation {org.slug} (id {org.id}) created")
        print(f"admin API key (shown once, store it now): {secret}")
    return 0


def _orgs_list(_args: argparse.Namespace) -> int:
    from survey_api.organisations import service

    with _session() as session:
        for org in service.list_organisations(session):
            print(f"{org.id}\t{org.slug}\t{org.name}\tmin_cell_size={org.min_cell_size}")
    return 0


def _keys_create(args: argparse.Namespace) -> int:
    from survey_api.auth import service as auth_service
    from survey_api.organisations import service

    with _session() as session:
        org = service.get_by_slug(session, args.org_slug)
        key, secret = auth_service.create_api_key(
            session, org, name=args.name or args.role, role=args.role
        )
        session.commit()
        print(f"key {key.id} ({key.role}) for {org.slug}; shown once, store it now:\n{secret}")
    return 0


def _keys_list(args: argparse.Namespace) -> int:
    from survey_api.auth import service as auth_service
    from survey_api.organisations import service

    with _session() as session:
        org = service.get_by_slug(session, args.org_slug)
        for k in auth_service.list_api_keys(session, org.id):
            state = f"revoked {k.revoked_at:%Y-%m-%d}" if k.revoked_at else "active"
            print(f"{k.id}\t{k.role}\t{k.prefix}…\t{k.name}\t{state}")
    return 0


def _keys_revoke(args: argparse.Namespace) -> int:
    from survey_api.auth import service as auth_service

    with _session() as session:
        key = auth_service.revoke_api_key(session, args.key_id)
        session.commit()
        print(f"key {key.id} revoked")
    return 0


def _users_create(args: argparse.Namespace) -> int:
    from survey_api.exceptions import SurveyError
    from survey_api.organisations import service
    from survey_api.staff import service as staff_service

    with _session() as session:
        try:
            org = service.get_by_slug(session, args.org_slug)
            user, token = staff_service.create_user(session, org, args.email, args.role)
        except SurveyError as error:
            print(f"users create: {error}", file=sys.stderr)
            return 1
        session.commit()
        link = staff_service.set_password_link(get_settings().public_base_url, token)
        print(
            f"staff user {user.email} ({user.role}) for {org.slug}. Send them this link to "
            f"choose a password (works once, for 3 days):\n{link}"
        )
    return 0


def _users_list(args: argparse.Namespace) -> int:
    from survey_api.exceptions import SurveyError
    from survey_api.organisations import service
    from survey_api.staff import service as staff_service

    with _session() as session:
        try:
            org = service.get_by_slug(session, args.org_slug)
        except SurveyError as error:
            print(f"users list: {error}", file=sys.stderr)
            return 1
        for user in staff_service.list_users(session, org.id):
            state = "active" if user.active else "inactive"
            password = "password set" if user.password_hash else "no password yet"
            print(f"{user.id}\t{user.email}\t{user.role}\t{state}\t{password}")
    return 0


def _users_reset(args: argparse.Namespace) -> int:
    from survey_api.exceptions import SurveyError
    from survey_api.organisations import service
    from survey_api.staff import service as staff_service

    with _session() as session:
        try:
            org = service.get_by_slug(session, args.org_slug)
            user = staff_service.find_user(session, org.id, args.email)
            token = staff_service.reset_password(session, org.id, user.id)
        except SurveyError as error:
            print(f"users reset: {error}", file=sys.stderr)
            return 1
        session.commit()
        link = staff_service.set_password_link(get_settings().public_base_url, token)
        print(f"{user.email} is signed out; new password link (works once, for 3 days):\n{link}")
    return 0


def _backup(args: argparse.Namespace) -> int:
    from survey_api import backup

    try:
        backup.backup(get_settings().database_url, args.path)
    except backup.BackupError as error:
        print(f"backup failed: {error}", file=sys.stderr)
        return 1
    print(f"backup written to {args.path} ({args.path.stat().st_size:,} bytes)")
    return 0


def _restore(args: argparse.Namespace) -> int:
    from survey_api import backup, migrate

    url = get_settings().database_url
    try:
        backup.restore(url, args.path, force=args.force)
    except backup.BackupError as error:
        print(f"restore failed: {error}", file=sys.stderr)
        return 1
    # A backup from an older release is brought up to this release's schema.
    migrate.upgrade(url)
    print(f"restored {args.path}; the database is at the latest migration")
    return 0


def _webhooks_dispatch(args: argparse.Namespace) -> int:
    from survey_api.webhooks.delivery import DeliveryOptions
    from survey_api.webhooks.dispatcher import Dispatcher

    settings = get_settings()
    dispatcher = Dispatcher(
        make_sessionmaker(make_engine(settings.database_url)),
        DeliveryOptions.from_settings(settings),
        settings.webhook_poll_seconds,
    )
    if args.once:
        done = dispatcher.run_once()
        print(
            f"events emitted: {done.emitted}; deliveries delivered: {done.delivered}, "
            f"to retry: {done.retrying}, failed: {done.failed}"
        )
        return 0
    print(f"dispatching webhooks every {settings.webhook_poll_seconds:g} s (Ctrl-C stops)")
    with contextlib.suppress(KeyboardInterrupt):
        dispatcher.run_forever()
    return 0


def _openapi(args: argparse.Namespace) -> int:
    from survey_api.main import openapi_document

    text = json.dumps(openapi_document(), indent=2, ensure_ascii=False) + "\n"
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is out of date: run `survey-api openapi`", file=sys.stderr)
            return 1
        print(f"{args.output} is up to date")
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
