#!/usr/bin/env node
// A strict S3-compatible test server: @20minutes/s3rver (pinned in
// package.json) plus what Tollgate's tests need from a real S3 and s3rver
// leaves out. Started by tests/s3server.sh; not meant to be run by hand.
//
//   node s3-server.js DIR PORTFILE
// Environment: S3_ACCESS_KEY, S3_SECRET_KEY (the only accepted key pair),
// S3_BUCKET (created at start), S3_TLS_KEY and S3_TLS_CERT (serve https),
// S3_FAULT_RATE (0..1, default 0: that share of
// requests is answered 500/503 SlowDown or has its connection reset),
// S3_DEBUG (log requests to stderr), S3_FAULT_SEED (integer: reproducible faults), S3_LIST_MAX_KEYS
// (caps ListObjectsV2 pages, so that a few objects exercise pagination),
// S3_LIFETIME (seconds before the server ends by itself; default 7200, 0: never).
//
// On top of s3rver, which checks SigV4 signatures of signed requests:
//  - unsigned (anonymous) requests are refused (403 AccessDenied);
//  - a hex x-amz-content-sha256 and an x-amz-checksum-sha256 must match the
//    body (XAmzContentSHA256Mismatch, BadDigest); the checksum is echoed back
//    in the answer as S3 does;
//  - UploadPart and CompleteMultipartUpload of an unknown upload id answer
//    404 NoSuchUpload, and AbortMultipartUpload (DELETE ?uploadId=) works;
//  - XML answers are escaped once, as S3 does: s3rver escapes text twice
//    (he.escape, then its XML builder), so a key "a&b" would list as "a&amp;b";
//  - CompleteMultipartUpload checks that every listed part was uploaded with
//    the ETag given (InvalidPart), where s3rver would stream a missing part
//    file and die of the unhandled ENOENT;
//  - the requests of one multipart upload are ordered as S3 orders them:
//    parts and listings run side by side, a Complete or an Abort runs alone.
//    A client killed after sending a Complete leaves it running here; the
//    client's successor then sends its own Complete of the same upload, and
//    s3rver, unserialised, would remove the upload's folder under it.
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const { Transform } = require('stream');
const S3rver = require('@20minutes/s3rver');
const AWSAccount = require('@20minutes/s3rver/lib/models/account');
const S3Error = require('@20minutes/s3rver/lib/models/error');
const bucketCtrl = require('@20minutes/s3rver/lib/controllers/bucket');

const [dir, portFile] = process.argv.slice(2);
const accessKey = process.env.S3_ACCESS_KEY;
const secretKey = process.env.S3_SECRET_KEY;
const bucket = process.env.S3_BUCKET || 'tollgate-test';
const faultRate = Number(process.env.S3_FAULT_RATE || 0);
let seed = Number(process.env.S3_FAULT_SEED || 0) >>> 0 || crypto.randomInt(1, 2 ** 31);

if (!dir || !portFile || !accessKey || !secretKey) {
  console.error('usage: S3_ACCESS_KEY=.. S3_SECRET_KEY=.. node s3-server.js DIR PORTFILE');
  process.exit(2);
}

// xorshift32: reproducible faults for a given S3_FAULT_SEED
function random() {
  seed ^= seed << 13;
  seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  seed >>>= 0;
  return seed / 4294967296;
}

// Small list pages on request. Patched on the controller, which runs after
// the signature check, so the query the client signed is left alone.
const listMaxKeys = Number(process.env.S3_LIST_MAX_KEYS || 0);
if (listMaxKeys > 0) {
  const getBucket = bucketCtrl.getBucket;
  bucketCtrl.getBucket = (ctx) => {
    if (ctx.query['list-type'] === '2') {
      const asked = Number(ctx.query['max-keys'] || 1000);
      ctx.query = { ...ctx.query, 'max-keys': String(Math.min(asked, listMaxKeys)) };
    }
    return getBucket(ctx);
  };
}

// Replace the built-in S3RVER/S3RVER pair by ours.
AWSAccount.DUMMY_ACCOUNT.revokeAccessKey('S3RVER');
AWSAccount.DUMMY_ACCOUNT.createKeyPair(accessKey, secretKey);

const tls = process.env.S3_TLS_KEY && process.env.S3_TLS_CERT
  ? { key: fs.readFileSync(process.env.S3_TLS_KEY), cert: fs.readFileSync(process.env.S3_TLS_CERT) }
  : {};
const server = new S3rver({
  ...tls,
  address: '127.0.0.1',
  port: 0,
  silent: !process.env.S3_DEBUG,
  directory: path.join(dir, 'data'),
  vhostBuckets: false,
  configureBuckets: [{ name: bucket, configs: [] }],
});
const store = server.store;

function splitPath(ctx) {
  const parts = ctx.path.split('/');
  return { bucket: decodeURIComponent(parts[1] || ''), key: parts.slice(2).join('/') };
}

function uploadDir(b, uploadId) {
  if (!/^[0-9a-f]{1,64}$/.test(uploadId)) return null;
  return path.join(store.getResourcePath(b, undefined, 'uploads'), uploadId);
}

// One reader-writer lock per upload id, granted in arrival order.
const uploadLocks = new Map();

function grant(id, l) {
  while (l.queue.length > 0) {
    const w = l.queue[0];
    if (l.writer || (w.exclusive && l.readers > 0)) break;
    l.queue.shift();
    if (w.exclusive) l.writer = true;
    else l.readers++;
    w.resolve();
  }
  if (!l.writer && l.readers === 0 && l.queue.length === 0) uploadLocks.delete(id);
}

// A request stuck mid-body holds its lock until node's requestTimeout ends it;
// a waiter gives up before that and is answered 503 SlowDown, which clients retry,
// and says who held the lock (in the server's log, which a failing test prints).
// A waiter whose client went away (killed while it waited) leaves the queue at
// once: granted later, its body would never come (the request's 'error' came
// before anyone listened), and it would hold the lock for good, so that every
// Complete after it got SlowDown for ever.
// A holder whose client went away has nobody left to answer: when it has still
// not ended a while later, its lock is let go (and that is logged), so a request
// stuck for any other reason cannot stall the upload's next Complete past a
// test's patience. A part or a listing may run beside others anyway: 3 s. A
// Complete or an Abort cut by its client goes on to its end by itself, and must
// not be run beside its successor's: 15 s, still within a waiter's 20.
const LOCK_WAIT_MS = 20000;
const HOLDER_GONE_MS = 3000;
const WRITER_GONE_MS = 15000;

function lockUpload(id, exclusive, req) {
  let l = uploadLocks.get(id);
  if (!l) {
    l = { readers: 0, writer: false, queue: [], holders: new Set() };
    uploadLocks.set(id, l);
  }
  const me = { what: `${req.method} ${req.url}`, since: 0, gone: false, timer: null };
  return new Promise((resolve, reject) => {
    const w = { exclusive, resolve: null };
    const giveUp = (err) => {
      if (err instanceof S3Error) {
        const now = Date.now();
        console.error(`s3-server: ${me.what} gave up waiting for upload ${path.basename(id)}; held by: ` +
          [...l.holders].map((h) => `${h.what} for ${now - h.since} ms` +
            (h.gone ? ', its client gone' : '')).join('; '));
      }
      clearTimeout(timer);
      req.off('close', gone);
      l.queue.splice(l.queue.indexOf(w), 1);
      grant(id, l);
      reject(err);
    };
    const gone = () => giveUp(new Error('the client went away while it waited'));
    const timer = setTimeout(
      () => giveUp(new S3Error('SlowDown', 'Please reduce your request rate.')), LOCK_WAIT_MS);
    w.resolve = () => {
      clearTimeout(timer);
      req.off('close', gone);
      me.since = Date.now();
      l.holders.add(me);
      if (req.socket.destroyed) clientGone();
      else req.socket.once('close', clientGone);
      resolve();
    };
    l.queue.push(w);
    if (req.destroyed) {
      gone();
      return;
    }
    req.once('close', gone);
    grant(id, l);
  }).then(() => release);

  function clientGone() {
    const grace = exclusive ? WRITER_GONE_MS : HOLDER_GONE_MS;
    me.gone = true;
    me.timer = setTimeout(() => {
      console.error(`s3-server: ${me.what}: its client went away ${grace} ms ago ` +
        `and it has not ended; upload ${path.basename(id)}'s lock is let go`);
      release();
    }, grace);
  }

  function release() {
    if (!l.holders.delete(me)) return;
    clearTimeout(me.timer);
    req.socket.off('close', clientGone);
    if (exclusive) l.writer = false;
    else l.readers--;
    grant(id, l);
  }
}

// S3 refuses a Complete naming a part it does not have, or with another ETag.
const putObjectMultipart = store.putObjectMultipart.bind(store);
store.putObjectMultipart = async (b, uploadId, parts) => {
  const d = uploadDir(b, String(uploadId));
  for (const part of parts) {
    let md5 = null;
    if (d && Number.isInteger(part.number) && part.number >= 1 && part.number <= 10000) {
      md5 = await fs.promises.readFile(path.join(d, `${part.number}.md5`), 'utf8')
        .catch(() => null);
    }
    if (md5 === null || md5 !== part.etag) {
      throw new S3Error('InvalidPart',
        'One or more of the specified parts could not be found. The part may not have been ' +
        "uploaded, or the specified entity tag may not match the part's entity tag.",
        { UploadId: String(uploadId), PartNumber: String(part.number), ETag: String(part.etag) });
    }
  }
  return putObjectMultipart(b, uploadId, parts);
};

// Hash the body as it streams by; refuse it at its end when it does not match.
function verifyingBody(ctx) {
  const contentSha = ctx.get('x-amz-content-sha256');
  const checksum = ctx.get('x-amz-checksum-sha256');
  const wantHex = /^[0-9a-fA-F]{64}$/.test(contentSha) ? contentSha.toLowerCase() : null;
  if (!wantHex && !checksum) return;
  const hash = crypto.createHash('sha256');
  const original = ctx.req;
  const check = new Transform({
    transform(chunk, enc, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
    flush(cb) {
      const digest = hash.digest();
      if (wantHex && digest.toString('hex') !== wantHex)
        return cb(new S3Error('XAmzContentSHA256Mismatch',
          "The provided 'x-amz-content-sha256' header does not match what was computed."));
      if (checksum && digest.toString('base64') !== checksum)
        return cb(new S3Error('BadDigest',
          'The SHA256 you specified did not match the calculated checksum.'));
      cb();
    },
  });
  original.on('error', (e) => check.destroy(e));
  // the consumer (s3rver's pipeline) sees the error too; this listener only
  // keeps a refused body from being an uncaught 'error' event
  check.on('error', () => {});
  ctx.req = original.pipe(check);
  ctx.req.headers = original.headers;
  ctx.req.baseUrl = original.baseUrl;
  if (checksum) ctx.set('x-amz-checksum-sha256', checksum);
}

server.middleware.unshift(async (ctx, next) => {
  if (faultRate > 0 && random() < faultRate) {
    const r = random();
    if (r < 0.34) {
      ctx.req.socket.destroy();
      return;
    }
    throw r < 0.67
      ? new S3Error('InternalError', 'injected fault')
      : new S3Error('SlowDown', 'Please reduce your request rate.');
  }
  if (!('authorization' in ctx.headers) && !('X-Amz-Algorithm' in ctx.query))
    throw new S3Error('AccessDenied', 'Anonymous access is refused by this test server.');

  const { bucket: b, key } = splitPath(ctx);
  const uploadId = ctx.query.uploadId;
  let unlock = null;
  if (uploadId !== undefined && key) {
    const d = uploadDir(b, String(uploadId));
    if (d) unlock = await lockUpload(d, ctx.method === 'POST' || ctx.method === 'DELETE', ctx.req);
    if (!d || !fs.existsSync(d)) {
      if (unlock) unlock();
      // answered before the signature check: the ids are random, and s3rver
      // would otherwise create the folder of any id it is sent
      throw new S3Error('NoSuchUpload',
        'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
        { UploadId: String(uploadId) });
    }
  }
  if (ctx.method === 'PUT' && key) verifyingBody(ctx);
  const abort = ctx.method === 'DELETE' && uploadId !== undefined && key;
  try {
    await next();
    if (typeof ctx.body === 'string' && /xml/.test(ctx.type)) {
      // undo s3rver's second escaping pass: what remains is escaped once
      ctx.body = ctx.body.replace(/&amp;/g, '&');
    }
  } catch (err) {
    // s3rver has no AbortMultipartUpload and answers it MethodNotAllowed,
    // after the signature was checked
    if (!abort || err.code !== 'MethodNotAllowed') throw err;
    await fs.promises.rm(uploadDir(b, String(uploadId)), { recursive: true, force: true });
    ctx.status = 204;
    ctx.body = null;
  } finally {
    if (unlock) unlock();
  }
});

server.run().then(({ port }) => {
  const tmp = portFile + '.tmp';
  fs.writeFileSync(tmp, String(port) + '\n');
  fs.renameSync(tmp, portFile);
}, (err) => {
  console.error('s3-server: ' + err.message);
  process.exit(1);
});

// A safety net: a server whose test died without stopping it ends by itself.
const lifetime = Number(process.env.S3_LIFETIME || 7200);
if (lifetime > 0) setTimeout(() => process.exit(0), lifetime * 1000).unref();

// S3 does not go away when one request goes wrong inside it: an error that
// escapes s3rver (a stray stream 'error', a rejected promise nobody awaits) is
// logged, and the server keeps serving; the client sees that request fail or
// time out, as it would a 500. A test that then fails prints this log.
function keepServing(err) {
  console.error('s3-server: internal error, still serving: ' + (err && err.stack || err));
}
process.on('uncaughtException', keepServing);
process.on('unhandledRejection', keepServing);

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => server.close(() => process.exit(0)));
}
