'use strict';
// Drives npm ali-oss for the Go tests: `node client.js '<json>'`.
//
// Config: {endpoint, bucket, region, accessKeyId, accessKeySecret, stsToken,
// v4, cname, prefix, mode: "lifecycle" | "op" | "ops", op, key, body,
// listPrefix, ops: [{op, key, body, listPrefix}], refreshURL,
// refreshHeaders, refreshBody, refreshInterval}. With refreshURL, the client's
// refreshSTSToken POSTs refreshBody there and returns the JSON answer as is.
// Prints exactly one JSON line on stdout: {"ok":true,...} or
// {"ok":false,"step":..., "code":..., "status":..., "message":...}, and
// exits 0 either way unless the script itself breaks; the Go test asserts.
const OSS = require('ali-oss');
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const http = require('http');

const cfg = JSON.parse(process.argv[2]);

function newClient() {
  return new OSS({
    endpoint: cfg.endpoint,
    bucket: cfg.bucket,
    region: cfg.region || 'oss-cn-hangzhou',
    accessKeyId: cfg.accessKeyId,
    accessKeySecret: cfg.accessKeySecret,
    stsToken: cfg.stsToken || undefined,
    refreshSTSTokenInterval: cfg.refreshURL ? cfg.refreshInterval || 0 : 3600 * 1000,
    refreshSTSToken: cfg.refreshURL ? refreshSTSToken : undefined,
    sldEnable: !cfg.cname,
    cname: !!cfg.cname,
    authorizationV4: !!cfg.v4,
    timeout: 60000,
    retryMax: 0,
  });
}

let refreshes = 0;

// refreshSTSToken fetches credentials from an ossproxy-style endpoint and
// hands ali-oss the answer unchanged.
async function refreshSTSToken() {
  refreshes++;
  const r = await fetch(cfg.refreshURL, { method: 'POST', headers: cfg.refreshHeaders || {}, body: cfg.refreshBody || '{}' });
  if (!r.ok) throw new Error(`refresh: HTTP ${r.status}`);
  return r.json();
}

const sha256 = (buf) => crypto.createHash('sha256').update(buf).digest('hex');

class StepError extends Error {
  constructor(step, message) {
    super(message);
    this.step = step;
  }
}

function check(step, cond, message) {
  if (!cond) throw new StepError(step, message);
}

// rawRequest fetches a presigned URL with plain node http.
function rawRequest(method, url, headers, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function presign(c, method, key, expires, contentType) {
  if (cfg.v4) {
    const headers = contentType ? { 'Content-Type': contentType } : {};
    return c.signatureUrlV4(method, expires, { headers }, key);
  }
  const opts = { method, expires };
  if (contentType) opts['Content-Type'] = contentType;
  return c.signatureUrl(key, opts);
}

async function lifecycle(c) {
  const p = cfg.prefix || 'node/';
  const steps = [];
  let step = '';
  const run = async (name, fn) => {
    step = name;
    await fn();
    steps.push(name);
  };
  const keys = [];
  const hello = Buffer.from('hello, ali-oss');
  const odd = `${p}dir/a b+c~(1)&x=y.txt`;
  try {
    await run('put', async () => {
      const r = await c.put(`${p}hello.txt`, hello, { headers: { 'x-oss-meta-who': 'node' }, mime: 'text/plain' });
      check(step, r.res.status === 200, `status ${r.res.status}`);
      keys.push(`${p}hello.txt`);
    });
    await run('get', async () => {
      const r = await c.get(`${p}hello.txt`);
      check(step, r.content.equals(hello), `body ${r.content}`);
    });
    await run('range', async () => {
      const r = await c.get(`${p}hello.txt`, null, { headers: { Range: 'bytes=7-13' } });
      check(step, r.res.status === 206 && r.content.toString() === 'ali-oss', `status ${r.res.status} body ${r.content}`);
    });
    await run('head', async () => {
      const r = await c.head(`${p}hello.txt`);
      check(step, r.status === 200 && r.meta && r.meta.who === 'node', `status ${r.status} meta ${JSON.stringify(r.meta)}`);
      check(step, r.res.headers['content-length'] === String(hello.length), `length ${r.res.headers['content-length']}`);
    });
    await run('odd-key', async () => {
      await c.put(odd, Buffer.from('odd'));
      keys.push(odd);
      const r = await c.get(odd);
      check(step, r.content.toString() === 'odd', `body ${r.content}`);
    });
    await run('list', async () => {
      for (const k of ['dir/b.txt', 'dir/sub/c.txt']) {
        await c.put(p + k, Buffer.from(k));
        keys.push(p + k);
      }
      const r = await c.list({ prefix: `${p}dir/`, delimiter: '/', 'max-keys': 100 });
      const names = (r.objects || []).map((o) => o.name).sort();
      check(step, JSON.stringify(names) === JSON.stringify([odd, `${p}dir/b.txt`].sort()), `objects ${JSON.stringify(names)}`);
      check(step, JSON.stringify(r.prefixes) === JSON.stringify([`${p}dir/sub/`]), `prefixes ${JSON.stringify(r.prefixes)}`);
      const r2 = await c.listV2({ prefix: `${p}dir/`, delimiter: '/', 'max-keys': 1 });
      check(step, r2.objects.length === 1 && r2.isTruncated && r2.nextContinuationToken, `listV2 page ${JSON.stringify(r2.objects)}`);
      const r3 = await c.listV2({ prefix: `${p}dir/`, delimiter: '/', 'continuation-token': r2.nextContinuationToken });
      const all = r2.objects.concat(r3.objects || []).map((o) => o.name).sort();
      check(step, JSON.stringify(all) === JSON.stringify([odd, `${p}dir/b.txt`].sort()), `listV2 ${JSON.stringify(all)}`);
    });
    await run('multipart', async () => {
      const sizes = [100 * 1024, 100 * 1024, 1234];
      const data = crypto.randomBytes(sizes.reduce((a, b) => a + b, 0));
      const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'alioss-')), 'parts.bin');
      fs.writeFileSync(file, data);
      const key = `${p}multi.bin`;
      const init = await c.initMultipartUpload(key);
      const parts = [];
      let off = 0;
      for (let i = 0; i < sizes.length; i++) {
        const r = await c.uploadPart(key, init.uploadId, i + 1, file, off, off + sizes[i]);
        parts.push({ number: i + 1, etag: r.etag });
        off += sizes[i];
      }
      const lp = await c.listParts(key, init.uploadId);
      check(step, lp.parts.length === 3, `listParts ${lp.parts.length}`);
      await c.completeMultipartUpload(key, init.uploadId, parts);
      keys.push(key);
      const r = await c.get(key);
      check(step, sha256(r.content) === sha256(data), 'multipart body differs');
      fs.rmSync(path.dirname(file), { recursive: true });
    });
    await run('append', async () => {
      const key = `${p}append.txt`;
      const a = await c.append(key, Buffer.from('abc'));
      check(step, String(a.nextAppendPosition) === '3', `next ${a.nextAppendPosition}`);
      await c.append(key, Buffer.from('def'), { position: a.nextAppendPosition });
      keys.push(key);
      const r = await c.get(key);
      check(step, r.content.toString() === 'abcdef', `body ${r.content}`);
    });
    await run('copy', async () => {
      await c.copy(`${p}copy.txt`, `${p}hello.txt`);
      keys.push(`${p}copy.txt`);
      const r = await c.get(`${p}copy.txt`);
      check(step, r.content.equals(hello), `body ${r.content}`);
    });
    await run('presigned-get', async () => {
      const url = await presign(c, 'GET', `${p}hello.txt`, 600);
      const r = await rawRequest('GET', url, {});
      check(step, r.status === 200 && r.body.equals(hello), `status ${r.status} body ${r.body}`);
    });
    await run('presigned-put', async () => {
      const key = `${p}presigned-put.txt`;
      const url = await presign(c, 'PUT', key, 600, 'text/plain');
      const body = Buffer.from('uploaded through a presigned URL');
      const r = await rawRequest('PUT', url, { 'Content-Type': 'text/plain', 'Content-Length': body.length }, body);
      check(step, r.status === 200, `status ${r.status} body ${r.body}`);
      keys.push(key);
      const g = await c.get(key);
      check(step, g.content.equals(body), `body ${g.content}`);
    });
    await run('delete-multi', async () => {
      const r = await c.deleteMulti(keys, { quiet: false });
      check(step, (r.deleted || []).length === keys.length, `deleted ${JSON.stringify(r.deleted)}`);
      let code = '';
      try {
        await c.get(`${p}hello.txt`);
      } catch (e) {
        code = e.code;
      }
      check(step, code === 'NoSuchKey', `after delete: ${code}`);
    });
    return { ok: true, steps };
  } catch (e) {
    return { ok: false, step: e.step || step, steps, code: e.code || '', status: e.status || 0, message: e.message };
  }
}

// op runs one operation (o: {op, key, body, listPrefix}) and reports its
// outcome, for denial tests.
async function op(c, o) {
  try {
    switch (o.op) {
      case 'get': {
        const r = await c.get(o.key);
        return { ok: true, body: r.content.toString() };
      }
      case 'put':
        await c.put(o.key, Buffer.from(o.body || ''));
        return { ok: true };
      case 'list': {
        const r = await c.list({ prefix: o.listPrefix || '' });
        return { ok: true, keys: (r.objects || []).map((x) => x.name) };
      }
      case 'delete':
        await c.delete(o.key);
        return { ok: true };
      default:
        return { ok: false, code: 'BadTestOp', message: `unknown op ${o.op}` };
    }
  } catch (e) {
    return { ok: false, code: e.code || '', status: e.status || 0, message: e.message };
  }
}

(async () => {
  const c = newClient();
  let out;
  if (cfg.mode === 'op') {
    out = await op(c, cfg);
  } else if (cfg.mode === 'ops') {
    // Several operations with one client (so refreshSTSToken runs between
    // them); steps holds "ok" or the error code of each, in order.
    const steps = [];
    for (const o of cfg.ops || []) {
      const r = await op(c, o);
      steps.push(r.ok ? 'ok' : r.code || r.message);
    }
    out = { ok: true, steps, message: `refreshes=${refreshes}` };
  } else {
    out = await lifecycle(c);
  }
  process.stdout.write(JSON.stringify(out) + '\n');
})().catch((e) => {
  process.stderr.write(String(e && e.stack) + '\n');
  process.exit(3);
});
