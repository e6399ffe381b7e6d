-- clipmill schema, version 4: clip addresses that work and do not expire.
--
-- "clip_ready" events named the store's URL of the clip: a path under
-- store_public_url that no web server served, or a presigned URL that
-- expired after s3_presign_expires.  They now name the web front's
-- /clips/{id}/video and /clips/{id}/thumbnail, which check ownership and
-- serve the file (presigning at that moment); older events are rewritten
-- to match.  Presigned URLs kept in clips rows are dropped: the web front
-- makes a fresh one from the key when the clip is asked for.

UPDATE events
SET data = data
	|| jsonb_build_object('video_url', '/clips/' || (data->>'clip') || '/video')
	|| CASE WHEN data->>'thumb_url' IS NOT NULL
	   THEN jsonb_build_object('thumb_url', '/clips/' || (data->>'clip') || '/thumbnail')
	   ELSE '{}'::jsonb END
WHERE kind = 'clip_ready' AND data ? 'clip' AND data->>'clip' ~ '^[0-9]+$';

UPDATE clips SET video_url = NULL
WHERE video_url LIKE '%X-Amz-Signature=%' AND video_key IS NOT NULL;
UPDATE clips SET thumb_url = NULL
WHERE thumb_url LIKE '%X-Amz-Signature=%' AND thumb_key IS NOT NULL;
