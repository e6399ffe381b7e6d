-- clipmill schema, version 10: clipmill.fcgi keeps each job's document
-- (GET /jobs/ID) and each user's job list (GET /jobs) per process, and
-- serves them without a query for as long as no NOTIFY says they changed.
-- These triggers make that true of the other programs and statements: a
-- change to what a job's document shows NOTIFYs clipmill_events with the
-- job's id (the channel the long-poll listens on; the statements that
-- write an event already send the same notification, which PostgreSQL
-- folds into one per transaction), and a change to what a job list shows
-- NOTIFYs clipmill_user_jobs with the user's id.  A task's state alone is
-- left to the queue's own statements (below), and its heartbeat
-- (heartbeat_at, runner, lease lock) shows nowhere.  Inserts, deletes and
-- the rows of clips: statement-level, one notification per job however
-- many rows.

CREATE FUNCTION clipmill_tasks_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('clipmill_events', job_id::text)
	    FROM (SELECT DISTINCT job_id FROM n) s;
	RETURN NULL;
END $$;

-- A task's state moves in every claim and completion, hot paths whose
-- statements (claim_event_sql, queue_event, the jobs row a stage's end
-- settles) already NOTIFY; a trigger there would only make the queue
-- slower.  What a task shows besides its state (progress, message, error)
-- NOTIFYs here, row by row and only when it changes: the claim that
-- clears them finds them clear almost always.
CREATE FUNCTION clipmill_task_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('clipmill_events', NEW.job_id::text);
	RETURN NULL;
END $$;

CREATE FUNCTION clipmill_tasks_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('clipmill_events', job_id::text)
	    FROM (SELECT DISTINCT job_id FROM o) s;
	RETURN NULL;
END $$;

CREATE TRIGGER tasks_doc_inserted AFTER INSERT ON tasks
	REFERENCING NEW TABLE AS n FOR EACH STATEMENT
	EXECUTE FUNCTION clipmill_tasks_inserted();
CREATE TRIGGER tasks_doc_updated AFTER UPDATE OF progress, message, error
	ON tasks FOR EACH ROW
	WHEN ((OLD.progress, OLD.message, OLD.error) IS DISTINCT FROM
	    (NEW.progress, NEW.message, NEW.error))
	EXECUTE FUNCTION clipmill_task_changed();
CREATE TRIGGER tasks_doc_deleted AFTER DELETE ON tasks
	REFERENCING OLD TABLE AS o FOR EACH STATEMENT
	EXECUTE FUNCTION clipmill_tasks_deleted();

-- A clip's rows show in its job's document, and its state in the list's
-- count of ready clips.
CREATE FUNCTION clipmill_clips_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('clipmill_events', job_id::text)
	    FROM (SELECT DISTINCT job_id FROM c) s;
	PERFORM pg_notify('clipmill_user_jobs', user_id::text)
	    FROM (SELECT DISTINCT j.user_id FROM c JOIN jobs j
	    ON j.id = c.job_id) s;
	RETURN NULL;
END $$;

CREATE TRIGGER clips_doc_inserted AFTER INSERT ON clips
	REFERENCING NEW TABLE AS c FOR EACH STATEMENT
	EXECUTE FUNCTION clipmill_clips_changed();
CREATE TRIGGER clips_doc_updated AFTER UPDATE ON clips
	REFERENCING NEW TABLE AS c FOR EACH STATEMENT
	EXECUTE FUNCTION clipmill_clips_changed();
CREATE TRIGGER clips_doc_deleted AFTER DELETE ON clips
	REFERENCING OLD TABLE AS c FOR EACH STATEMENT
	EXECUTE FUNCTION clipmill_clips_changed();

-- Every change to a job row shows in its document (last_seq moves with
-- each event, whose own NOTIFY this one folds into); a new or deleted
-- job, or a new state, error or source, in its user's list.
CREATE FUNCTION clipmill_jobs_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('clipmill_user_jobs', user_id::text)
	    FROM (SELECT DISTINCT user_id FROM n) s;
	RETURN NULL;
END $$;

-- Row by row: a claim's UPDATE of its job (pending to running) most
-- often touches no row, and then nothing runs.
CREATE FUNCTION clipmill_job_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('clipmill_events', NEW.id::text);
	IF (OLD.state, OLD.error, OLD.source_url, OLD.source_name, OLD.user_id)
	    IS DISTINCT FROM (NEW.state, NEW.error, NEW.source_url,
	    NEW.source_name, NEW.user_id) THEN
		PERFORM pg_notify('clipmill_user_jobs', NEW.user_id::text);
	END IF;
	RETURN NULL;
END $$;

CREATE FUNCTION clipmill_jobs_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('clipmill_events', id::text) FROM o;
	PERFORM pg_notify('clipmill_user_jobs', user_id::text)
	    FROM (SELECT DISTINCT user_id FROM o) s;
	RETURN NULL;
END $$;

CREATE TRIGGER jobs_doc_inserted AFTER INSERT ON jobs
	REFERENCING NEW TABLE AS n FOR EACH STATEMENT
	EXECUTE FUNCTION clipmill_jobs_inserted();
CREATE TRIGGER jobs_doc_updated AFTER UPDATE ON jobs FOR EACH ROW
	EXECUTE FUNCTION clipmill_job_changed();
CREATE TRIGGER jobs_doc_deleted AFTER DELETE ON jobs
	REFERENCING OLD TABLE AS o FOR EACH STATEMENT
	EXECUTE FUNCTION clipmill_jobs_deleted();
