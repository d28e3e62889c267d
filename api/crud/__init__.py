"""Identity operations on the database: each commits entirely or changes nothing."""
