CREATE TABLE library_things (id TEXT PRIMARY KEY);
