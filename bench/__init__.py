"""``make bench``: synthetic networks and the figures measured on them."""
