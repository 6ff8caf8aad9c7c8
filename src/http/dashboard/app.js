// The dashboard: plain ES modules, no build step. Hash routes: #/datasets, #/datasets/{id},
// #/jobs, #/jobs/{id} (live learning curve from the event stream), #/models, #/models/{id},
// #/tuning, #/tuning/{id} (live leaderboard of a hyperparameter search).
// Every text from the API goes in through textContent (h() below), never as HTML.
import uPlot from './vendor/uPlot.esm.js';

const KEY_STORAGE = 'backprop.apiKey';
/** Statuses after which a job or a search changes no more. */
const TERMINAL = ['succeeded', 'failed', 'cancelled'];
const view = document.getElementById('view');
const errorBox = document.getElementById('error');
/** Cleanups of the page on screen (event streams, timers, charts), run when the route changes. */
let cleanups = [];

// ---------- DOM and API helpers ----------

/** Creates an element; attrs may hold on* handlers; children are nodes or strings (as text). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const fmt = (x, digits = 4) =>
  typeof x === 'number'
    ? Number.isInteger(x)
      ? String(x)
      : x.toPrecision(digits)
    : x == null
      ? '—'
      : String(x);

function showError(message) {
  errorBox.textContent = message;
  errorBox.hidden = false;
  setTimeout(() => (errorBox.hidden = true), 8000);
}

function authHeaders() {
  const key = sessionStorage.getItem(KEY_STORAGE);
  return key ? { authorization: `Bearer ${key}` } : {};
}

/** fetch against the API with the key; a problem response becomes an Error with its detail. */
async function api(path, init = {}) {
  const res = await fetch(path, { ...init, headers: { ...authHeaders(), ...(init.headers ?? {}) } });
  if (!res.ok) {
    let detail = `${res.status} ${res.statusText}`;
    try {
      const body = await res.json();
      detail = `${body.title ?? res.status}: ${body.detail ?? ''}`;
    } catch {
      // not a problem document; the status line says enough
    }
    if (res.status === 401) detail += ' (enter an API key above)';
    throw new Error(detail);
  }
  return res.headers.get('content-type')?.includes('json') ? res.json() : res.text();
}

const postJson = (path, body) =>
  api(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

function statusCell(job) {
  return h('span', { class: `status ${job.status}`, 'data-status': job.status }, job.status);
}

function progressCell(job) {
  const { epoch, epochs } = job.progress;
  return h('span', {}, h('progress', { max: epochs, value: epoch }), ` ${epoch} / ${epochs}`);
}

// ---------- datasets ----------

function uploadForm() {
  const file = h('input', {
    type: 'file',
    name: 'file',
    accept: '.csv,text/csv',
    required: true,
    id: 'upload-file',
  });
  const name = h('input', {
    type: 'text',
    name: 'name',
    placeholder: 'name (default: file name)',
    id: 'upload-name',
  });
  const onsubmit = async (e) => {
    e.preventDefault();
    if (!file.files[0]) return;
    const form = new FormData();
    if (name.value.trim()) form.append('name', name.value.trim());
    form.append('file', file.files[0]);
    try {
      const ds = await api('/v1/datasets', { method: 'POST', body: form });
      location.hash = `#/datasets/${ds.id}`;
    } catch (err) {
      showError(err.message);
    }
  };
  return h(
    'section',
    {},
    h('h2', {}, 'Upload a CSV'),
    h(
      'form',
      { class: 'inline', id: 'upload-form', onsubmit },
      file,
      name,
      h('button', { type: 'submit' }, 'Upload'),
    ),
  );
}

async function datasetsPage() {
  const page = await api('/v1/datasets?limit=100');
  const rows = page.data.map((d) =>
    h(
      'tr',
      {},
      h('td', {}, h('a', { href: `#/datasets/${d.id}` }, d.name)),
      h('td', { class: 'num' }, d.rowCount),
      h('td', { class: 'num' }, d.columns.length),
      h('td', {}, new Date(d.createdAt).toLocaleString()),
    ),
  );
  return [
    h('h1', {}, 'Datasets'),
    uploadForm(),
    h(
      'section',
      {},
      page.data.length === 0
        ? h('p', { class: 'muted' }, 'No datasets yet: upload a CSV above.')
        : h(
            'table',
            {},
            h(
              'tr',
              {},
              h('th', {}, 'name'),
              h('th', {}, 'rows'),
              h('th', {}, 'columns'),
              h('th', {}, 'uploaded'),
            ),
            rows,
          ),
    ),
  ];
}

function columnRow(c) {
  const stats = columnStats(c);
  return h(
    'tr',
    {},
    h('td', {}, c.name),
    h('td', {}, c.type),
    h('td', { class: 'num' }, c.missing),
    h('td', {}, stats),
  );
}

/** One line of statistics for a column summary of any type (numeric, categorical, boolean, datetime). */
function columnStats(c) {
  if (c.type === 'numeric') {
    return `min ${fmt(c.min)} · max ${fmt(c.max)} · mean ${fmt(c.mean)} · std ${fmt(c.std)}`;
  }
  if (c.type === 'boolean' && c.labels && c.counts) {
    return `${c.labels.true} (${c.counts.true}), ${c.labels.false} (${c.counts.false})`;
  }
  if (c.type === 'datetime') return `from ${c.min ?? '–'} to ${c.max ?? '–'}`;
  const categories = c.categories ?? {};
  const names = Object.entries(categories)
    .slice(0, 8)
    .map(([k, n]) => `${k} (${n})`)
    .join(', ');
  return names + (Object.keys(categories).length > 8 ? ', …' : '');
}

function warningsOf(ds) {
  const list = Array.isArray(ds.warnings) ? ds.warnings : [];
  return list.map((w) =>
    h('p', { class: 'warning' }, typeof w === 'string' ? w : (w.message ?? JSON.stringify(w))),
  );
}

/** A select of the dataset's columns, the last one (the usual place of the target) chosen. */
function targetSelect(ds, id) {
  return h(
    'select',
    { id, name: 'target' },
    ds.columns.map((c, i) => h('option', { value: c.name, selected: i === ds.columns.length - 1 }, c.name)),
  );
}

function trainForm(ds) {
  const target = targetSelect(ds, 'train-target');
  const onsubmit = async (e) => {
    e.preventDefault();
    try {
      const job = await postJson('/v1/training-jobs', { datasetId: ds.id, target: target.value });
      location.hash = `#/jobs/${job.id}`;
    } catch (err) {
      showError(err.message);
    }
  };
  return h(
    'section',
    {},
    h('h2', {}, 'Train a model with the defaults'),
    h(
      'form',
      { class: 'inline', id: 'train-form', onsubmit },
      h('label', {}, 'target ', target),
      h('button', { type: 'submit' }, 'Start training'),
    ),
  );
}

function tuneForm(ds) {
  const target = targetSelect(ds, 'tune-target');
  const trials = h('input', {
    type: 'number',
    id: 'tune-trials',
    name: 'maxTrials',
    min: 1,
    max: 500,
    value: 20,
  });
  const onsubmit = async (e) => {
    e.preventDefault();
    try {
      const search = await postJson('/v1/tuning-jobs', {
        datasetId: ds.id,
        target: target.value,
        maxTrials: Number(trials.value),
      });
      location.hash = `#/tuning/${search.id}`;
    } catch (err) {
      showError(err.message);
    }
  };
  return h(
    'section',
    {},
    h('h2', {}, 'Search hyperparameters'),
    h(
      'form',
      { class: 'inline', id: 'tune-form', onsubmit },
      h('label', {}, 'target ', target),
      h('label', {}, 'trials ', trials),
      h('button', { type: 'submit' }, 'Start a search'),
    ),
  );
}

async function datasetPage(id) {
  const ds = await api(`/v1/datasets/${encodeURIComponent(id)}`);
  return [
    h('h1', {}, `Dataset ${ds.name}`),
    h('p', { class: 'muted' }, `${ds.id} · ${ds.rowCount} rows · ${ds.sizeBytes} bytes`),
    ...warningsOf(ds),
    trainForm(ds),
    tuneForm(ds),
    h(
      'section',
      {},
      h('h2', {}, 'Columns'),
      h(
        'table',
        { id: 'columns' },
        h(
          'tr',
          {},
          h('th', {}, 'column'),
          h('th', {}, 'type'),
          h('th', {}, 'missing'),
          h('th', {}, 'summary'),
        ),
        ds.columns.map(columnRow),
      ),
    ),
  ];
}

// ---------- jobs ----------

async function jobsPage() {
  const page = await api('/v1/training-jobs?limit=100&history=none');
  const rows = page.data.map((j) =>
    h(
      'tr',
      {},
      h('td', {}, h('a', { href: `#/jobs/${j.id}` }, j.id)),
      h('td', {}, statusCell(j)),
      h('td', {}, progressCell(j)),
      h('td', {}, j.spec.target),
      h('td', {}, j.modelId ? h('a', { href: `#/models/${j.modelId}` }, 'model') : ''),
    ),
  );
  const timer = setInterval(() => route(), 3000);
  cleanups.push(() => clearInterval(timer));
  return [
    h('h1', {}, 'Training jobs'),
    h(
      'section',
      {},
      page.data.length === 0
        ? h('p', { class: 'muted' }, 'No jobs yet: open a dataset and start one.')
        : h(
            'table',
            {},
            h(
              'tr',
              {},
              h('th', {}, 'job'),
              h('th', {}, 'status'),
              h('th', {}, 'progress'),
              h('th', {}, 'target'),
              h('th', {}, ''),
            ),
            rows,
          ),
    ),
  ];
}

/** The validation metric an epoch entry carries (accuracy for classification, r² for regression). */
function metricOf(entry) {
  if (entry.valAccuracy !== undefined) return { name: 'validation accuracy', value: entry.valAccuracy };
  if (entry.valR2 !== undefined) return { name: 'validation r²', value: entry.valR2 };
  return { name: 'validation metric', value: null };
}

/** A uPlot learning curve: loss and validation loss (left axis), the validation metric (right). */
function learningCurve(container, history) {
  const data = [[], [], [], []];
  const metricName = history.length > 0 ? metricOf(history[0]).name : 'validation metric';
  const chart = new uPlot(
    {
      width: Math.min(1100, container.clientWidth || 900),
      height: 320,
      scales: { x: { time: false }, metric: { range: [0, 1] } },
      axes: [
        { label: 'epoch' },
        { label: 'loss' },
        { side: 1, scale: 'metric', label: metricName, grid: { show: false } },
      ],
      series: [
        { label: 'epoch' },
        { label: 'loss', stroke: '#2563eb', width: 2 },
        { label: 'validation loss', stroke: '#dc6803', width: 2 },
        { label: metricName, stroke: '#067647', width: 2, scale: 'metric' },
      ],
    },
    data,
    container,
  );
  const add = (e) => {
    data[0].push(e.epoch);
    data[1].push(e.loss);
    data[2].push(e.valLoss ?? null);
    data[3].push(metricOf(e).value);
  };
  history.forEach(add);
  chart.setData(data);
  container.dataset.points = String(data[0].length);
  return {
    push(entry) {
      if (data[0].length > 0 && entry.epoch <= data[0][data[0].length - 1]) return;
      add(entry);
      chart.setData(data);
      container.dataset.points = String(data[0].length);
    },
    /** Redraws the whole curve from a job's history (an ended job's history is complete). */
    replace(entries) {
      for (const series of data) series.length = 0;
      entries.forEach(add);
      chart.setData(data);
      container.dataset.points = String(data[0].length);
    },
    destroy: () => chart.destroy(),
  };
}

/**
 * Reads the job's server-sent events with fetch (EventSource cannot send the Authorization
 * header) and calls onEvent(type, data) for each; stops when the signal aborts or the stream ends.
 */
async function streamEvents(path, signal, onEvent) {
  const res = await fetch(path, { headers: { ...authHeaders(), accept: 'text/event-stream' }, signal });
  if (!res.ok || !res.body) throw new Error(`event stream: ${res.status}`);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let cut;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let type = 'message';
      let data = '';
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) type = line.slice(7);
        else if (line.startsWith('data: ')) data += line.slice(6);
      }
      if (data) onEvent(type, JSON.parse(data));
    }
  }
}

function jobSummary(job) {
  const spec = job.spec;
  const layers = spec.model.layers.map((l) => `${l.units} ${l.activation}`).join(' → ');
  return h(
    'table',
    { id: 'job-summary' },
    h('tr', {}, h('th', {}, 'status'), h('td', {}, statusCell(job))),
    h('tr', {}, h('th', {}, 'progress'), h('td', {}, progressCell(job))),
    h(
      'tr',
      {},
      h('th', {}, 'dataset'),
      h('td', {}, h('a', { href: `#/datasets/${job.datasetId}` }, job.datasetId)),
    ),
    h('tr', {}, h('th', {}, 'task'), h('td', {}, `${spec.task}, target ${spec.target}`)),
    h('tr', {}, h('th', {}, 'network'), h('td', {}, layers)),
    h(
      'tr',
      {},
      h('th', {}, 'training'),
      h(
        'td',
        {},
        `${spec.training.optimizer.type}, batch ${spec.training.batchSize}, up to ${spec.training.epochs} epochs`,
      ),
    ),
    job.error
      ? h('tr', {}, h('th', {}, 'error'), h('td', {}, `${job.error.code}: ${job.error.message}`))
      : null,
    job.modelId
      ? h(
          'tr',
          {},
          h('th', {}, 'model'),
          h('td', {}, h('a', { href: `#/models/${job.modelId}`, id: 'model-link' }, job.modelId)),
        )
      : null,
  );
}

async function jobPage(id) {
  const job = await api(`/v1/training-jobs/${encodeURIComponent(id)}`);
  const summary = h('section', {}, jobSummary(job));
  const chartBox = h('div', { id: 'curve' });
  const curve = learningCurve(chartBox, job.history);
  const controller = new AbortController();
  cleanups.push(
    () => controller.abort(),
    () => curve.destroy(),
  );
  const cancel = h(
    'button',
    {
      id: 'cancel',
      onclick: () => postJson(`/v1/training-jobs/${job.id}/cancel`, {}).catch((e) => showError(e.message)),
    },
    'Cancel',
  );
  let current = job;
  if (!TERMINAL.includes(job.status)) {
    streamEvents(`/v1/training-jobs/${encodeURIComponent(id)}/events`, controller.signal, (type, data) => {
      if (type === 'epoch') {
        curve.push(data);
        current = { ...current, progress: { epoch: data.epoch, epochs: data.epochs } };
      }
      if (type === 'status') {
        current = data;
        // Epoch events a slow page missed (anywhere in the run) are in the ended job's history:
        // redraw the curve from it.
        if (TERMINAL.includes(data.status)) {
          api(`/v1/training-jobs/${encodeURIComponent(id)}`)
            .then((ended) => {
              curve.replace(ended.history);
              summary.replaceChildren(jobSummary(ended));
            })
            .catch((err) => showError(err.message));
          return;
        }
      }
      summary.replaceChildren(jobSummary(current));
    }).catch((err) => {
      if (!controller.signal.aborted) showError(err.message);
    });
  }
  return [
    h('h1', {}, `Job ${job.id}`),
    summary,
    h('section', {}, h('h2', {}, 'Learning curve'), chartBox),
    TERMINAL.includes(job.status) ? null : cancel,
  ];
}

// ---------- models ----------

async function modelsPage() {
  const page = await api('/v1/models?limit=100');
  const rows = page.data.map((m) =>
    h(
      'tr',
      {},
      h('td', {}, h('a', { href: `#/models/${m.id}` }, m.id)),
      h('td', {}, `${m.task} of ${m.target}`),
      h('td', { class: 'num' }, fmt(m.metrics.test?.accuracy ?? m.metrics.test?.r2)),
      h('td', {}, new Date(m.createdAt).toLocaleString()),
    ),
  );
  return [
    h('h1', {}, 'Models'),
    h(
      'section',
      {},
      page.data.length === 0
        ? h('p', { class: 'muted' }, 'No models yet.')
        : h(
            'table',
            {},
            h(
              'tr',
              {},
              h('th', {}, 'model'),
              h('th', {}, 'task'),
              h('th', {}, 'test accuracy / r²'),
              h('th', {}, 'created'),
            ),
            rows,
          ),
    ),
  ];
}

function metricsTable(metrics) {
  const splits = ['test', 'validation', 'train'].filter((s) => metrics[s]);
  const names = [...new Set(splits.flatMap((s) => Object.keys(metrics[s])))].filter((k) =>
    splits.some((s) => typeof metrics[s][k] === 'number'),
  );
  return h(
    'table',
    { id: 'metrics' },
    h(
      'tr',
      {},
      h('th', {}, 'metric'),
      splits.map((s) => h('th', {}, s)),
    ),
    names.map((n) =>
      h(
        'tr',
        {},
        h('td', {}, n),
        splits.map((s) => h('td', { class: 'num' }, fmt(metrics[s][n]))),
      ),
    ),
  );
}

function confusionMatrix(test, classes) {
  const matrix = test?.confusionMatrix;
  if (!matrix) return null;
  const names = test.classes ?? classes ?? matrix.map((_, i) => String(i));
  const max = Math.max(1, ...matrix.flat());
  const cell = (n) =>
    h('td', { style: `background: rgba(37, 99, 235, ${(0.08 + (0.6 * n) / max).toFixed(2)})` }, n);
  return h(
    'section',
    {},
    h('h2', {}, 'Confusion matrix (test split; rows: true class, columns: predicted)'),
    h(
      'table',
      { class: 'matrix', id: 'confusion' },
      h(
        'tr',
        {},
        h('th', {}, ''),
        names.map((n) => h('th', {}, n)),
      ),
      matrix.map((row, i) => h('tr', {}, h('th', {}, names[i]), row.map(cell))),
    ),
  );
}

/** Feature importance in whichever shape the model has it: a list of {feature|name, importance} or a map. */
function featureImportance(model) {
  const raw = model.featureImportance ?? model.importance;
  if (!raw) return null;
  const list = Array.isArray(raw)
    ? raw.map((r) => ({ name: r.feature ?? r.name, value: r.importance ?? r.value ?? r.mean }))
    : Object.entries(raw).map(([name, value]) => ({
        name,
        value: typeof value === 'number' ? value : value?.mean,
      }));
  const items = list.filter((r) => typeof r.value === 'number').sort((a, b) => b.value - a.value);
  const max = Math.max(1e-12, ...items.map((r) => Math.abs(r.value)));
  return h(
    'section',
    {},
    h('h2', {}, 'Feature importance'),
    h(
      'table',
      { id: 'importance' },
      items.map((r) =>
        h(
          'tr',
          {},
          h('td', {}, r.name),
          h('td', { class: 'num' }, fmt(r.value)),
          h(
            'td',
            {},
            h('span', { class: 'bar', style: `width: ${Math.round((200 * Math.abs(r.value)) / max)}px` }),
          ),
        ),
      ),
    ),
  );
}

function predictForm(model) {
  const inputs = model.features.map((f) =>
    h(
      'label',
      {},
      f.name,
      h('input', {
        name: f.name,
        type: f.type === 'numeric' ? 'number' : 'text',
        step: 'any',
        'data-type': f.type,
      }),
    ),
  );
  const out = h('div', { id: 'prediction' });
  const onsubmit = async (e) => {
    e.preventDefault();
    const row = {};
    for (const label of inputs) {
      const input = label.querySelector('input');
      if (input.value === '') continue;
      row[input.name] = input.dataset.type === 'numeric' ? Number(input.value) : input.value;
    }
    try {
      const res = await postJson(`/v1/models/${model.id}/predict`, { rows: [row] });
      const p = res.predictions[0];
      out.replaceChildren(
        'label' in p
          ? h(
              'div',
              {},
              h('strong', { id: 'predicted-label' }, p.label),
              h(
                'table',
                {},
                Object.entries(p.probabilities).map(([k, v]) =>
                  h('tr', {}, h('td', {}, k), h('td', { class: 'num' }, fmt(v, 3))),
                ),
              ),
            )
          : h('strong', { id: 'predicted-value' }, fmt(p.value, 6)),
      );
    } catch (err) {
      showError(err.message);
    }
  };
  return h(
    'section',
    {},
    h('h2', {}, 'Predict one row (empty cells are missing)'),
    h(
      'form',
      { id: 'predict-form', onsubmit },
      h('div', { class: 'grid' }, inputs),
      h('p', {}, h('button', { type: 'submit' }, 'Predict')),
    ),
    out,
  );
}

async function modelPage(id) {
  const model = await api(`/v1/models/${encodeURIComponent(id)}`);
  return [
    h('h1', {}, `Model ${model.id}`),
    h(
      'p',
      { class: 'muted' },
      `${model.task} of ${model.target} · ${model.parameterCount} parameters · ${model.epochsTrained} epochs · job `,
      h('a', { href: `#/jobs/${model.jobId}` }, model.jobId),
    ),
    h('section', {}, h('h2', {}, 'Metrics'), metricsTable(model.metrics)),
    confusionMatrix(model.metrics.test, model.classes),
    featureImportance(model),
    predictForm(model),
  ];
}

// ---------- hyperparameter searches ----------

async function tuningListPage() {
  const page = await api('/v1/tuning-jobs?limit=100');
  const rows = page.data.map((t) =>
    h(
      'tr',
      {},
      h('td', {}, h('a', { href: `#/tuning/${t.id}` }, t.id)),
      h('td', {}, statusCell(t)),
      h('td', { class: 'num' }, `${t.trialsStarted} / ${t.request.maxTrials}`),
      h('td', {}, t.request.target),
      h('td', {}, t.modelId ? h('a', { href: `#/models/${t.modelId}` }, 'best model') : ''),
    ),
  );
  const timer = setInterval(() => route(), 3000);
  cleanups.push(() => clearInterval(timer));
  return [
    h('h1', {}, 'Hyperparameter searches'),
    page.data.length === 0
      ? h('p', { class: 'muted' }, 'No searches yet: open a dataset and start one.')
      : h(
          'table',
          {},
          h(
            'tr',
            {},
            h('th', {}, 'search'),
            h('th', {}, 'status'),
            h('th', {}, 'trials'),
            h('th', {}, 'target'),
            h('th', {}, ''),
          ),
          rows,
        ),
  ];
}

/**
 * One leaderboard row: rank, trial (the baseline marked "(default)"), state, rung reached, the
 * metric at each completed rung, the parameters.
 */
function trialRow(trial, rank, search) {
  const p = trial.params;
  const best = search.bestTrial === trial.index;
  return h(
    'tr',
    { 'data-trial': trial.index, class: best ? 'best' : null },
    h('td', { class: 'num' }, rank + 1),
    h(
      'td',
      { class: 'num', title: trial.baseline ? "the default job's parameters" : null },
      trial.baseline ? `${trial.index} (default)` : trial.index,
    ),
    h('td', {}, h('span', { class: `status ${trial.state}` }, trial.state)),
    h('td', { class: 'num' }, `${trial.rungMetrics.length} / ${search.rungEpochs.length}`),
    h('td', {}, trial.rungMetrics.map((m) => fmt(m)).join(' → ') || '—'),
    h('td', {}, p.layers.join('-')),
    h('td', { class: 'num' }, fmt(p.learningRate, 2)),
    h('td', { class: 'num' }, fmt(p.weightDecay, 2)),
    h('td', { class: 'num' }, fmt(p.dropout ?? 0, 2)),
    h('td', { class: 'num' }, p.batchSize),
    h('td', {}, p.scaling),
    h('td', {}, h('a', { href: `#/jobs/${trial.jobId}` }, 'run')),
  );
}

function leaderboard(search) {
  const metric = search.request.metric;
  return h(
    'table',
    { id: 'leaderboard', 'data-trials': search.leaderboard.length, 'data-status': search.status },
    h(
      'tr',
      {},
      [
        '#',
        'trial',
        'state',
        'rungs',
        `${metric} by rung`,
        'layers',
        'learning rate',
        'weight decay',
        'dropout',
        'batch',
        'scaling',
        '',
      ].map((name) => h('th', {}, name)),
    ),
    search.leaderboard.map((trial, rank) => trialRow(trial, rank, search)),
  );
}

/** The refit of the best trial: its trial, state, run and model (or why it failed); null before it starts. */
function refitRow(refit) {
  if (!refit) return null;
  return h(
    'tr',
    {},
    h('th', {}, 'refit'),
    h(
      'td',
      { id: 'search-refit' },
      `trial ${refit.trial}, ${refit.folds} folds: `,
      h('span', { class: `status ${refit.state}` }, refit.state),
      refit.jobId ? [' ', h('a', { href: `#/jobs/${refit.jobId}` }, 'run')] : null,
      refit.modelId ? [' ', h('a', { href: `#/models/${refit.modelId}` }, 'model')] : null,
      refit.error ? ` (${refit.error})` : null,
    ),
  );
}

function searchSummary(search) {
  const r = search.request;
  return h(
    'table',
    { id: 'search-summary' },
    h('tr', {}, h('th', {}, 'status'), h('td', {}, statusCell(search))),
    h('tr', {}, h('th', {}, 'trials'), h('td', {}, `${search.trialsStarted} started of ${r.maxTrials}`)),
    h(
      'tr',
      {},
      h('th', {}, 'rungs'),
      h('td', {}, `${search.rungEpochs.join(', ')} epochs (η = ${r.reductionFactor})`),
    ),
    h('tr', {}, h('th', {}, 'metric'), h('td', {}, r.metric)),
    search.stage ? h('tr', {}, h('th', {}, 'stage'), h('td', { id: 'search-stage' }, search.stage)) : null,
    refitRow(search.refit),
    h(
      'tr',
      {},
      h('th', {}, 'dataset'),
      h('td', {}, h('a', { href: `#/datasets/${r.datasetId}` }, r.datasetId), `, target ${r.target}`),
    ),
    search.modelId
      ? h(
          'tr',
          {},
          h('th', {}, search.refit?.state === 'succeeded' ? 'model (refit)' : 'best model'),
          h('td', {}, h('a', { href: `#/models/${search.modelId}`, id: 'best-model-link' }, search.modelId)),
        )
      : null,
    search.error ? h('tr', {}, h('th', {}, 'error'), h('td', {}, search.error)) : null,
  );
}

async function tuningPage(id) {
  const path = `/v1/tuning-jobs/${encodeURIComponent(id)}`;
  const search = await api(path);
  const summary = h('section', {}, searchSummary(search));
  const board = h('section', {}, h('h2', {}, 'Leaderboard'), leaderboard(search));
  const controller = new AbortController();
  cleanups.push(() => controller.abort());
  const cancel = h(
    'button',
    {
      id: 'cancel-search',
      onclick: () => postJson(`${path}/cancel`, {}).catch((e) => showError(e.message)),
    },
    'Cancel the search',
  );
  if (!TERMINAL.includes(search.status)) {
    // Each status event carries the whole search: redraw the summary and the leaderboard.
    streamEvents(`${path}/events`, controller.signal, (type, data) => {
      if (type !== 'status') return;
      summary.replaceChildren(searchSummary(data));
      board.replaceChildren(h('h2', {}, 'Leaderboard'), leaderboard(data));
      if (TERMINAL.includes(data.status)) cancel.remove();
    }).catch((err) => {
      if (!controller.signal.aborted) showError(err.message);
    });
  }
  return [
    h('h1', {}, `Search ${search.id}`),
    summary,
    TERMINAL.includes(search.status) ? null : cancel,
    board,
  ];
}

// ---------- routing and the key ----------

const ROUTES = [
  [/^#\/datasets\/([^/]+)$/, datasetPage],
  [/^#\/jobs\/([^/]+)$/, jobPage],
  [/^#\/models\/([^/]+)$/, modelPage],
  [/^#\/tuning\/([^/]+)$/, tuningPage],
  [/^#\/tuning$/, tuningListPage],
  [/^#\/jobs$/, jobsPage],
  [/^#\/models$/, modelsPage],
  [/^#\/datasets$/, datasetsPage],
];

async function route() {
  for (const cleanup of cleanups.splice(0)) cleanup();
  const hash = location.hash || '#/datasets';
  const match = ROUTES.map(([re, page]) => [re.exec(hash), page]).find(([m]) => m);
  const [m, page] = match ?? [[], datasetsPage];
  try {
    const nodes = await page(...m.slice(1).map(decodeURIComponent));
    view.replaceChildren(...nodes.filter(Boolean));
  } catch (err) {
    view.replaceChildren(h('p', { class: 'muted' }, `Could not load this page: ${err.message}`));
  }
}

function setupKey() {
  const input = document.getElementById('api-key');
  const state = document.getElementById('key-state');
  const show = () =>
    (state.textContent = sessionStorage.getItem(KEY_STORAGE) ? 'key set for this tab' : 'no key');
  input.value = sessionStorage.getItem(KEY_STORAGE) ?? '';
  document.getElementById('key-form').addEventListener('submit', (e) => {
    e.preventDefault();
    if (input.value.trim()) sessionStorage.setItem(KEY_STORAGE, input.value.trim());
    else sessionStorage.removeItem(KEY_STORAGE);
    show();
    route();
  });
  show();
}

setupKey();
window.addEventListener('hashchange', route);
route();
