"""People: accounts, pools, roles, sign-in and profiles."""
