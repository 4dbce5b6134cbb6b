-- The admin API lists users newest first, a page at a time.
CREATE INDEX auth_users_created_at ON auth_users (created_at, id);
