-- clipmill schema, version 7: a webhook per user.  clipmill POSTs signed
-- JSON to webhook_url when a clip is ready and when a job ends; the
-- secret (64 hex digits) signs it and is shown to the user once, when the
-- webhook is set.  Deliveries are tasks of the stage "webhook".

ALTER TABLE users ADD COLUMN webhook_url text
	CHECK (webhook_url IS NULL OR length(webhook_url) <= 2048);
ALTER TABLE users ADD COLUMN webhook_secret text
	CHECK (webhook_secret IS NULL OR webhook_secret ~ '^[0-9a-f]{64}$');
