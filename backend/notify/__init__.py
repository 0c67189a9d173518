"""Notifications to keepers: Web Push, SMS and WeChat fallbacks, in-app banners, county notices."""
