"""What people follow, and what they are told: in-app notifications and e-mail digests."""
