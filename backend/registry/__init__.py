"""A county's registry: townships, villages, stations and registered households (一户一码)."""
