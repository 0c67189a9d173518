"""The demo county that `scripts/serve` loads into an empty database."""
