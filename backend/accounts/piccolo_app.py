import os

from piccolo.conf.apps import AppConfig

from backend.accounts.tables import AuditEntry, LoginFailure, Session, User, UserCounty

CURRENT_DIRECTORY = os.path.dirname(os.path.abspath(__file__))

APP_CONFIG = AppConfig(
    app_name="accounts",
    migrations_folder_path=os.path.join(CURRENT_DIRECTORY, "piccolo_migrations"),
    table_classes=[User, Session, LoginFailure, AuditEntry, UserCounty],
    migration_dependencies=["backend.registry.piccolo_app"],
    commands=[],
)
