-- clipmill schema, version 1: users, jobs, tasks (the queue), clips, events.
-- Applied by `clipmill migrate`; the migrations table itself is created by
-- the migrator.

CREATE TABLE users (
	id		bigserial PRIMARY KEY,
	name		text NOT NULL UNIQUE
			CHECK (name ~ '^[A-Za-z0-9._@-]{1,64}$'),
	key_hash	text NOT NULL UNIQUE,	-- sha256 hex of the API key
	key_prefix	text NOT NULL,		-- first characters, to tell keys apart
	disabled	boolean NOT NULL DEFAULT false,
	created_at	timestamptz NOT NULL DEFAULT now()
);

-- A job: one source video and its options, owned by one user.
CREATE TABLE jobs (
	id		bigserial PRIMARY KEY,
	user_id		bigint NOT NULL REFERENCES users ON DELETE CASCADE,
	state		text NOT NULL DEFAULT 'pending'
			CHECK (state IN ('pending', 'running', 'done', 'partial',
			    'failed', 'cancelled')),
	source_kind	text NOT NULL CHECK (source_kind IN ('url', 'upload')),
	source_url	text,
	source_key	text,			-- store key of the source media
	options		jsonb NOT NULL DEFAULT '{}',
	probe		jsonb,			-- probed metadata, after fetch
	error		text,			-- a sentence for the user
	last_seq	integer NOT NULL DEFAULT 0,	-- last event's seq
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now(),
	finished_at	timestamptz
);
CREATE INDEX jobs_user ON jobs (user_id, id DESC);
CREATE INDEX jobs_ended ON jobs (state, finished_at) WHERE finished_at IS NOT NULL;

-- A clip: one chosen segment rendered in one aspect.
CREATE TABLE clips (
	id		bigserial PRIMARY KEY,
	job_id		bigint NOT NULL REFERENCES jobs ON DELETE CASCADE,
	rank		integer NOT NULL,		-- 1 = best
	aspect		text NOT NULL DEFAULT '9:16',
	start_s		double precision NOT NULL,
	end_s		double precision NOT NULL CHECK (end_s > start_s),
	score		double precision,
	title		text,
	reason		text,
	backend		text,			-- which scorer chose it
	state		text NOT NULL DEFAULT 'pending'
			CHECK (state IN ('pending', 'rendering', 'rendered',
			    'ready', 'failed', 'cancelled')),
	quality		jsonb,			-- face-in-crop share, reversals/s, ...
	video_key	text,
	thumb_key	text,
	video_url	text,
	thumb_url	text,
	width		integer,
	height		integer,
	duration_s	double precision,
	error		text,
	created_at	timestamptz NOT NULL DEFAULT now(),
	ready_at	timestamptz
);
CREATE INDEX clips_job ON clips (job_id, rank);

-- A task: one stage of one job (or of one clip).  This table is the queue.
CREATE TABLE tasks (
	id		bigserial PRIMARY KEY,
	job_id		bigint NOT NULL REFERENCES jobs ON DELETE CASCADE,
	clip_id		bigint REFERENCES clips ON DELETE CASCADE,
	stage		text NOT NULL,
	state		text NOT NULL DEFAULT 'pending'
			CHECK (state IN ('pending', 'running', 'done', 'failed',
			    'cancelled')),
	priority	integer NOT NULL DEFAULT 0,
	attempts	integer NOT NULL DEFAULT 0,
	max_attempts	integer NOT NULL DEFAULT 3 CHECK (max_attempts > 0),
	run_after	timestamptz NOT NULL DEFAULT now(),
	heartbeat_at	timestamptz,
	runner		text,			-- who holds it: host:pid:n
	runner_lock	bigint,			-- that runner's advisory lock key
	progress	smallint NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
	message		text,
	error		text,
	payload		jsonb NOT NULL DEFAULT '{}',
	result		jsonb,
	created_at	timestamptz NOT NULL DEFAULT now(),
	started_at	timestamptz,
	finished_at	timestamptz
);
-- The claim reads only this small partial index.
CREATE INDEX tasks_claim ON tasks (stage, priority, run_after, id)
	WHERE state = 'pending';
CREATE INDEX tasks_running ON tasks (stage, runner_lock) WHERE state = 'running';
CREATE INDEX tasks_job ON tasks (job_id);
CREATE INDEX tasks_finished ON tasks (stage, finished_at)
	WHERE finished_at IS NOT NULL;
-- A queue table churns: vacuum it early and often.
ALTER TABLE tasks SET (autovacuum_vacuum_scale_factor = 0.01,
	autovacuum_analyze_scale_factor = 0.02, fillfactor = 80);

-- An event: append-only, per-job gap-free sequence; what long-poll returns.
CREATE TABLE events (
	job_id		bigint NOT NULL REFERENCES jobs ON DELETE CASCADE,
	seq		integer NOT NULL,
	ts		timestamptz NOT NULL DEFAULT now(),
	kind		text NOT NULL,
	stage		text,
	data		jsonb,
	PRIMARY KEY (job_id, seq)
);
ALTER TABLE events SET (autovacuum_vacuum_scale_factor = 0.05);
