"""The read side: read models kept in the database, each with its tracking position
committed in the same transaction as its rows."""
