"""A provinces or prefectures officer compares the counties it is given (issue #17)."""
