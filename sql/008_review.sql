-- clipmill schema, version 8: review before render, and editing.
--
-- A job submitted with the option "review" stops after select and frame:
-- its clips become 'candidate' (offered, not chosen) and the job
-- 'awaiting_review' (not ended: finished_at stays NULL, and no task is
-- live, so runners claim nothing for it).  POST /clips/{id}/render and
-- POST /jobs/{id}/render queue the chosen ones; a job settles counting
-- only clips that are not candidates.
--
-- A clip's edits: {"words": {"<i>": "corrected text"}, "removed": [i]},
-- i the index of a word in the job's transcript; a correction keeps the
-- word's timing, removed words are left out of captions and subtitles.
-- layout and caption_style NULL: the job's option.  framed: what the last
-- framing of the clip was made for ({"start", "end", "aspect", "layout",
-- "crop_key", "captions", "transcript_key"}), so that a render asked for
-- later reuses it when none of those changed.

ALTER TABLE jobs DROP CONSTRAINT jobs_state_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_state_check
	CHECK (state IN ('pending', 'running', 'awaiting_review', 'done',
	    'partial', 'failed', 'cancelled'));

ALTER TABLE clips DROP CONSTRAINT clips_state_check;
ALTER TABLE clips ADD CONSTRAINT clips_state_check
	CHECK (state IN ('candidate', 'pending', 'rendering', 'rendered',
	    'ready', 'failed', 'cancelled'));

ALTER TABLE clips ADD COLUMN edits jsonb NOT NULL DEFAULT '{}'
	CHECK (jsonb_typeof(edits) = 'object');
ALTER TABLE clips ADD COLUMN layout text
	CHECK (layout IS NULL OR layout IN ('auto', 'track', 'split', 'fit'));
ALTER TABLE clips ADD COLUMN caption_style text
	CHECK (caption_style IS NULL OR
	    caption_style IN ('classic', 'bold', 'minimal'));
ALTER TABLE clips ADD COLUMN framed jsonb;
