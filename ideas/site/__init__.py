"""The site's frame: home page, error pages, security headers."""
