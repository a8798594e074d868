'use strict';
// go-plugin's plugin side for a sqlflow-host connector in Node.js: the
// start-up checks, AutoMTLS, the handshake line, the health service and the
// controller's Shutdown. See docs/plugin-sdk.md, "Plugins in other
// languages". Nothing but the handshake line may reach stdout.

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const os = require('node:os');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const protobuf = require('protobufjs');

const { selfSigned } = require('./cert');

const MAGIC_COOKIE_KEY = 'SQLFLOW_PLUGIN_MAGIC_COOKIE';
const MAGIC_COOKIE_VALUE = '5c1f0e2a-sqlflow-connector-v1';
const CORE_PROTOCOL_VERSION = 1; // go-plugin's own
const PROTOCOL_VERSION = 1; // sqlflow.connector.v1
// The host's cap on a message, both ways; gRPC libraries default to 4 MiB.
const MAX_MESSAGE_SIZE = 256 << 20;

const PROTO_DIR = path.join(__dirname, '..', 'proto');
const LOADER_OPTIONS = { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true };

// Anything a library prints with console.log must not reach stdout, where
// the host reads the handshake line.
for (const level of ['log', 'info', 'debug']) console[level] = console.error;

function log(...args) {
  process.stderr.write(`[node-source] ${args.join(' ')}\n`);
}

function fail(message) {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

// ---- errors -------------------------------------------------------------

// ErrorDetail and google.rpc.Status, encoded with protobufjs.
let encoders;
function loadEncoders(connectorProto) {
  const root = new protobuf.Root();
  root.loadSync([connectorProto, path.join(PROTO_DIR, 'status.proto')], { keepCase: true });
  encoders = {
    detail: root.lookupType('sqlflow.connector.v1.ErrorDetail'),
    status: root.lookupType('google.rpc.Status'),
  };
}

const CLASSES = {
  TRANSIENT: 1,
  RATE_LIMITED: 2,
  AUTH_EXPIRED: 3,
  PERMANENT: 4,
};

// classified returns a gRPC error for a grpc-js callback: status code,
// message, and an ErrorDetail of class cls (TRANSIENT, RATE_LIMITED,
// AUTH_EXPIRED, PERMANENT) in the grpc-status-details-bin trailer.
function classified(code, cls, message, { field = '', retryAfterSeconds = 0 } = {}) {
  if (!(cls in CLASSES)) throw new Error(`unknown error class ${cls}`);
  const detail = encoders.detail.encode({ class: CLASSES[cls], field, retry_after_seconds: retryAfterSeconds }).finish();
  const st = encoders.status.encode({
    code,
    message,
    details: [{ type_url: 'type.googleapis.com/sqlflow.connector.v1.ErrorDetail', value: detail }],
  }).finish();
  const metadata = new grpc.Metadata();
  metadata.set('grpc-status-details-bin', Buffer.from(st));
  return { code, details: message, metadata };
}

// ---- serving ----------------------------------------------------------------

// guarded wraps each unary handler so that an exception becomes a
// PERMANENT INTERNAL error with its message (and its stack on stderr)
// instead of ending the process.
function guarded(implementation) {
  return Object.fromEntries(Object.entries(implementation).map(([name, handler]) => [name, (call, callback) => {
    try {
      handler(call, callback);
    } catch (e) {
      log(`${name}: ${e.stack || e}`);
      callback(classified(grpc.status.INTERNAL, 'PERMANENT', `${name}: internal error: ${e.message || e}`));
    }
  }]));
}

// serve checks the start-up variables, serves the connector service
// (implementation: an object of grpc-js handlers for
// sqlflow.connector.v1.Connector) with the health and controller services
// over mutual TLS on a Unix socket, and prints the handshake line.
function serve({ connectorProto, implementation }) {
  if (process.env[MAGIC_COOKIE_KEY] !== MAGIC_COOKIE_VALUE) {
    fail('This binary is a plugin for sqlflow-host. It is not meant to be run directly:\n' +
      'put it in a plugins directory and name its type in a pipeline file.');
  }
  const versions = (process.env.PLUGIN_PROTOCOL_VERSIONS || '').split(',').map((v) => v.trim());
  if (!versions.includes(String(PROTOCOL_VERSION))) {
    fail(`the host speaks connector protocol versions [${versions}]; this plugin speaks ${PROTOCOL_VERSION}`);
  }
  const clientCert = process.env.PLUGIN_CLIENT_CERT;
  if (!clientCert) {
    fail('PLUGIN_CLIENT_CERT is not set: this plugin serves only over mutual TLS (go-plugin AutoMTLS)');
  }

  const packageDefinition = protoLoader.loadSync(
    [connectorProto, path.join(PROTO_DIR, 'health.proto'), path.join(PROTO_DIR, 'grpc_controller.proto')],
    LOADER_OPTIONS,
  );
  const pkg = grpc.loadPackageDefinition(packageDefinition);
  loadEncoders(connectorProto);

  const server = new grpc.Server({
    'grpc.max_receive_message_length': MAX_MESSAGE_SIZE,
    'grpc.max_send_message_length': MAX_MESSAGE_SIZE,
  });
  server.addService(pkg.sqlflow.connector.v1.Connector.service, guarded(implementation));
  server.addService(pkg.grpc.health.v1.Health.service, {
    Check(call, callback) {
      const service = call.request.service;
      if (service === '' || service === 'plugin') return callback(null, { status: 'SERVING' });
      callback({ code: grpc.status.NOT_FOUND, details: `unknown service ${JSON.stringify(service)}` });
    },
  });

  const dir = process.env.PLUGIN_UNIX_SOCKET_DIR || os.tmpdir();
  const socket = path.join(dir, `plugin${crypto.randomBytes(6).toString('hex')}`);
  // stop lets the calls under way (Shutdown's answer among them) finish,
  // for a second at most, and exits.
  const stop = (code) => {
    fs.rmSync(socket, { force: true });
    server.tryShutdown(() => process.exit(code));
    setTimeout(() => process.exit(code), 1000).unref();
  };
  server.addService(pkg.plugin.GRPCController.service, {
    Shutdown(call, callback) {
      callback(null, {});
      stop(0);
    },
  });
  // As go-plugin's plugins do: Ctrl-C reaches the whole process group, and
  // the host decides when its plugins stop.
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => stop(0));
  // Never outlive the host: on Linux it kills us with its own death
  // (PR_SET_PDEATHSIG), but a host without that (another OS, the kit run by
  // hand) leaves us to notice that we were handed to another parent.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) stop(0);
  }, 1000).unref();

  const cert = selfSigned();
  const credentials = grpc.ServerCredentials.createSsl(
    Buffer.from(clientCert), // the only CA: the host's own certificate
    [{ cert_chain: Buffer.from(cert.certPem), private_key: Buffer.from(cert.keyPem) }],
    true, // require and verify a client certificate
  );
  server.bindAsync(`unix://${socket}`, credentials, (err) => {
    if (err) fail(`listen on ${socket}: ${err.message}`);
    const der = cert.der.toString('base64').replace(/=+$/, ''); // Go's base64.RawStdEncoding
    process.stdout.write(`${CORE_PROTOCOL_VERSION}|${PROTOCOL_VERSION}|unix|${socket}|grpc|${der}\n`);
  });
}

module.exports = { serve, classified, log, grpc, MAX_MESSAGE_SIZE };
