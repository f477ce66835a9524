// Gennaker's UI script: progressive enhancement of server-rendered pages. Pages read without it;
// it adds live updates (Server-Sent Events -> re-read the page's live regions), forms and actions
// sent to the Gate API (errors shown at their JSON path), the pipeline editor, and the views drawn
// from optional endpoints (infrastructure, canary). No dependencies, no build step.
(() => {
  'use strict';
  document.documentElement.classList.add('js');
  const UI_HEADERS = { 'X-Gennaker-UI': '1', Accept: 'application/json' };
  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
  const el = (tag, attrs = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'text') node.textContent = v;
      else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? '' : v);
    }
    for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c);
    return node;
  };

  async function api(method, url, body) {
    const options = { method, headers: { ...UI_HEADERS }, credentials: 'same-origin' };
    if (body !== undefined) {
      options.headers['Content-Type'] = 'application/json';
      options.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(url, options);
    } catch (err) {
      return { ok: false, status: 0, data: { message: 'The server cannot be reached: ' + err.message } };
    }
    const text = await response.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (_) { data = { message: text }; }
    return { ok: response.ok, status: response.status, data, headers: response.headers };
  }
  const problemOf = (r) => (r.data && r.data.message) || `The server answered ${r.status}.`;

  function toast(message, kind = 'problem') {
    let box = $('[data-toast]');
    if (!box) {
      box = el('div', { 'data-toast': '', role: 'alert', class: 'toast' });
      document.body.append(box);
    }
    box.className = 'toast ' + kind;
    box.textContent = message;
    box.hidden = false;
    clearTimeout(box._timer);
    box._timer = setTimeout(() => { box.hidden = true; }, 8000);
  }

  // -- live regions ------------------------------------------------------------------------------
  let refreshing = null;
  let again = false;
  // Re-read the page (its URL may have changed: filters rewrite it) and swap its live regions.
  async function refresh() {
    if (refreshing) { again = true; return refreshing; }
    refreshing = (async () => {
      do {
        again = false;
        const response = await fetch(location.href, { headers: { 'X-Gennaker-UI': '1' }, credentials: 'same-origin' });
        if (!response.ok) break;
        const doc = new DOMParser().parseFromString(await response.text(), 'text/html');
        for (const fresh of $$('[data-live-region][id]', doc)) {
          const current = document.getElementById(fresh.id);
          if (current) swap(current, fresh);
        }
        enhance(document);
      } while (again);
    })();
    try {
      await refreshing;
    } finally {
      refreshing = null;
      // A request that came after the last read began but before this one ended is not lost.
      if (again) { again = false; refresh(); }
    }
  }
  // Bring a live region up to date in place: nodes that stay keep their identity, so a click,
  // a focus, an open <details> or a scroll position is not lost when the page re-reads itself
  // (replacing the nodes between a mouse press and its release would swallow the click).
  function swap(current, fresh) {
    morphChildren(current, fresh);
  }
  const keyOf = (n) => (n.nodeType === 1 ? n.getAttribute('data-key') || n.getAttribute('id') || n.getAttribute('href') || '' : '');
  const sameKind = (a, b) => a.nodeType === b.nodeType && a.nodeName === b.nodeName && keyOf(a) === keyOf(b);
  function morphChildren(current, fresh) {
    const wanted = Array.from(fresh.childNodes);
    let node = current.firstChild;
    for (const want of wanted) {
      if (node && sameKind(node, want)) {
        morphNode(node, want);
        node = node.nextSibling;
        continue;
      }
      // A node further on may be the one wanted here (a row was added above it): move it up.
      let later = node && node.nextSibling;
      while (later && !sameKind(later, want)) later = later.nextSibling;
      if (later && keyOf(want)) {
        current.insertBefore(later, node);
        morphNode(later, want);
      } else {
        current.insertBefore(want.ownerDocument === document ? want : document.importNode(want, true), node);
      }
    }
    while (node) {
      const next = node.nextSibling;
      node.remove();
      node = next;
    }
  }
  function morphNode(node, want) {
    if (node.nodeType !== 1) {
      if (node.nodeValue !== want.nodeValue) node.nodeValue = want.nodeValue;
      return;
    }
    for (const { name } of Array.from(node.attributes)) {
      // Whether a <details> is open is the reader's choice, not the server's.
      if (!want.hasAttribute(name) && !(name === 'open' && node.nodeName === 'DETAILS')) node.removeAttribute(name);
    }
    for (const { name, value } of Array.from(want.attributes)) {
      if (node.getAttribute(name) !== value) node.setAttribute(name, value);
    }
    morphChildren(node, want);
  }
  const EVENT_TYPES = ['pipeline.created', 'pipeline.starting', 'pipeline.waiting', 'pipeline.canceling',
    'pipeline.complete', 'pipeline.failed', 'pipeline.finally', 'stage.starting', 'stage.complete',
    'stage.failed', 'stage.paused', 'stage.resumed', 'stage.restarted', 'stage.retrying'];
  function live() {
    const app = document.body.dataset.liveApplication;
    const execution = document.body.dataset.liveExecution;
    if (!app && !execution) return;
    const query = execution ? 'executionId=' + encodeURIComponent(execution) : 'application=' + encodeURIComponent(app);
    const source = new EventSource('/events/stream?' + query);
    const state = $('[data-live-state]');
    const show = (text, ok) => { if (state) { state.hidden = false; state.textContent = text; state.classList.toggle('ok', ok); } };
    source.onopen = () => show('● live', true);
    source.onerror = () => show('○ reconnecting…', false);
    let timer = null;
    const poke = () => { clearTimeout(timer); timer = setTimeout(() => refresh(), 60); };
    for (const type of EVENT_TYPES) source.addEventListener(type, poke);
    // After reconnecting the stream may have missed events; read the page again.
    source.addEventListener('open', poke);
  }

  // -- forms sent to the API ---------------------------------------------------------------------
  function setPath(target, name, value) {
    const keys = name.split('.');
    let node = target;
    keys.slice(0, -1).forEach((k) => { node = node[k] = node[k] && typeof node[k] === 'object' ? node[k] : {}; });
    node[keys[keys.length - 1]] = value;
  }
  function clearErrors(form) {
    $$('[data-error-for]', form).forEach((n) => { n.textContent = ''; });
    $$('[aria-invalid]', form).forEach((n) => n.removeAttribute('aria-invalid'));
    const box = $('[data-form-error]', form);
    if (box) { box.hidden = true; box.textContent = ''; }
  }
  function showErrors(form, errors, message) {
    const loose = [];
    for (const e of errors) {
      const slot = $$('[data-error-for]', form).find((n) => n.dataset.errorFor === e.path);
      if (slot) {
        slot.textContent = e.message;
        const field = $$('[data-path]', form).find((n) => n.dataset.path === e.path);
        if (field) field.setAttribute('aria-invalid', 'true');
      } else loose.push(e.path ? `${e.path}: ${e.message}` : e.message);
    }
    const box = $('[data-form-error]', form);
    const text = loose.length ? loose.join('\n') : errors.length ? '' : message;
    if (box && text) { box.textContent = text; box.hidden = false; }
    const first = $('[aria-invalid]', form);
    if (first) first.focus();
    else if (box && !box.hidden) box.focus && box.setAttribute('tabindex', '-1');
  }
  function formBody(form, submitter) {
    const body = form.dataset.wrap ? JSON.parse(form.dataset.wrap) : {};
    const errors = [];
    for (const field of form.elements) {
      if (!field.name || field.disabled || field.type === 'submit' || field.tagName === 'BUTTON') continue;
      if ((field.type === 'radio' || field.type === 'checkbox') && !field.checked) continue;
      let value = field.value;
      if (field.dataset.type === 'json') {
        try { value = value.trim() ? JSON.parse(value) : null; } catch (err) {
          errors.push({ path: field.dataset.path, message: 'not valid JSON: ' + err.message });
          continue;
        }
      }
      if ('required' in field.dataset && String(value).trim() === '') {
        errors.push({ path: field.dataset.path, message: 'required' });
        continue;
      }
      setPath(body, field.name, value);
    }
    if (submitter && submitter.name) setPath(body, submitter.name, submitter.value);
    return { body, errors };
  }
  async function submitForm(form, submitter) {
    clearErrors(form);
    const { body, errors } = formBody(form, submitter);
    if (errors.length) { showErrors(form, errors, ''); return; }
    let url = form.dataset.url;
    let payload = body;
    if (form.dataset.query) {
      const params = new URLSearchParams();
      for (const key of form.dataset.query.split(',')) if (body[key]) params.set(key, body[key]);
      url += (params.toString() ? '?' + params : '');
      payload = undefined;
    }
    const buttons = $$('button', form);
    buttons.forEach((b) => { b.disabled = true; });
    const r = await api(form.dataset.method || 'POST', url, payload);
    buttons.forEach((b) => { b.disabled = false; });
    if (!r.ok) { showErrors(form, (r.data && r.data.errors) || [], problemOf(r)); return; }
    if (form.dataset.redirect) {
      location.href = form.dataset.redirect.replace('{name}', encodeURIComponent(body.name || ''));
      return;
    }
    const dialog = form.closest('dialog');
    if (dialog && 'closeOnSuccess' in form.dataset) dialog.close();
    await refresh();
  }

  document.addEventListener('submit', (event) => {
    const form = event.target;
    if (form.matches('[data-api-form]')) { event.preventDefault(); submitForm(form, event.submitter); }
    else if (form.matches('[data-resize-form]')) { event.preventDefault(); infra.resize(form); }
  });

  document.addEventListener('click', async (event) => {
    const target = event.target.closest('button, a');
    if (!target) return;
    const d = target.dataset;
    if (d.openDialog) {
      const dialog = document.getElementById(d.openDialog);
      if (dialog) { clearErrors(dialog); dialog.showModal(); const f = $('input, select, textarea', dialog); if (f) f.focus(); }
    } else if ('closeDialog' in d) {
      target.closest('dialog').close();
    } else if (d.api) {
      if (d.confirm && !window.confirm(d.confirm)) return;
      const [method, url] = d.api.split(' ');
      target.disabled = true;
      const r = await api(method, url, d.body ? JSON.parse(d.body) : undefined);
      target.disabled = false;
      if (!r.ok) { toast(problemOf(r)); return; }
      if (d.then) location.href = d.then; else refresh();
    } else if (d.deleteApplication) {
      const dialog = $('#confirm-delete');
      $('[data-confirm-name]', dialog).value = '';
      dialog.showModal();
    } else if (d.confirmDelete) {
      const dialog = target.closest('dialog');
      const box = $('[data-form-error]', dialog);
      if ($('[data-confirm-name]', dialog).value !== d.confirmDelete) {
        box.textContent = `Type ${d.confirmDelete} to confirm.`; box.hidden = false; return;
      }
      const r = await api('DELETE', '/applications/' + encodeURIComponent(d.confirmDelete));
      if (!r.ok) { box.textContent = problemOf(r); box.hidden = false; return; }
      location.href = '/ui/';
    } else if ('logout' in d) {
      await api('POST', '/ui/logout');
      location.href = '/ui/login';
    }
  });

  // Filters apply as they change, without leaving the page (focus stays where it is).
  let filterTimer = null;
  const applyFilters = (form) => {
    const url = new URL(form.action || location.href, location.href);
    url.search = new URLSearchParams(new FormData(form)).toString();
    history.replaceState(null, '', url);
    if ($('[data-live-region]')) refresh(); else location.href = url.href;
  };
  document.addEventListener('input', (event) => {
    const field = event.target;
    if (!field.matches('[data-autosubmit]')) return;
    clearTimeout(filterTimer);
    const wait = field.type === 'search' || field.type === 'number' ? 350 : 0;
    filterTimer = setTimeout(() => applyFilters(field.form), wait);
  });

  // -- run-job logs (streamed while the job runs) ---------------------------------------------------
  const logs = new Map();
  function followLog(pre) {
    const url = pre.dataset.logUrl;
    let state = logs.get(url);
    if (!state) { state = { text: '', offset: 0, stderrOffset: 0, done: false, polling: false }; logs.set(url, state); }
    pre.textContent = state.text || '(no output yet)';
    if (state.polling || state.done) return;
    state.polling = true;
    const step = async () => {
      const r = await api('GET', `${url}?offset=${state.offset}&stderrOffset=${state.stderrOffset}`);
      const current = $$('[data-log-url]').find((n) => n.dataset.logUrl === url);
      const running = current && current.dataset.logLive === 'true';
      if (r.status === 404 && running) { /* the job has not written anything yet: ask again */ }
      else if (!r.ok) { state.text = r.status === 404 ? '(no output for this stage)' : problemOf(r); state.done = true; }
      else {
        state.text += (r.data.stdout || '') + (r.data.stderr ? r.data.stderr : '');
        state.offset = r.data.offset; state.stderrOffset = r.data.stderrOffset || 0;
        state.done = !!r.data.complete;
      }
      const target = $$('[data-log-url]').find((n) => n.dataset.logUrl === url);
      if (target) { target.textContent = state.text || '(no output yet)'; target.scrollTop = target.scrollHeight; }
      if (!state.done && target) setTimeout(step, 1000); else state.polling = false;
    };
    step();
  }

  function enhance(root) {
    $$('[data-log-url]', root).forEach(followLog);
  }

  // -- the pipeline editor ---------------------------------------------------------------------------
  // Where a JSON path ($.stages[1].name) is in the text: a small scanner over the JSON text.
  function locate(text, path) {
    const want = [];
    path.replace(/^\$/, '').replace(/\.([^.[\]]+)|\[(\d+)\]/g, (_, key, index) => { want.push(key !== undefined ? key : Number(index)); });
    let i = 0;
    const ws = () => { while (i < text.length && /\s/.test(text[i])) i++; };
    const str = () => { const start = i++; while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1; i++; return JSON.parse(text.slice(start, i)); };
    let found = null;
    const value = (at) => {
      ws();
      const start = i;
      const match = at.length === want.length && at.every((k, n) => k === want[n]);
      if (text[i] === '{') {
        i++; ws();
        while (i < text.length && text[i] !== '}') {
          ws(); const key = str(); ws(); i++; value([...at, key]); ws(); if (text[i] === ',') i++; ws();
        }
        i++;
      } else if (text[i] === '[') {
        i++; ws(); let n = 0;
        while (i < text.length && text[i] !== ']') { value([...at, n++]); ws(); if (text[i] === ',') i++; ws(); }
        i++;
      } else if (text[i] === '"') str();
      else while (i < text.length && !/[,\]}\s]/.test(text[i])) i++;
      if (match && !found) found = [start, i];
    };
    try { value([]); } catch (_) { return null; }
    if (found) return found;
    // The path may name a key that is missing: point at its parent.
    return want.length ? locate(text, '$' + want.slice(0, -1).map((k) => (typeof k === 'number' ? `[${k}]` : '.' + k)).join('')) : null;
  }

  function editor(root) {
    const area = $('[data-editor-json]', root);
    const list = $('[data-editor-errors]', root);
    const forms = $('[data-editor-forms]', root);
    const problem = $('[data-editor-problem]', root);
    const status = $('[data-editor-status]', root);
    const stageTypes = JSON.parse(root.dataset.stageTypes || '[]');
    const application = root.dataset.application;
    let configId = root.dataset.configId;
    let model = null;
    let timer = null;
    let generation = 0;

    const write = () => { area.value = JSON.stringify(model, null, 2); check(false); };
    const parse = () => {
      try { return { value: JSON.parse(area.value) }; } catch (err) { return { error: err.message }; }
    };
    function showProblems(errors) {
      list.replaceChildren();
      $$('[data-path]', forms).forEach((n) => n.removeAttribute('aria-invalid'));
      $$('.field-error', forms).forEach((n) => { n.textContent = ''; });
      if (!errors.length) { list.append(el('li', { class: 'ok', text: '✓ valid' })); return; }
      for (const e of errors) {
        const link = el('button', { type: 'button', class: 'link', text: e.path || '$' });
        link.addEventListener('click', () => {
          const at = e.path ? locate(area.value, e.path) : null;
          area.focus();
          if (at) area.setSelectionRange(at[0], at[1]);
        });
        list.append(el('li', {}, link, ' ', e.message));
        const field = $$('[data-path]', forms).find((n) => n.dataset.path === e.path);
        if (field) {
          field.setAttribute('aria-invalid', 'true');
          const slot = field.parentElement.querySelector('.field-error');
          if (slot) slot.textContent = e.message;
        }
      }
    }
    async function check(fromText) {
      const parsed = parse();
      if (parsed.error) { showProblems([{ path: '', message: 'JSON syntax: ' + parsed.error }]); return; }
      // Text edits replace the model; form edits already changed it (the forms hold references into it).
      if (fromText) { model = parsed.value; renderForms(); }
      const mine = ++generation;
      const r = await api('POST', '/pipelines/validate', model);
      if (mine !== generation) return;  // a newer change is being checked
      if (r.ok) showProblems([]);
      else showProblems((r.data && r.data.errors && r.data.errors.length) ? r.data.errors : [{ path: '', message: problemOf(r) }]);
    }
    area.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(() => check(true), 250); });

    const field = (label, path, value, onChange, opts = {}) => {
      const input = opts.options
        ? el('select', { 'data-path': path }, opts.options.map((o) => el('option', { value: o, selected: o === value, text: o })))
        : el(opts.multiline ? 'textarea' : 'input', { 'data-path': path, type: opts.type || 'text', rows: opts.multiline ? 2 : null, placeholder: opts.placeholder || null });
      if (opts.type === 'checkbox') input.checked = !!value; else if (!opts.options) input.value = value === undefined || value === null ? '' : value;
      input.addEventListener(opts.type === 'checkbox' || opts.options ? 'change' : 'input', () => {
        onChange(opts.type === 'checkbox' ? input.checked : input.value);
        write();
      });
      return el('label', { class: opts.type === 'checkbox' ? 'check' : null }, label, ' ', input, el('span', { class: 'field-error' }));
    };
    const list_ = (v) => (Array.isArray(v) ? v.join(', ') : v || '');
    const split = (v) => v.split(',').map((s) => s.trim()).filter(Boolean);
    const num = (v) => (v.trim() !== '' && !isNaN(Number(v)) ? Number(v) : v);
    const setOrDelete = (obj, key, value) => { if (value === '' || value === undefined) delete obj[key]; else obj[key] = value; };

    function stageFields(stage, path, block, index) {
      const rows = [
        field('Name', path + '.name', stage.name, (v) => { stage.name = v; }),
        field('Type', path + '.type', stage.type, (v) => { stage.type = v; renderForms(); },
          { options: stageTypes.includes(stage.type) ? stageTypes : [stage.type, ...stageTypes] }),
        field('refId', path + '.refId', stage.refId, (v) => { stage.refId = v; }),
        field('Depends on (refIds)', path + '.requisiteStageRefIds', list_(stage.requisiteStageRefIds), (v) => { stage.requisiteStageRefIds = split(v); }, { placeholder: 'e.g. 1, 2' }),
      ];
      if (stage.type === 'wait') rows.push(field('Wait time (seconds)', path + '.waitTime', stage.waitTime, (v) => { stage.waitTime = num(v); }));
      if (stage.type === 'manualJudgment') {
        rows.push(field('Instructions', path + '.instructions', stage.instructions, (v) => setOrDelete(stage, 'instructions', v), { multiline: true }));
        rows.push(field('Judgment inputs', path + '.judgmentInputs', list_((stage.judgmentInputs || []).map((j) => j.value)), (v) => { stage.judgmentInputs = split(v).map((value) => ({ value })); }, { placeholder: 'comma-separated' }));
      }
      if (stage.type === 'webhook') {
        rows.push(field('URL', path + '.url', stage.url, (v) => { stage.url = v; }));
        rows.push(field('Method', path + '.method', stage.method || 'POST', (v) => { stage.method = v; }, { options: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] }));
      }
      if (stage.type === 'pipeline') {
        rows.push(field('Application', path + '.application', stage.application, (v) => { stage.application = v; }));
        rows.push(field('Pipeline (id)', path + '.pipeline', stage.pipeline, (v) => { stage.pipeline = v; }));
      }
      if (stage.type === 'fail') rows.push(field('Message', path + '.message', stage.message, (v) => setOrDelete(stage, 'message', v)));
      if (stage.type === 'runJob') rows.push(field('Command (JSON list)', path + '.command', JSON.stringify(stage.command || []), (v) => { try { stage.command = JSON.parse(v); } catch (_) { /* kept until it parses */ } }));
      const remove = el('button', { type: 'button', class: 'link danger', text: 'Remove stage' });
      remove.addEventListener('click', () => { block.splice(index, 1); renderForms(); write(); });
      return el('fieldset', { class: 'stage-form' }, el('legend', { text: `${stage.name || stage.type || 'stage'} (refId ${stage.refId || '?'})` }), rows, remove);
    }
    function stageBlock(title, key) {
      const block = Array.isArray(model[key]) ? model[key] : [];
      const section = el('section', {}, el('h2', { class: 'small', text: title }));
      block.forEach((stage, i) => { if (stage && typeof stage === 'object') section.append(stageFields(stage, `$.${key}[${i}]`, block, i)); });
      const add = el('button', { type: 'button', text: key === 'finally' ? 'Add finally stage' : 'Add stage' });
      add.addEventListener('click', () => {
        if (!Array.isArray(model[key])) model[key] = [];
        const taken = new Set([...(model.stages || []), ...(model.finally || [])].map((s) => String(s.refId)));
        let n = 1; while (taken.has(String(key === 'finally' ? 'f' + n : n))) n++;
        const last = model[key][model[key].length - 1];
        model[key].push({ refId: key === 'finally' ? 'f' + n : String(n), requisiteStageRefIds: last ? [String(last.refId)] : [], type: 'wait', name: 'Wait', waitTime: 30 });
        renderForms(); write();
      });
      section.append(add);
      return section;
    }
    function parameterBlock() {
      if (!Array.isArray(model.parameterConfig)) model.parameterConfig = [];
      const params = model.parameterConfig;
      const section = el('section', {}, el('h2', { class: 'small', text: 'Parameters' }));
      params.forEach((p, i) => {
        const path = `$.parameterConfig[${i}]`;
        const remove = el('button', { type: 'button', class: 'link danger', text: 'Remove' });
        remove.addEventListener('click', () => { params.splice(i, 1); renderForms(); write(); });
        section.append(el('fieldset', { class: 'stage-form' }, el('legend', { text: p.name || 'parameter' }),
          field('Name', path + '.name', p.name, (v) => { p.name = v; }),
          field('Default', path + '.default', p.default, (v) => { p.default = v; }),
          field('Description', path + '.description', p.description, (v) => setOrDelete(p, 'description', v)),
          field('Options', path + '.options', list_((p.options || []).map((o) => o.value)), (v) => { p.options = split(v).map((value) => ({ value })); p.hasOptions = p.options.length > 0; }, { placeholder: 'comma-separated' }),
          field('Required', path + '.required', p.required, (v) => { p.required = v; }, { type: 'checkbox' }),
          remove));
      });
      const add = el('button', { type: 'button', text: 'Add parameter' });
      add.addEventListener('click', () => { params.push({ name: 'param' + (params.length + 1), default: '', required: false }); renderForms(); write(); });
      section.append(add);
      return section;
    }
    // Triggers and notifications: the common fields of each type; anything else stays in the JSON.
    const TRIGGER_FIELDS = {
      webhook: [['source', 'Source (POST /webhooks/webhook/<source>)']],
      git: [['source', 'Source (github, gitlab, bitbucket)'], ['project', 'Project'], ['slug', 'Repository'], ['branch', 'Branch (regex)']],
      cron: [['cronExpression', 'Cron expression (Quartz)']],
      docker: [['account', 'Registry account'], ['repository', 'Repository'], ['tag', 'Tag (regex)']],
      pipeline: [['application', 'Application'], ['pipeline', 'Pipeline (config id)']],
    };
    const WHEN = ['pipeline.starting', 'pipeline.complete', 'pipeline.failed'];
    function listBlock(title, key, make, describe, body) {
      if (!Array.isArray(model[key])) model[key] = [];
      const items = model[key];
      const section = el('section', {}, el('h2', { class: 'small', text: title }));
      items.forEach((item, i) => {
        if (!item || typeof item !== 'object') return;
        const remove = el('button', { type: 'button', class: 'link danger', text: 'Remove' });
        remove.addEventListener('click', () => { items.splice(i, 1); renderForms(); write(); });
        section.append(el('fieldset', { class: 'stage-form' }, el('legend', { text: describe(item) }), body(item, `$.${key}[${i}]`), remove));
      });
      const add = el('button', { type: 'button', text: `Add ${title.toLowerCase().replace(/s$/, '')}` });
      add.addEventListener('click', () => { items.push(make()); renderForms(); write(); });
      section.append(add);
      return section;
    }
    const triggerBlock = () => listBlock('Triggers', 'triggers', () => ({ type: 'webhook', enabled: true, source: '' }),
      (t) => `${t.type || 'trigger'}${t.enabled === false ? ' (disabled)' : ''}`,
      (t, path) => [
        field('Type', path + '.type', t.type, (v) => { t.type = v; renderForms(); }, { options: Object.keys(TRIGGER_FIELDS).includes(t.type) ? Object.keys(TRIGGER_FIELDS) : [t.type, ...Object.keys(TRIGGER_FIELDS)] }),
        field('Enabled', path + '.enabled', t.enabled !== false, (v) => { t.enabled = v; }, { type: 'checkbox' }),
        ...(TRIGGER_FIELDS[t.type] || []).map(([key, label]) => field(label, `${path}.${key}`, t[key], (v) => setOrDelete(t, key, v))),
        t.type === 'pipeline' ? field('When the parent ends (status, …)', path + '.status', list_(t.status), (v) => { t.status = split(v); }, { placeholder: 'successful, failed, canceled' }) : null,
      ].filter(Boolean));
    const notificationBlock = () => listBlock('Notifications', 'notifications', () => ({ type: 'slack', address: '', level: 'pipeline', when: ['pipeline.failed'] }),
      (n) => `${n.type || 'notification'} ${n.address || ''}`.trim(),
      (n, path) => [
        field('Type', path + '.type', n.type, (v) => { n.type = v; }, { options: ['slack', 'email', 'webhook'].includes(n.type) ? ['slack', 'email', 'webhook'] : [n.type, 'slack', 'email', 'webhook'] }),
        field(n.type === 'email' ? 'Addresses' : n.type === 'webhook' ? 'URL' : 'Channel', path + '.address', n.address, (v) => { n.address = v; }),
        ...WHEN.map((w) => field(`Send when ${w.replace('pipeline.', '')}`, path + '.when', (n.when || []).includes(w), (on) => {
          const when = new Set(n.when || []); if (on) when.add(w); else when.delete(w);
          n.when = WHEN.filter((x) => when.has(x)).concat([...when].filter((x) => !WHEN.includes(x)));
        }, { type: 'checkbox' })),
      ]);

    function renderForms() {
      if (!model || typeof model !== 'object' || Array.isArray(model)) { forms.replaceChildren(el('p', { text: 'The JSON must be an object.' })); return; }
      const locks = Array.isArray(model.locks) ? model.locks : [];
      forms.replaceChildren(
        el('section', {}, el('h2', { class: 'small', text: 'Pipeline' }),
          field('Name', '$.name', model.name, (v) => { model.name = v; }),
          field('Disabled', '$.disabled', model.disabled, (v) => { model.disabled = v; }, { type: 'checkbox' }),
          field('Run one at a time (limitConcurrent)', '$.limitConcurrent', model.limitConcurrent, (v) => { model.limitConcurrent = v; }, { type: 'checkbox' }),
          field('At most this many at once (maxConcurrentExecutions, 0 = no limit)', '$.maxConcurrentExecutions', model.maxConcurrentExecutions, (v) => setOrDelete(model, 'maxConcurrentExecutions', v === '' ? '' : num(v))),
          field('Keep waiting executions (keepWaitingPipelines)', '$.keepWaitingPipelines', model.keepWaitingPipelines, (v) => { model.keepWaitingPipelines = v; }, { type: 'checkbox' }),
          field('Locks (name:mode, …)', '$.locks', locks.map((l) => l.name + (l.mode ? ':' + l.mode : '')).join(', '), (v) => {
            const parsed = split(v).map((item) => { const [name, mode] = item.split(':'); return mode ? { name, mode } : { name }; });
            setOrDelete(model, 'locks', parsed.length ? parsed : '');
          }, { placeholder: 'deploy-prod:oldest_first' })),
        parameterBlock(),
        stageBlock('Stages', 'stages'),
        stageBlock('Finally', 'finally'),
        triggerBlock(),
        notificationBlock());
    }
    async function save() {
      problem.hidden = true;
      const parsed = parse();
      if (parsed.error) { problem.textContent = 'Fix the JSON first: ' + parsed.error; problem.hidden = false; return; }
      model = parsed.value;
      model.application = model.application || application;
      const r = await api('POST', '/pipelines?staleCheck=true', model);
      if (!r.ok) {
        problem.textContent = problemOf(r);
        problem.hidden = false;
        if (r.data && r.data.errors) showProblems(r.data.errors);
        return;
      }
      model = r.data;
      area.value = JSON.stringify(model, null, 2);
      status.textContent = `Saved at ${new Date().toLocaleTimeString()}.`;
      if (!configId) {
        configId = model.id;
        history.replaceState(null, '', `/ui/applications/${encodeURIComponent(application)}/pipelines/${encodeURIComponent(configId)}/edit`);
      }
      renderForms();
    }
    $('[data-editor-save]', root).addEventListener('click', save);
    const dialog = $('#import-dialog');
    $('[data-import-apply]', dialog).addEventListener('click', () => {
      const box = $('[data-form-error]', dialog);
      let imported;
      try { imported = JSON.parse($('[data-import-text]', dialog).value); } catch (err) { box.textContent = 'Not valid JSON: ' + err.message; box.hidden = false; return; }
      if (!imported || typeof imported !== 'object' || Array.isArray(imported)) { box.textContent = 'A pipeline is a JSON object.'; box.hidden = false; return; }
      const current = parse().value || {};
      imported.application = application;
      if (configId) { imported.id = configId; imported.updateTs = current.updateTs; } else { delete imported.id; delete imported.updateTs; }
      model = imported;
      dialog.close();
      renderForms(); write();
    });
    check(true);
  }

  // -- infrastructure (from the providers' Gate endpoints, when there are any) -----------------------
  const HEALTH = { Up: '✓', Down: '✕', Starting: '▶', OutOfService: '⊘', Unknown: '?', Succeeded: '✓', Failed: '✕', Draining: '…' };
  const infra = {
    root: null,
    async load() {
      const root = this.root;
      const app = root.dataset.infrastructure;
      const [groups, balancers] = await Promise.all([
        api('GET', `/applications/${encodeURIComponent(app)}/serverGroups?expand=true`),
        api('GET', `/applications/${encodeURIComponent(app)}/loadBalancers`),
      ]);
      if (groups.status === 404 && balancers.status === 404) {
        root.replaceChildren(el('p', { class: 'notice', text: 'No cloud provider configured: this Gennaker has no infrastructure endpoints. Install or enable a provider (for example the local provider) to see clusters, server groups and load balancers here.' }));
        return;
      }
      if (!groups.ok) { root.replaceChildren(el('p', { class: 'problem', text: problemOf(groups) })); return; }
      const byCluster = new Map();
      for (const sg of groups.data || []) {
        const key = `${sg.account || sg.accountName || '?'} / ${sg.cluster || (sg.moniker && sg.moniker.cluster) || sg.name}`;
        if (!byCluster.has(key)) byCluster.set(key, []);
        byCluster.get(key).push(sg);
      }
      const parts = [];
      parts.push(el('h2', { text: 'Clusters' }));
      if (!byCluster.size) parts.push(el('p', { class: 'muted', text: 'No server groups.' }));
      for (const [key, sgs] of byCluster) {
        const rows = sgs.map((sg) => {
          const c = sg.instanceCounts || {};
          const cap = sg.capacity || {};
          const disabled = sg.isDisabled || sg.disabled;
          const instances = (sg.instances || []).map((i) => el('li', {}, el('span', { class: 'health h-' + (i.healthState || 'Unknown') }, `${HEALTH[i.healthState] || '?'} ${i.name || i.id} · ${i.healthState || 'Unknown'}`),
            ' ', el('button', { type: 'button', class: 'link', text: 'logs', onclick: () => this.console(sg, i) })));
          const act = (label, job, confirmText) => el('button', { type: 'button', text: label, onclick: () => this.task(sg, job, confirmText) });
          return el('tr', {},
            el('td', {}, el('strong', { text: sg.name }), el('div', { class: 'muted', text: `${sg.region || ''}` })),
            el('td', { text: disabled ? '⊘ disabled' : '✓ enabled' }),
            el('td', { text: `${cap.min ?? '?'} / ${cap.desired ?? '?'} / ${cap.max ?? '?'}` }),
            el('td', { text: `${c.up || 0} up, ${c.down || 0} down, ${c.starting || 0} starting, ${c.outOfService || 0} out of service, ${c.unknown || 0} unknown` }),
            el('td', {}, el('ul', { class: 'instances' }, instances)),
            el('td', {}, el('div', { class: 'actions' },
              el('button', { type: 'button', text: 'Resize…', onclick: () => this.openResize(sg) }),
              disabled ? act('Enable', 'enableServerGroup') : act('Disable', 'disableServerGroup', `Disable ${sg.name}?`),
              this.rollbackButton(sg, sgs),
              el('button', { type: 'button', text: 'Clone', onclick: () => this.task(sg, 'cloneServerGroup', `Clone ${sg.name} into a new server group?`, this.cloneOf(sg)) }),
              act('Destroy', 'destroyServerGroup', `Destroy ${sg.name} and its instances?`))));
        });
        parts.push(el('section', { class: 'cluster' }, el('h3', { text: key }),
          el('table', { class: 'list' }, el('thead', {}, el('tr', {}, ['Server group', 'State', 'Min / desired / max', 'Instances', 'Health', 'Actions'].map((h) => el('th', { scope: 'col', text: h })))), el('tbody', {}, rows))));
      }
      parts.push(el('h2', { text: 'Load balancers' }));
      const lbs = balancers.ok ? balancers.data || [] : [];
      if (!lbs.length) parts.push(el('p', { class: 'muted', text: 'No load balancers.' }));
      else parts.push(el('table', { class: 'list' }, el('thead', {}, el('tr', {}, ['Name', 'Account', 'Region', 'Server groups'].map((h) => el('th', { scope: 'col', text: h })))),
        el('tbody', {}, lbs.map((lb) => el('tr', {}, el('td', { text: lb.name }), el('td', { text: lb.account || '' }), el('td', { text: lb.region || '' }),
          el('td', { text: (lb.serverGroups || []).map((s) => `${s.name}${s.isDisabled ? ' (disabled)' : ''}`).join(', ') }))))));
      root.replaceChildren(...parts);
    },
    target(sg) {
      return { serverGroupName: sg.name, asgName: sg.name, moniker: sg.moniker, region: sg.region, regions: [sg.region], credentials: sg.account, cloudProvider: sg.cloudProvider || sg.type };
    },
    // Roll an enabled server group back to the newest older one of its cluster and region (Deck's
    // explicit rollback: enable the restore target, then disable this one).
    rollbackButton(sg, siblings) {
      if (sg.isDisabled || sg.disabled) return null;
      const older = siblings.filter((o) => o.region === sg.region && o.name !== sg.name && (o.createdTime || 0) < (sg.createdTime || 0))
        .sort((a, b) => (b.createdTime || 0) - (a.createdTime || 0))[0];
      if (!older) return null;
      return el('button', { type: 'button', text: `Roll back to ${older.name}`, onclick: () => this.task(sg, 'rollbackServerGroup', `Enable ${older.name} and disable ${sg.name}?`,
        { rollbackType: 'EXPLICIT', rollbackContext: { rollbackServerGroupName: sg.name, restoreServerGroupName: older.name } }) });
    },
    cloneOf(sg) {
      const m = sg.moniker || {};
      return { source: { account: sg.account, region: sg.region, asgName: sg.name, serverGroupName: sg.name }, application: m.app || sg.application,
        stack: m.stack, freeFormDetail: m.detail, capacity: sg.capacity, account: sg.account };
    },
    async task(sg, type, confirmText, extra = {}) {
      if (confirmText && !window.confirm(confirmText)) return;
      const app = this.root.dataset.infrastructure;
      const description = `${type.replace('ServerGroup', '').replace(/^./, (c) => c.toUpperCase())} server group ${sg.name}`;
      const r = await api('POST', `/applications/${encodeURIComponent(app)}/tasks`, { application: app, description, job: [{ type, ...this.target(sg), ...extra }] });
      if (!r.ok) { toast(problemOf(r)); return false; }
      this.follow(r.data.ref, description);
      return true;
    },
    async follow(ref, description) {
      const box = $('[data-task-progress]');
      const line = el('p', { class: 'task', text: `${description}: started` });
      if (box) box.append(line);
      for (;;) {
        const r = await api('GET', ref);
        if (!r.ok) { line.textContent = `${description}: ${problemOf(r)}`; return; }
        const steps = (r.data.steps || []).map((s) => `${s.name} ${String(s.status).toLowerCase()}`).join(', ');
        line.textContent = `${description}: ${String(r.data.status).toLowerCase()}${steps ? ' — ' + steps : ''}`;
        if (['SUCCEEDED', 'TERMINAL', 'CANCELED', 'STOPPED'].includes(r.data.status)) break;
        await new Promise((done) => setTimeout(done, 1000));
      }
      this.load();
    },
    openResize(sg) {
      const dialog = $('#resize-dialog');
      const form = $('[data-resize-form]', dialog);
      $('[data-resize-name]', dialog).textContent = sg.name;
      const cap = sg.capacity || {};
      form.elements.min.value = cap.min ?? 0; form.elements.desired.value = cap.desired ?? 0; form.elements.max.value = cap.max ?? 0;
      form._sg = sg;
      clearErrors(form);
      dialog.showModal();
    },
    async resize(form) {
      const capacity = { min: Number(form.elements.min.value), desired: Number(form.elements.desired.value), max: Number(form.elements.max.value) };
      if (!(capacity.min <= capacity.desired && capacity.desired <= capacity.max)) {
        showErrors(form, [], 'Capacity must satisfy min ≤ desired ≤ max.'); return;
      }
      if (await this.task(form._sg, 'resizeServerGroup', null, { capacity })) form.closest('dialog').close();
    },
    async console(sg, instance) {
      const r = await api('GET', `/instances/${encodeURIComponent(sg.account)}/${encodeURIComponent(sg.region)}/${encodeURIComponent(instance.id || instance.name)}/console?provider=${encodeURIComponent(sg.cloudProvider || sg.type || '')}`);
      const output = r.ok ? (typeof r.data.output === 'string' ? r.data.output : (r.data.output || []).map((o) => `== ${o.name}\n${o.output}`).join('\n')) : problemOf(r);
      const box = $('[data-task-progress]');
      box.replaceChildren(el('details', { open: true }, el('summary', { text: `Console of ${instance.name || instance.id}` }), el('pre', { class: 'code log', text: output || '(empty)' })));
    },
  };

  // -- canary analysis (from its Gate endpoints, when present) -----------------------------------------
  const CLASS_GLYPH = { Pass: '✓', Marginal: '!', Fail: '✕', High: '▲', Low: '▼', Nodata: '○', NodataFailMetric: '○', Error: '✕' };
  // Two series in one small SVG chart: control solid, experiment dashed (told apart by more than colour).
  function seriesChart(pair) {
    const control = (pair.values && pair.values.control) || [];
    const experiment = (pair.values && pair.values.experiment) || [];
    const all = [...control, ...experiment].filter((v) => typeof v === 'number' && isFinite(v));
    const w = 360, h = 120, pad = 24;
    const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    svg.setAttribute('viewBox', `0 0 ${w} ${h}`); svg.setAttribute('width', w); svg.setAttribute('height', h);
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', `${pair.name}: control ${control.length} points, experiment ${experiment.length} points`);
    if (!all.length) return el('p', { class: 'muted', text: 'no data points' });
    const lo = Math.min(...all), hi = Math.max(...all), span = hi - lo || 1;
    const n = Math.max(control.length, experiment.length, 2);
    const line = (values, cls) => {
      const pts = values.map((v, i) => (typeof v === 'number' && isFinite(v)
        ? `${pad + (i * (w - 2 * pad)) / (n - 1)},${h - pad - ((v - lo) * (h - 2 * pad)) / span}` : null)).filter(Boolean);
      const path = document.createElementNS('http://www.w3.org/2000/svg', 'polyline');
      path.setAttribute('points', pts.join(' ')); path.setAttribute('class', cls);
      return path;
    };
    const label = (text, x, y) => { const t = document.createElementNS('http://www.w3.org/2000/svg', 'text'); t.setAttribute('x', x); t.setAttribute('y', y); t.textContent = text; return t; };
    svg.append(line(control, 'series control'), line(experiment, 'series experiment'),
      label(String(+hi.toPrecision(4)), 2, pad - 6), label(String(+lo.toPrecision(4)), 2, h - 6));
    return el('figure', { class: 'chart' }, svg, el('figcaption', { text: '— control   - - experiment' }));
  }
  async function canaryReport(box, id) {
    box.replaceChildren(el('p', { class: 'muted', text: 'Loading the report…' }));
    const r = await api('GET', `/v2/canaries/canary/${encodeURIComponent(id)}`);
    if (!r.ok) { box.replaceChildren(el('p', { class: 'problem', text: problemOf(r) })); return; }
    const run = r.data;
    const judge = (run.result && run.result.judgeResult) || {};
    const score = judge.score || {};
    const parts = [el('h3', { text: `Canary ${id}` }),
      el('p', {}, el('strong', { text: `${CLASS_GLYPH[score.classification] || ''} ${score.classification || String(run.status || '').toLowerCase()}` }),
        ` — score ${score.score ?? '?'}${score.classificationReason ? ': ' + score.classificationReason : ''}`)];
    if (run.exception) parts.push(el('p', { class: 'problem', text: (run.exception.details && (run.exception.details.error || (run.exception.details.errors || []).join('; '))) || JSON.stringify(run.exception) }));
    if ((judge.groupScores || []).length) parts.push(el('p', { text: 'Groups: ' + judge.groupScores.map((g) => `${g.name} ${g.score}`).join(', ') }));
    let pairs = [];
    if (run.metricSetPairListId) {
      const p = await api('GET', `/v2/canaries/metricSetPairList/${encodeURIComponent(run.metricSetPairListId)}`);
      if (p.ok && Array.isArray(p.data)) pairs = p.data;
    }
    for (const m of judge.results || []) {
      const pair = pairs.find((x) => x.id === m.id) || pairs.find((x) => x.name === m.name);
      const cs = (m.controlMetadata && m.controlMetadata.stats) || {};
      const es = (m.experimentMetadata && m.experimentMetadata.stats) || {};
      parts.push(el('section', { class: 'metric' },
        el('h4', {}, `${CLASS_GLYPH[m.classification] || '?'} ${m.name} — ${m.classification}`, m.critical ? ' (critical)' : ''),
        m.classificationReason ? el('p', { text: m.classificationReason }) : null,
        el('p', { class: 'muted', text: `control mean ${cs.mean ?? '?'} · experiment mean ${es.mean ?? '?'}` }),
        pair ? seriesChart(pair) : null));
    }
    box.replaceChildren(...parts);
  }
  async function canary(root) {
    const app = root.dataset.canary;
    const [configs, runs] = await Promise.all([
      api('GET', `/v2/canaryConfig?application=${encodeURIComponent(app)}`),
      api('GET', `/v2/canaries/${encodeURIComponent(app)}/executions?limit=20`),
    ]);
    if (configs.status === 404 && runs.status === 404) { root.replaceChildren(el('p', { class: 'notice', text: 'No canary analysis configured: this Gennaker has no canary endpoints.' })); return; }
    const items = (configs.ok ? configs.data || [] : []).map((c) => {
      const area = el('textarea', { class: 'code', rows: 12, 'aria-label': `JSON of ${c.name}` });
      const box = el('p', { class: 'problem', role: 'alert', hidden: true });
      const details = el('details', {}, el('summary', { text: `${c.name} (${(c.applications || []).join(', ')})` }), area, box,
        el('button', { type: 'button', text: 'Save', onclick: async () => {
          let body; try { body = JSON.parse(area.value); } catch (err) { box.textContent = 'Not valid JSON: ' + err.message; box.hidden = false; return; }
          const s = await api('PUT', `/v2/canaryConfig/${encodeURIComponent(c.id)}`, body);
          box.hidden = s.ok; box.textContent = s.ok ? '' : problemOf(s); if (s.ok) toast('Saved.', 'ok');
        } }));
      details.addEventListener('toggle', async () => {
        if (!details.open || area.value) return;
        const full = await api('GET', `/v2/canaryConfig/${encodeURIComponent(c.id)}`);
        area.value = full.ok ? JSON.stringify(full.data, null, 2) : problemOf(full);
      });
      return details;
    });
    const report = el('div', { class: 'report', 'aria-live': 'polite' });
    const rows = (runs.ok && Array.isArray(runs.data) ? runs.data : []).map((run) => {
      const id = run.pipelineId || run.canaryExecutionId || run.id;
      const score = (run.result && run.result.judgeResult && run.result.judgeResult.score) || {};
      return el('tr', {},
        el('td', {}, el('button', { type: 'button', class: 'link', text: id, onclick: () => canaryReport(report, id) })),
        el('td', { text: (run.config && run.config.name) || run.canaryConfigId || '' }),
        el('td', { text: String(run.status || '').toLowerCase() }),
        el('td', { text: score.classification ? `${CLASS_GLYPH[score.classification] || ''} ${score.classification} (${score.score})` : '' }),
        el('td', { text: run.startTimeIso || run.buildTimeIso || '' }));
    });
    root.replaceChildren(
      el('h2', { text: 'Canary configs' }), items.length ? el('div', {}, items) : el('p', { class: 'muted', text: 'No canary configs for this application.' }),
      el('h2', { text: 'Canary judgments' }),
      rows.length ? el('table', { class: 'list' }, el('thead', {}, el('tr', {}, ['Run', 'Config', 'Status', 'Score', 'Started'].map((h) => el('th', { scope: 'col', text: h })))), el('tbody', {}, rows))
        : el('p', { class: 'muted', text: 'No canary judgments yet.' }),
      report);
  }

  document.addEventListener('DOMContentLoaded', () => {
    enhance(document);
    live();
    const ed = $('[data-editor]');
    if (ed) editor(ed);
    const inf = $('[data-infrastructure]');
    if (inf) { infra.root = inf; infra.load(); }
    const can = $('[data-canary]');
    if (can) canary(can);
  });
})();
