#!/usr/bin/env node
// A private s3rver for tests and `make run`:
//   node contrib/s3rver.js DIR PORT BUCKET[,BUCKET...] [ACCESS_KEY SECRET_KEY]
// Binds 127.0.0.1:PORT, keeps its objects under DIR, creates the buckets,
// and accepts ACCESS_KEY (besides s3rver's own S3RVER) so a test can use
// keys of its own; an unknown key id gets s3rver's InvalidAccessKeyId.
// Virtual-hosted requests work for BUCKET.s3.localhost:PORT.
//
// s3rver 3.7 lacks AbortMultipartUpload (it answers 405), so this adds it:
// DELETE /BUCKET/KEY?uploadId=ID removes the upload's parts and answers 204
// as S3 does (404 NoSuchUpload when there is no such upload).  s3rver
// checks V2 signatures only: clipmill's V4 signatures are verified by
// contrib/s3proxy.py in front of it.
'use strict';
const path = require('path');
const fs = require('fs');
const here = __dirname;
const S3rver = require(path.join(here, 'node_modules/s3rver'));
const account = require(path.join(here, 'node_modules/s3rver/lib/models/account'));

const [dir, port, buckets, access, secret] = process.argv.slice(2);
if (!dir || !port || !buckets) {
  console.error('usage: s3rver.js DIR PORT BUCKET[,BUCKET...] [ACCESS SECRET]');
  process.exit(2);
}
fs.mkdirSync(dir, { recursive: true });
if (access && secret) account.DUMMY_ACCOUNT.createKeyPair(access, secret);

const server = new S3rver({
  directory: dir,
  address: '127.0.0.1',
  port: Number(port),
  silent: true,
  serviceEndpoint: 'localhost',
  configureBuckets: buckets.split(',').map(name => ({ name })),
});

function xmlError(ctx, status, code, message) {
  ctx.status = status;
  ctx.type = 'application/xml';
  ctx.body = '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>' + code +
    '</Code><Message>' + message + '</Message></Error>';
}

// AbortMultipartUpload, placed just before s3rver's router so that the
// vhost rewrite has already turned BUCKET.s3.localhost/KEY into /BUCKET/KEY.
server.middleware.splice(server.middleware.length - 1, 0, async (ctx, next) => {
  if (ctx.method !== 'DELETE' || !('uploadId' in ctx.query)) return next();
  const m = /^\/([^/]+)\/(.+)$/.exec(ctx.path);
  const id = String(ctx.query.uploadId);
  if (!m || !/^[0-9a-f]{1,64}$/.test(id)) {
    return xmlError(ctx, 400, 'InvalidArgument', 'Bad upload id.');
  }
  const uploadDir = path.join(
    server.store.getResourcePath(m[1], undefined, 'uploads'), id);
  if (!fs.existsSync(uploadDir)) {
    return xmlError(ctx, 404, 'NoSuchUpload',
      'The specified upload does not exist.');
  }
  fs.rmSync(uploadDir, { recursive: true, force: true });
  ctx.status = 204;
});

server.run().then(addr => {
  console.log('s3rver listening on ' + addr.address + ':' + addr.port);
}, err => {
  console.error('s3rver: ' + err.message);
  process.exit(1);
});
process.on('SIGTERM', () => process.exit(0));
