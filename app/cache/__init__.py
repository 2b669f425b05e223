"""The local cache: SQLModel tables, engine set-up, bulk writes and the queries screens use."""
