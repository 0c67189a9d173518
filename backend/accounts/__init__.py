"""Accounts, sessions and login: keepers, county staff and admins."""
