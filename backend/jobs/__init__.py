"""Scheduled jobs (APScheduler) that run once however many processes serve: a lease decides."""
