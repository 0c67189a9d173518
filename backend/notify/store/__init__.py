"""The only code that touches the notify_* tables: items and deliveries, subscriptions and the
VAPID key, notices, villager SMS. Functions take typed arguments, return typed rows, and run
inside the caller's transaction."""
