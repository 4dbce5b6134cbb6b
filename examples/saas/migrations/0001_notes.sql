-- The example's own table, in the auth server's database (portable SQL: SQLite and
-- PostgreSQL). A note belongs to one user. No foreign key to auth_users: in Supabase mode the
-- users live in the hosted project, so the admin routes delete a user's notes themselves.
-- Times are unix milliseconds.
CREATE TABLE notes (
    id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE INDEX notes_by_owner ON notes (owner_id, created_at);
