"""`trunkconsole bundle`: one tar.gz for the provider's ticket or a colleague."""
