// The REST API against its OpenAPI document (GET /api/v1/openapi.json, made
// from the protos at build time): the document is valid OpenAPI 3.1, names
// exactly the methods the gateway serves, and what the gateway really
// answers (successes and errors) fits the document's schemas.
// Started by tests/integration/web_test.sh (WEB, CA, USERS, BUILD, PR).
import fs from 'node:fs';
import https from 'node:https';
import SwaggerParser from '@apidevtools/swagger-parser';
import Ajv2020 from 'ajv/dist/2020.js';

const { WEB, CA, USERS, BUILD, PR } = process.env;
let failures = 0;
function check(what, ok, detail) {
  console.log((ok ? 'ok   - ' : 'FAIL - ') + what + (ok || detail === undefined ? '' : '\n       | ' + detail));
  if (!ok) failures++;
}

// One request as USER (a client certificate), or with none.
function request(method, path, body, user) {
  const url = new URL(path, WEB);
  const opts = { method, ca: fs.readFileSync(CA), headers: {} };
  if (user) {
    opts.cert = fs.readFileSync(`${USERS}/${user}/client.crt`);
    opts.key = fs.readFileSync(`${USERS}/${user}/client.key`);
  }
  if (body !== undefined) opts.headers['content-type'] = 'application/json';
  return new Promise((resolve, reject) => {
    const req = https.request(url, opts, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { text += c; });
      res.on('end', () => {
        let json = null;
        try { json = JSON.parse(text); } catch { /* not JSON: left null */ }
        resolve({ status: res.statusCode, type: res.headers['content-type'] || '', text, json });
      });
    });
    req.on('error', reject);
    if (body !== undefined) req.write(JSON.stringify(body));
    req.end();
  });
}

const anon = await request('GET', '/api/v1/openapi.json');
check('the document needs a caller like every endpoint (401 without one)', anon.status === 401, anon.status);
const got = await request('GET', '/api/v1/openapi.json', undefined, 'lee');
check('GET /api/v1/openapi.json answers the document as JSON', got.status === 200 && got.json && got.type.startsWith('application/json'), got.status);
const doc = got.json;
try {
  await SwaggerParser.validate(structuredClone(doc));
  check('it is a valid OpenAPI 3.1 document', doc.openapi === '3.1.0');
} catch (e) {
  check('it is a valid OpenAPI 3.1 document', false, e.message.split('\n')[0]);
}

const listed = await request('GET', '/api/v1', undefined, 'lee');
const served = new Map(listed.json.methods.map((m) => [m.path, m]));
const documented = Object.keys(doc.paths);
const missing = [...served.keys()].filter((p) => !doc.paths[p]);
const extra = documented.filter((p) => !served.has(p));
check(`it documents exactly the ${served.size} methods the gateway serves`, !missing.length && !extra.length,
  `undocumented: ${missing.join(' ')}; not served: ${extra.join(' ')}`);
const wrongKind = [...served.values()].filter((m) => {
  const content = doc.paths[m.path]?.post?.responses?.['200']?.content || {};
  return m.streaming !== ('application/x-ndjson' in content);
});
check('... streaming methods as application/x-ndjson, the others as application/json', !wrongKind.length,
  wrongKind.map((m) => m.path).join(' '));

const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
ajv.addSchema({ $id: 'cifs:openapi', components: doc.components });
const validatorFor = (ref) => ajv.getSchema(`cifs:openapi${ref}`) || ajv.compile({ $ref: `cifs:openapi${ref}` });
function fits(path, status, res) {
  const responses = doc.paths[path].post.responses;
  const spec = responses[String(status)] || responses[String(status)[0] + 'XX'];
  if (!spec) return `status ${status} is not documented`;
  const ct = Object.keys(spec.content)[0];
  if (!res.type.startsWith(ct)) return `content-type ${res.type}, documented ${ct}`;
  const lines = ct === 'application/x-ndjson' ? res.text.split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [res.json];
  const validate = validatorFor(spec.content[ct].schema.$ref);
  for (const value of lines) {
    if (!validate(value)) return ajv.errorsText(validate.errors) + ' in ' + JSON.stringify(value).slice(0, 200);
  }
  return '';
}

// Real answers: successes of every kind of record, then errors.
const calls = [
  ['lee', 'Farm/WhoAmI', {}, 200],
  ['lee', 'Builds/ListBuilds', { all_users: true }, 200],
  ['lee', 'Builds/GetBuild', { id: BUILD }, 200],
  ['lee', 'Builds/GetBuildLog', { id: BUILD }, 200],
  ['lee', 'Workspaces/ListWorkspaces', { all_users: true }, 200],
  ['admin', 'Admin/ListRepos', {}, 200],
  ['admin', 'Admin/ListRevocations', {}, 200],
  ['lee', 'PullRequests/List', {}, 200],
  ['lee', 'PullRequests/Get', { number: Number(PR) }, 200],
  ['lee', 'PullRequests/GetDiff', { number: Number(PR) }, 200],
  ['lee', 'PullRequests/Get', { number: 9999 }, 404],
  ['lee', 'PullRequests/List', { bogus: 1 }, 400],
  ['bob', 'Admin/ListRepos', {}, 403],
];
for (const [user, method, body, want] of calls) {
  const path = '/api/v1/' + method;
  const res = await request('POST', path, body, user);
  const why = res.status === want ? fits(path, res.status, res) : `status ${res.status}, wanted ${want}: ${res.text.slice(0, 200)}`;
  check(`${method} ${JSON.stringify(body)} as ${user}: ${want}, and the answer fits the document`, why === '', why);
}

process.exit(failures ? 1 : 0);
