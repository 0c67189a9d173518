"""Health, readiness and other endpoints about the service itself."""
