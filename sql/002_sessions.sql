-- clipmill schema, version 2: browser sessions kept by the server, so that
-- logout, `clipmill user disable` and `clipmill user rotate-key` can end
-- them.  The cookie carries a random id; only its SHA-256 is stored, so a
-- copy of the table logs nobody in.

CREATE TABLE sessions (
	id_hash		text PRIMARY KEY,	-- sha256 hex of the cookie's id
	user_id		bigint NOT NULL REFERENCES users ON DELETE CASCADE,
	created_at	timestamptz NOT NULL DEFAULT now(),
	last_seen	timestamptz NOT NULL DEFAULT now(),
	expires_at	timestamptz NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);
