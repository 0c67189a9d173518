import os

from piccolo.conf.apps import AppConfig

from backend.jobs.tables import JobLease, JobRun, OverdueParcel

CURRENT_DIRECTORY = os.path.dirname(os.path.abspath(__file__))

APP_CONFIG = AppConfig(
    app_name="jobs",
    migrations_folder_path=os.path.join(CURRENT_DIRECTORY, "piccolo_migrations"),
    table_classes=[JobLease, JobRun, OverdueParcel],
    migration_dependencies=["backend.ledger.piccolo_app"],
    commands=[],
)
