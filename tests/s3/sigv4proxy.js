// sigv4proxy — a reverse proxy in front of s3rver that checks every
// request's AWS Signature Version 4 as S3 would, with AWS's own signer
// (@smithy/signature-v4): s3rver itself accepts any signature, so without
// this the tests could not tell a broken signature from a good one.
//
//   node tests/s3/sigv4proxy.js UPSTREAM_PORT PORT_FILE
//
// Environment: S3PROXY_KEY_ID, S3PROXY_SECRET (the one secret a request
// may be signed with), S3PROXY_REGION (default us-east-1),
// S3PROXY_TOKEN (a session token every request must carry, optional).
// Listens on 127.0.0.1, a port the system picks, written to PORT_FILE.
// For each request it recomputes the signature from the method, path,
// query, the headers the request says it signed and the payload hash,
// after checking the payload hash against the body, and answers 403
// SignatureDoesNotMatch (or the S3 error that fits) when anything
// differs; else it forwards the request to s3rver unchanged. One line per
// verdict on stdout: "ok METHOD PATH" or "deny CODE METHOD PATH: why".
'use strict';
const http = require('http');
const fs = require('fs');
const crypto = require('crypto');
const { SignatureV4 } = require('@smithy/signature-v4');
const { Sha256 } = require('@aws-crypto/sha256-js');

const [upstreamPort, portFile] = process.argv.slice(2);
const keyId = process.env.S3PROXY_KEY_ID, secret = process.env.S3PROXY_SECRET;
const region = process.env.S3PROXY_REGION || 'us-east-1', token = process.env.S3PROXY_TOKEN || '';
if (!upstreamPort || !portFile || !keyId || !secret) {
  console.error('usage: S3PROXY_KEY_ID=… S3PROXY_SECRET=… node sigv4proxy.js UPSTREAM_PORT PORT_FILE');
  process.exit(2);
}
const signer = new SignatureV4({ credentials: { accessKeyId: keyId, secretAccessKey: secret, sessionToken: token || undefined },
  region, service: 's3', sha256: Sha256, uriEscapePath: false, applyChecksum: false });
const AUTH = /^AWS4-HMAC-SHA256 Credential=([^/,]+)\/(\d{8})\/([^/,]+)\/s3\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;

function xmlError(res, status, code, message) {
  res.writeHead(status, { 'content-type': 'application/xml' });
  res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`);
}

function parseQuery(raw) {
  const q = {};
  for (const part of raw ? raw.split('&') : []) {
    if (!part) continue;
    const i = part.indexOf('=');
    const k = decodeURIComponent(i < 0 ? part : part.slice(0, i)), v = i < 0 ? '' : decodeURIComponent(part.slice(i + 1));
    q[k] = k in q ? [].concat(q[k], v) : v;
  }
  return q;
}

function amzDate(s) {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s || '');
  return m ? new Date(Date.UTC(+m[1], m[2] - 1, +m[3], +m[4], +m[5], +m[6])) : null;
}

// The verdict on one request: null when it is signed right, else [status, code, why].
async function verdict(req, body) {
  const auth = AUTH.exec(req.headers.authorization || '');
  if (!auth) return [403, 'AccessDenied', 'not signed with AWS4-HMAC-SHA256'];
  const [, id, day, reg, signedList, sig] = auth;
  if (id !== keyId) return [403, 'InvalidAccessKeyId', 'unknown access key id'];
  if (reg !== region) return [403, 'AuthorizationHeaderMalformed', `signed for region ${reg}, not ${region}`];
  const when = amzDate(req.headers['x-amz-date']);
  if (!when || day !== req.headers['x-amz-date'].slice(0, 8)) return [403, 'AccessDenied', 'no valid x-amz-date'];
  if (Math.abs(Date.now() - when.getTime()) > 15 * 60 * 1000) return [403, 'RequestTimeTooSkewed', 'x-amz-date is too far from now'];
  const signed = signedList.split(';');
  for (const h of ['host', 'x-amz-date', 'x-amz-content-sha256'])
    if (!signed.includes(h)) return [403, 'AccessDenied', `${h} is not signed`];
  const hash = crypto.createHash('sha256').update(body).digest('hex');
  if (req.headers['x-amz-content-sha256'] !== hash) return [400, 'XAmzContentSHA256Mismatch', 'the payload hash is not the body\'s'];
  if (token && req.headers['x-amz-security-token'] !== token) return [403, 'InvalidToken', 'no valid session token'];
  const headers = {};
  for (const h of signed) {
    if (req.headers[h] === undefined) return [403, 'AccessDenied', `signed header ${h} is missing`];
    headers[h] = String(req.headers[h]);
  }
  const [path, rawQuery] = req.url.split(/\?(.*)/s);
  const mine = await signer.sign({ method: req.method, protocol: 'http:', hostname: '127.0.0.1', path, query: parseQuery(rawQuery),
    headers, body }, { signingDate: when, signableHeaders: new Set(signed) });
  const want = /Signature=([0-9a-f]{64})/.exec(mine.headers.authorization)[1];
  const wantSigned = /SignedHeaders=([^,]+)/.exec(mine.headers.authorization)[1];
  if (wantSigned !== signedList) return [403, 'SignatureDoesNotMatch', `signed headers ${signedList}, recomputed over ${wantSigned}`];
  if (!crypto.timingSafeEqual(Buffer.from(want), Buffer.from(sig)))
    return [403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided'];
  return null;
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', c => chunks.push(c));
  req.on('end', async () => {
    const body = Buffer.concat(chunks);
    let v;
    try { v = await verdict(req, body); } catch (e) { v = [403, 'SignatureDoesNotMatch', `cannot verify: ${e.message}`]; }
    const path = req.url.split('?')[0];
    if (v) {
      console.log(`deny ${v[1]} ${req.method} ${path}: ${v[2]}`);
      return xmlError(res, v[0], v[1], v[2]);
    }
    console.log(`ok ${req.method} ${req.url}`);
    const up = http.request({ host: '127.0.0.1', port: +upstreamPort, method: req.method, path: req.url, headers: req.headers }, r => {
      res.writeHead(r.statusCode, r.headers);
      r.pipe(res);
    });
    up.on('error', e => xmlError(res, 502, 'BadGateway', e.message));
    up.end(body);
  });
});
server.listen(0, '127.0.0.1', () => fs.writeFileSync(portFile, String(server.address().port)));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
