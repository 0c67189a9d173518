"""Serves the keeper's PWA shell under /app/."""
