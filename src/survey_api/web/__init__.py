"""The tenant web form: server-rendered, multilingual, anonymous (see README.md here)."""
