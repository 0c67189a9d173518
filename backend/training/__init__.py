"""Training records (培训台帐): the county's sessions, their trainees and the year's figures."""
