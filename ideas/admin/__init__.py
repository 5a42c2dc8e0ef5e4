"""Site administration: people, roles, pools, employee domains, the outbox, settings."""
