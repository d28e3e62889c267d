"""Settings, security and the database: what every other module builds on."""
