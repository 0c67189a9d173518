import os

from piccolo.conf.apps import AppConfig

from backend.training.tables import TrainingAttendedOutcome, TrainingSession, TrainingTrainee

CURRENT_DIRECTORY = os.path.dirname(os.path.abspath(__file__))

APP_CONFIG = AppConfig(
    app_name="training",
    migrations_folder_path=os.path.join(CURRENT_DIRECTORY, "piccolo_migrations"),
    table_classes=[TrainingSession, TrainingTrainee, TrainingAttendedOutcome],
    migration_dependencies=["backend.registry.piccolo_app", "backend.accounts.piccolo_app"],
    commands=[],
)
