'use strict';
// The connector: a deterministic source of generated rows, one stream
// "numbers" (id int64, label utf8 with a null every 7th row, amount
// float64, and a payload utf8 column of payload_bytes characters when that
// is above 0). Its checkpoint is the index of the next row, in decimal, so
// any checkpoint it handed out gives the same page in any process.

const arrow = require('apache-arrow');
const { classified, grpc } = require('./goplugin');

const NAME = 'node-source';
const VERSION = '0.1.0';
const STREAM = 'numbers';
const DEFAULT_MAX_BYTES = 8 << 20; // the host's usual page cap

// ---- configuration --------------------------------------------------------

// Declared once: Configure checks against it and Spec's JSON Schema is made
// from it.
const FIELDS = {
  rows: { minimum: 0, maximum: 1e9, default: 1000, description: 'how many rows the stream holds' },
  page_size: { minimum: 1, maximum: 1e6, default: 500, description: 'at most this many rows per page' },
  payload_bytes: { minimum: 0, maximum: 1 << 20, default: 0, description: 'adds a payload column of this many characters per row when above 0' },
};

const CONFIG_SCHEMA = JSON.stringify({
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  additionalProperties: false,
  properties: Object.fromEntries(Object.entries(FIELDS).map(([k, f]) => [k, { type: 'integer', ...f }])),
});

function distance(a, b) {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length][b.length];
}

// parseConfig returns {config} or {errors: [{field, message}]}.
function parseConfig(bytes) {
  const text = Buffer.from(bytes).toString('utf8').trim();
  let obj = {};
  if (text !== '') {
    try {
      obj = JSON.parse(text);
    } catch (e) {
      return { errors: [{ field: '', message: `the config is not JSON: ${e.message}` }] };
    }
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    return { errors: [{ field: '', message: 'the config must be a JSON object' }] };
  }
  const errors = [];
  const config = {};
  for (const [key, value] of Object.entries(obj)) {
    const f = FIELDS[key];
    if (!f) {
      const near = Object.keys(FIELDS).filter((k) => distance(k, key) <= 2);
      const hint = near.length ? ` (did you mean ${near.map((k) => JSON.stringify(k)).join(' or ')}?)` : '';
      errors.push({ field: key, message: `unknown key${hint}; known keys: ${Object.keys(FIELDS).join(', ')}` });
      continue;
    }
    if (!Number.isInteger(value)) {
      errors.push({ field: key, message: `must be an integer, not ${JSON.stringify(value)}` });
    } else if (value < f.minimum || value > f.maximum) {
      errors.push({ field: key, message: `must be between ${f.minimum} and ${f.maximum}, not ${value}` });
    } else {
      config[key] = value;
    }
  }
  if (errors.length) return { errors };
  for (const [key, f] of Object.entries(FIELDS)) if (!(key in config)) config[key] = f.default;
  return { config };
}

// ---- Arrow --------------------------------------------------------------

function schemaOf(config) {
  const fields = [
    new arrow.Field('id', new arrow.Int64(), false),
    new arrow.Field('label', new arrow.Utf8(), true),
    new arrow.Field('amount', new arrow.Float64(), false),
  ];
  if (config.payload_bytes > 0) fields.push(new arrow.Field('payload', new arrow.Utf8(), false));
  return new arrow.Schema(fields);
}

// Arrow IPC stream bytes holding only the schema (Discover's arrow_schema).
function schemaBytes(schema) {
  const w = new arrow.RecordBatchStreamWriter();
  w.reset(undefined, schema);
  w.close();
  return Buffer.from(w.toUint8Array(true));
}

// utf8Data builds a Utf8 column of n strings directly from their bytes;
// null rows where valid(i) is false.
function utf8Data(n, value, valid = () => true) {
  const enc = new TextEncoder();
  const parts = [];
  const offsets = new Int32Array(n + 1);
  const bitmap = new Uint8Array((n + 7) >> 3);
  let nulls = 0;
  let size = 0;
  for (let i = 0; i < n; i++) {
    if (valid(i)) {
      const b = enc.encode(value(i));
      parts.push(b);
      size += b.length;
      bitmap[i >> 3] |= 1 << (i & 7);
    } else {
      nulls++;
    }
    offsets[i + 1] = size;
  }
  const data = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    data.set(p, at);
    at += p.length;
  }
  return arrow.makeData({
    type: new arrow.Utf8(), length: n, nullCount: nulls, valueOffsets: offsets, data,
    nullBitmap: nulls ? bitmap : undefined,
  });
}

// pageBytes returns the Arrow IPC stream (schema, one record batch) of rows
// [first, first+n).
function pageBytes(config, schema, first, n) {
  const id = (i) => first + i + 1;
  const children = [
    arrow.makeData({ type: new arrow.Int64(), length: n, data: BigInt64Array.from({ length: n }, (_, i) => BigInt(id(i))) }),
    utf8Data(n, (i) => `row ${id(i)}`, (i) => id(i) % 7 !== 0),
    arrow.makeData({ type: new arrow.Float64(), length: n, data: Float64Array.from({ length: n }, (_, i) => id(i) * 1.5) }),
  ];
  if (config.payload_bytes > 0) {
    const size = config.payload_bytes;
    children.push(utf8Data(n, (i) => String(id(i)).padEnd(size, '.').slice(0, size)));
  }
  const batch = new arrow.RecordBatch(schema, arrow.makeData({ type: new arrow.Struct(schema.fields), length: n, children }));
  return Buffer.from(arrow.RecordBatchStreamWriter.writeAll([batch]).toUint8Array(true));
}

// rowBytes estimates a row's share of a page's Arrow data, to keep pages
// under max_bytes.
function rowBytes(config) {
  return 8 + 4 + 16 + 8 + (config.payload_bytes > 0 ? 4 + config.payload_bytes : 0);
}

// ---- the service ------------------------------------------------------------

function notConfigured() {
  return classified(grpc.status.FAILED_PRECONDITION, 'PERMANENT', 'the connector is not configured (Configure first)');
}

function connector() {
  let config = null;
  let schema = null;

  return {
    Spec(call, callback) {
      callback(null, {
        name: NAME,
        version: VERSION,
        protocol_version: 1,
        source: true,
        config_schema: Buffer.from(CONFIG_SCHEMA),
        resilience_class: 'none',
        discover: true,
        local_discover: true,
      });
    },

    Configure(call, callback) {
      const r = parseConfig(call.request.config_json);
      if (r.errors) return callback(null, { field_errors: r.errors });
      config = r.config;
      schema = schemaOf(config);
      callback(null, { field_errors: [] });
    },

    Check(call, callback) {
      if (!config) return callback(notConfigured());
      callback(null, {});
    },

    Discover(call, callback) {
      if (!config) return callback(notConfigured());
      callback(null, {
        streams: [{
          name: STREAM, arrow_schema: schemaBytes(schema), primary_key: ['id'], default: true, estimated_rows: config.rows,
        }],
      });
    },

    ReadPage(call, callback) {
      if (!config) return callback(notConfigured());
      const req = call.request;
      if (req.stream !== STREAM && req.stream !== '') {
        return callback(classified(grpc.status.NOT_FOUND, 'PERMANENT', `no stream ${JSON.stringify(req.stream)}; this source has "${STREAM}"`));
      }
      const checkpoint = Buffer.from(req.checkpoint).toString('utf8');
      let first = 0;
      if (checkpoint !== '') {
        if (!/^\d+$/.test(checkpoint) || Number(checkpoint) > config.rows) {
          return callback(classified(grpc.status.INVALID_ARGUMENT, 'PERMANENT',
            `checkpoint ${JSON.stringify(checkpoint)} is not one this source hands out for ${config.rows} rows`));
        }
        first = Number(checkpoint);
      }
      const maxBytes = req.max_bytes > 0 ? req.max_bytes : DEFAULT_MAX_BYTES;
      let n = Math.min(config.rows - first, config.page_size, Math.max(1, Math.floor(maxBytes / rowBytes(config))));
      if (req.max_rows > 0) n = Math.min(n, req.max_rows);
      const next = first + n;
      callback(null, {
        records: n > 0 ? pageBytes(config, schema, first, n) : Buffer.alloc(0),
        num_rows: n,
        checkpoint: Buffer.from(String(next)),
        done: next >= config.rows,
      });
    },
  };
}

module.exports = { connector, parseConfig };
