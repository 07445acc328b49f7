// The cifs web UI: one shell page that routes on the path and shows what the
// REST API (/api/v1) returns. Text from builds and PRs only ever reaches the
// page as text nodes (never as HTML), so output that looks like markup stays
// text; ANSI colours become classes.
'use strict';

// ---- helpers -----------------------------------------------------------------
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'style') el.style.cssText = v;  // CSSOM: allowed where the policy forbids style attributes
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}
const main = () => document.getElementById('main');
function show(...nodes) { main().replaceChildren(...nodes); }
function ago(ms) {
  ms = Number(ms);
  if (!ms) return '';
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 60) return s + 's ago';
  if (s < 3600) return Math.round(s / 60) + 'm ago';
  if (s < 86400) return Math.round(s / 3600) + 'h ago';
  return new Date(ms).toLocaleString();
}
function duration(b) {
  const end = Number(b.end_time_ms) || Date.now();
  const s = Math.max(0, Math.round((end - Number(b.start_time_ms)) / 1000));
  return s < 60 ? s + 's' : Math.floor(s / 60) + 'm ' + (s % 60) + 's';
}
function badge(text, kind) { return h('span', { class: 'badge ' + (kind || '') }, text); }

let session = null;

class ApiError extends Error {
  constructor(status, error) { super((error && error.message) || ('HTTP ' + status)); this.status = status; this.code = error && error.code; }
}
async function api(service, method, body) {
  const res = await fetch('/api/v1/' + service + '/' + method, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': (session && session.csrf_token) || '' },
    body: JSON.stringify(body || {}),
  });
  const json = await res.json().catch(() => ({}));
  if (!res.ok) throw new ApiError(res.status, json.error);
  return json;
}
function errorBox(e) { return h('div', { class: 'error', role: 'alert' }, e.message || String(e)); }
const isLead = () => session && (session.role === 'lead' || session.role === 'admin');

// ---- builds ------------------------------------------------------------------
function buildState(b) {
  if (!b.finished) return badge('running', 'run');
  return badge(b.exit_name || ('exit ' + b.exit_code), b.exit_code === 0 ? 'ok' : 'bad');
}
function progressOf(b) {
  const t = b.targets || [];
  const done = t.filter((x) => x.completed).length;
  const failed = t.filter((x) => x.completed && !x.built).length;
  const passed = t.filter((x) => x.test_status === 'PASSED' || x.test_status === 'FLAKY').length;
  const testsFailed = t.filter((x) => x.test_status && !['PASSED', 'FLAKY', 'NO_STATUS', ''].includes(x.test_status)).length;
  return { configured: t.length, done, failed, passed, testsFailed };
}
function progressBar(b) {
  const p = progressOf(b);
  const pct = p.configured ? Math.round((100 * p.done) / p.configured) : (b.finished ? 100 : 0);
  const kind = b.finished ? (b.exit_code === 0 ? 'ok' : 'bad') : '';
  let label = p.done + ' / ' + p.configured + ' targets';
  if (p.passed || p.testsFailed) label += ' · ' + p.passed + ' tests passed' + (p.testsFailed ? ', ' + p.testsFailed + ' failed' : '');
  return h('div', { class: 'progress', role: 'progressbar', 'aria-valuenow': pct, 'aria-valuemin': 0, 'aria-valuemax': 100,
                    'data-done': p.done, 'data-configured': p.configured },
    h('div', { class: 'bar ' + kind, style: 'width:' + pct + '%' }), h('div', { class: 'label' }, label));
}
function buildRow(b) {
  return h('tr', {},
    h('td', {}, h('a', { href: '/builds/' + encodeURIComponent(b.id) }, b.id.slice(0, 8))),
    h('td', {}, b.user), h('td', {}, 'bazel ' + b.command + ' ' + (b.patterns || []).join(' ')),
    h('td', {}, b.remote ? 'farm:' + b.workspace : 'local'),
    h('td', {}, b.finished ? buildState(b) : progressBar(b)), h('td', { class: 'muted' }, ago(b.start_time_ms)));
}
function buildTable(builds, empty) {
  if (!builds.length) return h('p', { class: 'muted' }, empty);
  return h('table', {}, h('thead', {}, h('tr', {}, ['build', 'user', 'command', 'where', 'status', 'started'].map((x) => h('th', {}, x)))),
    h('tbody', {}, builds.map(buildRow)));
}

// ANSI SGR colours -> classes; every other escape sequence is dropped.
function ansiSpans(text, state) {
  const out = [];
  const re = /\x1b\[([0-9;?]*)([A-Za-z])/g;
  let last = 0, m;
  const push = (s) => {
    if (!s) return;
    const cls = [];
    if (state.b) cls.push('a-b'); if (state.d) cls.push('a-d'); if (state.i) cls.push('a-i'); if (state.u) cls.push('a-u');
    if (state.fg !== null) cls.push('a-f' + state.fg); if (state.bg !== null) cls.push('a-g' + state.bg);
    out.push(cls.length ? h('span', { class: cls.join(' ') }, s) : s);
  };
  while ((m = re.exec(text))) {
    push(text.slice(last, m.index));
    last = re.lastIndex;
    if (m[2] !== 'm') continue;
    const codes = m[1] === '' ? [0] : m[1].split(';').map(Number);
    for (const c of codes) {
      if (c === 0) Object.assign(state, { b: false, d: false, i: false, u: false, fg: null, bg: null });
      else if (c === 1) state.b = true; else if (c === 2) state.d = true; else if (c === 3) state.i = true; else if (c === 4) state.u = true;
      else if (c === 22) state.b = state.d = false; else if (c === 39) state.fg = null; else if (c === 49) state.bg = null;
      else if (c >= 30 && c <= 37) state.fg = c - 30; else if (c >= 90 && c <= 97) state.fg = c - 90;
      else if (c >= 40 && c <= 47) state.bg = c - 40; else if (c >= 100 && c <= 107) state.bg = c - 100;
    }
  }
  push(text.slice(last).replace(/\x1b/g, ''));
  return out;
}

// A log view that stays smooth on 100,000+ lines: it keeps the lines as
// strings and renders only the ones in view.
class LogView {
  constructor() {
    this.lines = [''];
    this.decoder = new TextDecoder();
    this.follow = true;
    this.el = h('div', { class: 'log', tabindex: 0, 'aria-label': 'build log' });
    this.spacer = h('div', { class: 'spacer' });
    this.el.append(this.spacer);
    this.count = h('span', {}, '0 lines');
    this.followBox = h('input', { type: 'checkbox', checked: true, onchange: (e) => { this.follow = e.target.checked; if (this.follow) this.toBottom(); } });
    this.tools = h('div', { class: 'log-tools' }, this.count, h('label', {}, this.followBox, ' follow'));
    this.el.addEventListener('scroll', () => {
      const atBottom = this.el.scrollTop + this.el.clientHeight >= this.el.scrollHeight - 4;
      if (!atBottom && this.follow && this.userScrolled) { this.follow = false; this.followBox.checked = false; }
      this.userScrolled = true;
      this.schedule();
    });
    this.pending = false;
  }
  appendBytes(bytes) {
    const text = this.decoder.decode(bytes, { stream: true });
    const parts = text.split('\n');
    for (let i = 0; i < parts.length; i++) {
      let p = parts[i];
      if (i > 0) this.lines.push('');
      const cr = p.lastIndexOf('\r');
      if (cr >= 0) { this.lines[this.lines.length - 1] = ''; p = p.slice(cr + 1); }  // a carriage return rewrites the line
      this.lines[this.lines.length - 1] += p;
    }
    this.schedule();
  }
  lineCount() { const n = this.lines.length; return this.lines[n - 1] === '' ? n - 1 : n; }
  text() { return this.lines.join('\n'); }
  schedule() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => { this.pending = false; this.render(); });
  }
  toBottom() { this.userScrolled = false; this.el.scrollTop = this.el.scrollHeight; }
  render() {
    const lh = 18, n = this.lineCount();
    this.spacer.style.height = n * lh + 'px';
    this.count.textContent = n.toLocaleString() + ' lines';
    if (this.follow) { this.userScrolled = false; this.el.scrollTop = this.el.scrollHeight; }
    const first = Math.max(0, Math.floor(this.el.scrollTop / lh) - 20);
    const last = Math.min(n, Math.ceil((this.el.scrollTop + this.el.clientHeight) / lh) + 20);
    const rows = [];
    // Colours carry across lines: replay the escapes of the lines above the
    // first shown (bounded, so a huge log costs the same as a small one).
    const state = { b: false, d: false, i: false, u: false, fg: null, bg: null };
    for (let i = Math.max(0, first - 200); i < first; i++) ansiSpans(this.lines[i], state);
    for (let i = first; i < last; i++) {
      rows.push(h('div', { class: 'line', style: 'top:' + i * lh + 'px' }, h('span', { class: 'n' }, i + 1), ansiSpans(this.lines[i], state)));
    }
    this.spacer.replaceChildren(...rows);
  }
}

function followBuild(id, onBuild, log) {
  // EventSource reconnects by itself and sends the last event id (the log
  // offset), so the log resumes where it stopped.
  const es = new EventSource('/events/builds/' + encodeURIComponent(id));
  es.addEventListener('build', (e) => onBuild(JSON.parse(e.data)));
  es.addEventListener('log', (e) => {
    const j = JSON.parse(e.data);
    const bin = atob(j.data);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    log.appendBytes(bytes);
  });
  es.addEventListener('end', () => { es.close(); document.body.dataset.logEnded = '1'; });
  return es;
}

// Rerun a finished farm build as it was asked for (its command and
// targets), or only its failed tests. Bazel's extra flags are not kept in the
// record, so a rerun runs without them.
function rerunButtons(b, actions) {
  const mine = session.user === b.user || session.role === 'admin';
  const absolute = (b.patterns || []).every((p) => p.startsWith('//') || p.startsWith('@'));
  if (!b.remote || !mine || !absolute) return [];
  const run = async (targets, button) => {
    button.disabled = true;
    try {
      const res = await fetch('/api/v1/Builds/RunBuild', {
        method: 'POST', credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': session.csrf_token || '' },
        body: JSON.stringify({ workspace: b.workspace, command: b.command, targets, detach: true }),
      });
      const first = JSON.parse((await res.text()).split('\n')[0] || '{}');
      if (!res.ok || first.error) throw new ApiError(res.status, first.error);
      location.href = '/builds/' + encodeURIComponent(first.id);
    } catch (e) { actions.append(errorBox(e)); button.disabled = false; }
  };
  const out = [];
  const all = h('button', { id: 'rerun', onclick: () => run(b.patterns || [], all) }, 'Rerun');
  out.push(all);
  const failed = (b.targets || []).filter((t) => t.test_status && !['PASSED', 'FLAKY', 'NO_STATUS'].includes(t.test_status)).map((t) => t.label);
  if (failed.length && b.command === 'test') {
    const some = h('button', { id: 'rerun-failed', onclick: () => run(failed, some) }, 'Rerun ' + failed.length + ' failed test' + (failed.length > 1 ? 's' : ''));
    out.push(some);
  }
  return out;
}

async function buildPage(id) {
  const head = h('div', {});
  const tests = h('div', {});
  const log = new LogView();
  const actions = h('div', { class: 'row' });
  show(head, actions, tests, h('h2', {}, 'Log'), log.tools, log.el);
  let cancelShown = false, rerunShown = false;
  const render = (b) => {
    head.replaceChildren(
      h('h1', {}, 'bazel ' + b.command + ' ' + (b.patterns || []).join(' ')),
      h('div', { class: 'row', id: 'build-state' }, buildState(b), h('span', { class: 'muted' }, b.user + ' · ' + (b.remote ? 'farm:' + b.workspace : 'local') + ' · ' + duration(b) + ' · started ' + ago(b.start_time_ms))),
      h('h2', {}, 'Progress'), progressBar(b));
    const testTargets = (b.targets || []).filter((t) => t.test_status);
    tests.replaceChildren(testTargets.length ? h('div', {}, h('h2', {}, 'Tests'),
      h('table', { id: 'tests' }, h('thead', {}, h('tr', {}, h('th', {}, 'target'), h('th', {}, 'result'), h('th', {}, 'runs'))),
        h('tbody', {}, testTargets.map((t) => h('tr', {}, h('td', {}, t.label),
          h('td', {}, badge(t.test_status + (t.cached_locally ? ' (cached)' : ''), t.test_status === 'PASSED' ? 'ok' : (t.test_status === 'FLAKY' ? 'warn' : 'bad'))),
          h('td', {}, t.run_count || 1)))))) : '');
    if (!b.finished && b.remote && !cancelShown) {
      cancelShown = true;
      actions.replaceChildren(h('button', { class: 'danger', onclick: async (e) => {
        e.target.disabled = true;
        try { await api('Builds', 'CancelBuild', { id: b.id }); } catch (err) { actions.append(errorBox(err)); }
      } }, 'Cancel build'));
    }
    if (b.finished && !rerunShown) {
      rerunShown = true;
      actions.replaceChildren(...rerunButtons(b, actions));
    }
  };
  try {
    render(await api('Builds', 'GetBuild', { id }));
  } catch (e) { return show(errorBox(e)); }
  followBuild(id, render, log);
}

// ---- pull requests -------------------------------------------------------------
function prState(pr) {
  const k = { merged: 'ok', approved: 'ok', rejected: 'bad', queued: 'run', open: '' }[pr.state];
  return badge(pr.state, k);
}
function validationBadge(v) {
  if (!v || !v.state) return badge('not validated');
  const k = { passed: 'ok', failed: 'bad', conflicted: 'bad', running: 'run', pending: 'run' }[v.state];
  return badge(v.state, k);
}
function prRow(pr) {
  const rev = (pr.revisions || [])[pr.revisions.length - 1] || {};
  return h('tr', {},
    h('td', {}, h('a', { href: '/prs/' + pr.number }, '#' + pr.number)), h('td', {}, pr.title),
    h('td', {}, pr.author), h('td', {}, pr.repo + ' → ' + pr.target_branch), h('td', {}, prState(pr)),
    h('td', {}, validationBadge(rev.validation)), h('td', {}, pr.queue_position ? String(pr.queue_position) : ''),
    h('td', { class: 'muted' }, ago(pr.updated_ms)));
}
function prTable(prs, empty) {
  if (!prs.length) return h('p', { class: 'muted' }, empty);
  return h('table', {}, h('thead', {}, h('tr', {}, ['PR', 'title', 'author', 'target', 'state', 'validation', 'queue', 'updated'].map((x) => h('th', {}, x)))),
    h('tbody', {}, prs.map(prRow)));
}

async function prListPage() {
  const before = Number(new URLSearchParams(location.search).get('before')) || 0;
  try {
    const r = await api('PullRequests', 'List', { limit: 100, before });
    show(h('h1', {}, 'Pull requests'), prTable(r.pull_requests || [], 'No pull requests yet.'),
      h('p', { class: 'row' }, before ? h('a', { href: '/prs' }, 'Newest') : '',
        Number(r.next_before) ? h('a', { href: '/prs?before=' + r.next_before, id: 'older' }, 'Older') : ''));
  } catch (e) { show(errorBox(e)); }
}

// Refetches on every change the farm announces (pushed as server-sent
// events), at most once per `ms`; an update already running is not doubled.
function onFarmChange(refresh, ms) {
  let busy = false, again = false;
  const run = async () => {
    if (busy) { again = true; return; }
    busy = true;
    try { await refresh(); } catch (e) { /* the next change tries again */ }
    setTimeout(() => { busy = false; if (again) { again = false; run(); } }, ms);
  };
  // EventSource retries a dropped stream by itself but gives up on a refusal
  // (429 or 503 when the farm is busy): open it again a little later.
  const handle = { es: null, closed: false, close() { this.closed = true; if (this.es) this.es.close(); } };
  const open = () => {
    if (handle.closed) return;
    handle.es = new EventSource('/events/changes');
    handle.es.addEventListener('change', run);
    handle.es.addEventListener('error', () => {
      if (handle.es.readyState === EventSource.CLOSED) setTimeout(open, 2000 + Math.random() * 3000);
    });
  };
  open();
  return handle;
}

// ---- a PR's diff ------------------------------------------------------------
// One file's hunks as table rows: old and new line numbers, the line as
// text. A click on a new line number picks it for a line comment.
function diffRows(file, comments, pick) {
  const rows = [];
  let oldN = 0, newN = 0;
  for (const line of (file.patch || '').split('\n')) {
    if (line === '') continue;
    const m = /^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@/.exec(line);
    if (m) {
      oldN = Number(m[1]); newN = Number(m[2]);
      rows.push(h('tr', { class: 'hunk' }, h('td', { class: 'n' }), h('td', { class: 'n' }), h('td', {}, line)));
      continue;
    }
    const kind = line[0] === '+' ? 'add' : line[0] === '-' ? 'del' : line[0] === '\\' ? 'note' : 'ctx';
    const o = kind === 'add' || kind === 'note' ? '' : oldN++;
    const n = kind === 'del' || kind === 'note' ? '' : newN++;
    const num = n === '' ? h('td', { class: 'n' }) : h('td', { class: 'n pick', title: 'comment on line ' + n, onclick: () => pick(file.path, n) }, String(n));
    rows.push(h('tr', { class: kind }, h('td', { class: 'n' }, String(o)), num, h('td', {}, line)));
    for (const c of comments.filter((c) => c.path === file.path && c.line === n && n !== '')) {
      rows.push(h('tr', { class: 'comment' }, h('td', { colspan: '3' }, h('b', {}, c.user), ': ', c.text)));
    }
  }
  return rows;
}

function diffView(diff, comments, pick) {
  const files = (diff.files || []).map((f) => {
    const counts = f.binary ? 'binary' : '+' + (f.additions || 0) + ' −' + (f.deletions || 0);
    const name = f.kind === 'renamed' ? f.old_path + ' → ' + f.path : f.path;
    const body = f.binary ? h('p', { class: 'muted' }, 'Binary file, not shown.')
      : h('table', { class: 'diff' }, h('tbody', {}, diffRows(f, comments, pick)));
    // Large files start folded: the page stays quick to read.
    const big = (f.additions || 0) + (f.deletions || 0) > 400;
    return h('details', { class: 'file', open: !big, 'data-path': f.path },
      h('summary', {}, h('code', {}, name), ' ', badge(f.kind), ' ', h('span', { class: 'muted' }, counts)),
      body, f.truncated ? h('p', { class: 'muted' }, 'Cut here: this file\'s diff is larger than the farm shows.') : '');
  });
  return [
    h('p', { class: 'muted', id: 'diff-basis' }, (diff.files || []).length + ' files changed, +' + (diff.additions || 0) + ' −' + (diff.deletions || 0) + ' · ' + diff.basis),
    ...files,
    diff.truncated ? h('p', { class: 'muted' }, 'The diff is larger than the farm shows; later files have counts only.') : '',
  ];
}

async function prPage(number) {
  const top = h('div');
  const validation = h('div');
  const status = h('div');
  const files = h('div', { id: 'files' });
  // A line comment: picked by a click on a line number in the diff.
  const lineText = h('input', { type: 'text', placeholder: 'comment on the picked line', 'aria-label': 'line comment' });
  const lineWhere = h('span', { class: 'muted', id: 'line-where' }, 'Click a line number in the diff to comment on it.');
  let picked = null, diffKey = '', since = 0;
  const pick = (path, line) => { picked = { path, line }; lineWhere.textContent = path + ':' + line; lineText.focus(); };
  const lineButton = h('button', { id: 'line-comment', onclick: async () => {
    if (!picked) { lineWhere.textContent = 'Pick a line first: click its number in the diff.'; return; }
    lineButton.disabled = true;
    try {
      await api('PullRequests', 'Comment', { number, comments: [{ path: picked.path, line: picked.line, text: lineText.value }] });
      lineText.value = ''; diffKey = ''; await refresh();
    } catch (e) { status.replaceChildren(errorBox(e)); }
    lineButton.disabled = false;
  } }, 'Comment');
  // Created once, so an update of the page keeps what the lead is typing.
  const msg = h('input', { type: 'text', placeholder: 'comment (required to reject)', 'aria-label': 'review comment' });
  let shown = '', followed = '', following = null;
  const act = async (method, button) => {
    button.disabled = true;
    try { await api('PullRequests', method, { number, message: msg.value }); msg.value = ''; await refresh(); }
    catch (e) { status.replaceChildren(errorBox(e)); button.disabled = false; }
  };
  const loadDiff = async (pr, rev) => {
    const key = rev.number + '/' + ((rev.validation || {}).merge_commit || '') + '/' + since + '/' + JSON.stringify(pr.reviews || []);
    if (key === diffKey) return;
    diffKey = key;
    // What the viewer last reviewed: the diff since then is a click away.
    const mine = (pr.reviews || []).filter((r) => r.user === session.user && r.revision < rev.number).pop();
    const choices = h('div', { class: 'row' },
      h('button', { id: 'diff-full', disabled: since === 0, onclick: () => { since = 0; diffKey = ''; loadDiff(pr, rev); } }, 'All changes'),
      mine ? h('button', { id: 'diff-since', disabled: since === mine.revision, onclick: () => { since = mine.revision; diffKey = ''; loadDiff(pr, rev); } },
        'Changes since revision ' + mine.revision + ' (your last review)') : '');
    const comments = (pr.reviews || []).filter((r) => r.revision === rev.number)
      .flatMap((r) => (r.comments || []).map((c) => ({ ...c, user: r.user })));
    try {
      const diff = await api('PullRequests', 'GetDiff', { number, since });
      files.replaceChildren(h('h2', {}, 'Files changed'), choices, ...diffView(diff, comments, pick),
        h('div', { class: 'row card' }, lineWhere, lineText, lineButton));
    } catch (e) { files.replaceChildren(h('h2', {}, 'Files changed'), errorBox(e)); }
  };
  const render = (pr) => {
    const rev = pr.revisions[pr.revisions.length - 1] || {};
    const v = rev.validation || {};
    loadDiff(pr, rev);
    const review = h('div', { class: 'card', id: 'review' });
    const canReview = isLead() && pr.author !== session.user && !['merged', 'closed'].includes(pr.state);
    if (canReview) {
      // An approval of the latest revision stands until a new revision comes.
      const mine = (pr.reviews || []).filter((r) => r.user === session.user && r.revision === rev.number).pop();
      const approve = mine && mine.decision === 'approved' ? h('span', { class: 'muted' }, 'You approved revision ' + rev.number + '.')
        : h('button', { class: 'primary', id: 'approve', onclick: () => act('Approve', approve) }, 'Approve');
      const reject = h('button', { class: 'danger', id: 'reject', onclick: () => act('Reject', reject) }, 'Reject');
      review.append(h('div', { class: 'row' }, msg, approve, reject));
    } else {
      review.append(h('span', { class: 'muted' }, pr.author === session.user ? 'You cannot review your own pull request.' : 'Leads review pull requests.'));
    }
    top.replaceChildren(
      h('h1', {}, '#' + pr.number + ' ' + pr.title),
      h('div', { class: 'row' }, prState(pr), h('span', { class: 'muted' }, pr.author + ' wants to merge ' + pr.branch + ' into ' + pr.repo + ' ' + pr.target_branch)),
      status,
      h('dl', { class: 'kv' },
        h('dt', {}, 'validation'), h('dd', { id: 'validation-state' }, validationBadge(v), ' ', v.message || '', v.build_id ? h('span', {}, ' · ', h('a', { href: '/builds/' + encodeURIComponent(v.build_id) }, 'build')) : ''),
        v.conflicts && v.conflicts.length ? [h('dt', {}, 'conflicts'), h('dd', {}, v.conflicts.join(', '))] : [],
        h('dt', {}, 'queue'), h('dd', { id: 'queue' }, pr.queue_position
          ? 'position ' + pr.queue_position + ', lane ' + (pr.lane || 1) + (pr.waits_on ? ' (after #' + pr.waits_on + ')' : '') + (pr.queue_note ? ' · ' + pr.queue_note : '')
          : (pr.queue_note || '—')),
        v.state === 'passed' ? [h('dt', {}, 'affects'), h('dd', { id: 'affects' }, v.affects_everything
          ? 'everything: ' + (v.affected_why || '') + ' (lands alone)'
          : (v.affected_targets || []).length + ' targets' + ((v.affected_targets || []).length ? ': ' + v.affected_targets.slice(0, 5).join(', ') + (v.affected_targets.length > 5 ? ', …' : '') : ''))] : [],
        pr.flaky_targets && pr.flaky_targets.length ? [h('dt', {}, 'flaky'), h('dd', {}, pr.flaky_targets.join(', ') + ' (failed once, passed on a retry)')] : [],
        pr.merged_commit ? [h('dt', {}, 'merged as'), h('dd', {}, h('code', {}, pr.merged_commit.slice(0, 12)))] : []),
      h('h2', {}, 'Review'), review,
      h('h2', {}, 'Reviews'),
      (pr.reviews || []).length ? h('table', {}, h('tbody', {}, pr.reviews.map((r) => h('tr', {}, h('td', {}, r.user), h('td', {}, badge(r.decision, r.decision === 'approved' ? 'ok' : r.decision === 'rejected' ? 'bad' : '')),
        h('td', {}, 'revision ' + r.revision), h('td', {}, r.message, (r.comments || []).map((c) => h('div', { class: 'line-comment' + (c.outdated ? ' outdated' : '') },
          h('code', {}, c.path + ':' + c.line), c.outdated ? [' ', badge('outdated', 'warn')] : '', ' ', c.text))),
        h('td', { class: 'muted' }, ago(r.at_ms)))))) : h('p', { class: 'muted' }, 'No reviews yet.'),
      h('h2', {}, 'Revisions'),
      h('table', {}, h('tbody', {}, pr.revisions.map((r) => h('tr', {}, h('td', {}, 'revision ' + r.number), h('td', {}, h('code', {}, r.head_commit.slice(0, 12))),
        h('td', {}, validationBadge(r.validation)), h('td', { class: 'muted' }, ago(r.created_ms)))))));
    if (v.build_id && v.build_id !== followed) {
      // A new validation started: follow its build from the beginning.
      followed = v.build_id;
      if (following) following.close();
      const log = new LogView();
      const progress = h('div', { id: 'validation-progress' });
      validation.replaceChildren(h('h2', {}, 'Validation'), progress, h('h2', {}, 'Validation log'), log.tools, log.el);
      following = followBuild(v.build_id, (b) => progress.replaceChildren(h('div', { class: 'row' }, buildState(b)), progressBar(b)), log);
    }
  };
  const refresh = async () => {
    const pr = await api('PullRequests', 'Get', { number });
    const json = JSON.stringify(pr);
    if (json !== shown) { shown = json; render(pr); }
  };
  try { await refresh(); } catch (e) { return show(errorBox(e)); }
  show(top, files, validation);
  onFarmChange(refresh, 500);
}

// ---- other pages ------------------------------------------------------------------
async function dashboard() {
  await renderDashboard();
  onFarmChange(renderDashboard, 1000);
}

async function renderDashboard() {
  try {
    const [builds, prs, exec] = await Promise.all([
      api('Builds', 'ListBuilds', { all_users: isLead(), limit: 50 }),
      api('PullRequests', 'List', { in_review: true, limit: 1000 }),
      api('Farm', 'GetExecution', {}),
    ]);
    const all = builds.builds || [];
    const open = (prs.pull_requests || []).filter((p) => !['merged', 'closed'].includes(p.state));
    const byTarget = {};
    for (const p of open) (byTarget[p.repo + ' → ' + p.target_branch] ||= []).push(p);
    show(h('h1', {}, 'Dashboard'),
      h('h2', {}, 'Running builds'), buildTable(all.filter((b) => !b.finished), 'Nothing is building.'),
      h('h2', {}, 'Pull requests by target'),
      Object.keys(byTarget).length ? Object.entries(byTarget).map(([t, list]) => h('div', {}, h('h3', {}, t),
        prTable(list.sort((a, b) => (a.queue_position || 1e9) - (b.queue_position || 1e9)), ''))) : h('p', { class: 'muted' }, 'No open pull requests.'),
      h('h2', {}, 'Recent builds'), buildTable(all.filter((b) => b.finished).slice(0, 20), 'No builds yet.'),
      workersSection(exec));
  } catch (e) { show(errorBox(e)); }
}

// The node's remote-execution workers and queue (cifs workers).
function workersSection(exec) {
  if (!exec.enabled) return h('div');
  const n = (x) => Number(x || 0);
  return h('div', { id: 'workers' }, h('h2', {}, 'Workers'),
    h('p', { class: 'muted' }, `${n(exec.queued)} queued, ${n(exec.executing)} executing; ${n(exec.completed)} done, ${n(exec.retried)} retried`),
    h('table', {}, h('thead', {}, h('tr', {}, ['worker', 'platform', 'running'].map((x) => h('th', {}, x)))),
      h('tbody', {}, (exec.workers || []).map((w) => h('tr', {}, h('td', {}, w.name), h('td', {}, w.platform),
        h('td', {}, w.running || 'idle'))))));
}

async function workspacesPage() {
  try {
    const r = await api('Workspaces', 'ListWorkspaces', { all_users: true });
    const ws = r.workspaces || [];
    show(h('h1', {}, 'Workspaces'), ws.length ? h('table', {}, h('thead', {}, h('tr', {}, ['name', 'owner', 'repository', 'branch'].map((x) => h('th', {}, x)))),
      h('tbody', {}, ws.map((w) => h('tr', {}, h('td', {}, w.name), h('td', {}, w.owner), h('td', {}, w.repo), h('td', {}, w.branch)))))
      : h('p', { class: 'muted' }, 'No workspaces.'));
  } catch (e) { show(errorBox(e)); }
}

function signInPage(message) {
  show(h('h1', {}, 'Sign in'), h('div', { class: 'card' }, message || 'You are not signed in.',
    h('p', {}, 'Run ', h('code', {}, 'cifs web login'), ' in a terminal and open the link it prints. Each link works once, for five minutes.')));
}

async function boot() {
  const path = location.pathname;
  if (path === '/signin-failed') return signInPage('That sign-in link is not valid: each link works once, for five minutes.');
  const res = await fetch('/api/v1/session', { credentials: 'same-origin' });
  if (res.status === 401) return signInPage();
  session = await res.json();
  document.getElementById('who').textContent = session.user + ' (' + session.role + ')';
  if (session.role === 'admin') document.getElementById('nav-workspaces').hidden = false;
  const out = document.getElementById('signout');
  if (session.via === 'session') {
    out.hidden = false;
    out.addEventListener('click', async () => {
      await fetch('/logout', { method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': session.csrf_token }, body: '{}' });
      location.href = '/';
    });
  }
  let m;
  if ((m = path.match(/^\/builds\/([A-Za-z0-9_.-]+)$/))) return buildPage(decodeURIComponent(m[1]));
  if ((m = path.match(/^\/prs\/(\d+)$/))) return prPage(Number(m[1]));
  if (path === '/prs') return prListPage();
  if (path === '/workspaces') return workspacesPage();
  return dashboard();
}

document.addEventListener('DOMContentLoaded', () => { boot().catch((e) => show(errorBox(e))); });
