"""Staff users of the console: accounts, passwords, sessions and login throttling."""
