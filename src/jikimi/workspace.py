"""The workspace: settings, store, master key and vault under ``$JIKIMI_HOME``.

``Workspace.init`` creates it; ``Workspace.open`` refuses to run on one that was never
initialised, so a typo in ``JIKIMI_HOME`` never silently starts an empty store.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from jikimi import __version__
from jikimi.accounts.store import UserStore
from jikimi.banks.service import BankStore
from jikimi.errors import WorkspaceError
from jikimi.evidence.custody import CustodyLog
from jikimi.evidence.keys import load_or_create_master_key
from jikimi.evidence.vault import Vault
from jikimi.matching.faces import FaceIndex, PersonTemplate
from jikimi.matching.matcher import Matcher
from jikimi.persons.store import PersonStore
from jikimi.settings import SETTINGS_FILE, Settings, load_settings, render_settings_file
from jikimi.store.db import make_engine, make_sessions, migrate
from jikimi.store.media_repo import MediaStore

MASTER_KEY_FILE = "master.key"
VAULT_DIR = "vault"
TOOL = f"jikimi/{__version__}"


@dataclass
class Workspace:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]

    @classmethod
    def init(cls, settings: Settings | None = None) -> Workspace:
        """Create (or complete) the workspace; safe to run twice."""
        settings = settings or load_settings()
        home = settings.home
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
        settings_file = home / SETTINGS_FILE
        if not settings_file.exists():
            settings_file.write_text(render_settings_file(settings), encoding="utf-8")
        load_or_create_master_key(home / MASTER_KEY_FILE)
        engine = make_engine(settings.resolved_database_url)
        migrate(engine)
        return cls(settings, engine, make_sessions(engine))

    @classmethod
    def open(cls, settings: Settings | None = None) -> Workspace:
        """Open an initialised workspace, bringing its database schema up to date."""
        settings = settings or load_settings()
        if not (settings.home / SETTINGS_FILE).is_file():
            raise WorkspaceError(
                f"no Jikimi workspace at {settings.home}; run `jikimi init` first "
                "(or set JIKIMI_HOME to an existing workspace)"
            )
        engine = make_engine(settings.resolved_database_url)
        migrate(engine)
        return cls(settings, engine, make_sessions(engine))

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def operator(self) -> str:
        return self.settings.operator

    @cached_property
    def banks(self) -> BankStore:
        return BankStore(self.sessions)

    @cached_property
    def media(self) -> MediaStore:
        return MediaStore(self.sessions)

    @cached_property
    def custody(self) -> CustodyLog:
        return CustodyLog(self.sessions)

    @cached_property
    def master_key(self) -> bytes:
        return load_or_create_master_key(self.settings.home / MASTER_KEY_FILE)

    @cached_property
    def vault(self) -> Vault:
        return Vault(self.settings.home / VAULT_DIR, self.master_key)

    @cached_property
    def persons(self) -> PersonStore:
        """Protected persons; their templates are encrypted under the master key."""
        return PersonStore(self.sessions, self.master_key, self.custody)

    @cached_property
    def users(self) -> UserStore:
        """Users and API tokens, throttled and expiring as the settings say."""
        return UserStore(
            self.sessions,
            self.custody,
            max_failures=self.settings.login_max_failures,
            lockout_seconds=self.settings.login_lockout_seconds,
            token_days=self.settings.token_days,
        )

    def matcher(self) -> Matcher:
        """A matcher over every active bank entry and every protected person's templates,
        built from the database after retiring persons whose consent has expired."""
        self.persons.retire_expired(actor=self.operator, tool_version=TOOL)
        faces = FaceIndex(
            (
                PersonTemplate(t.person_id, t.name, t.template)
                for t in self.persons.active_templates()
            ),
            threshold=self.settings.face_match_threshold,
        )
        return Matcher(self.banks.bank_specs(), self.banks.active_entries(), faces)
