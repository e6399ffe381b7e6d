-- What the user sees of a job and a clip: the uploaded file's own name
-- (shown instead of the store key), and what a clip's score is made of.
ALTER TABLE jobs ADD COLUMN source_name text;	-- an upload's file name
ALTER TABLE clips ADD COLUMN score_parts jsonb;	-- {"part": points, ...}
