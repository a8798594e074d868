'use strict';
// A self-signed X.509 certificate for go-plugin's AutoMTLS, built with
// Node's own crypto (ECDSA P-256) and a few lines of DER: Node can parse
// certificates (crypto.X509Certificate) but not make them, and this avoids
// both the openssl command and a pure-JS RSA library.
//
// The certificate is what go-plugin's own plugins make (mtls.go):
// CN=localhost, DNS name localhost, key usages digital signature, key
// encipherment and cert sign, extended key usages server and client auth,
// a CA (the host trusts exactly this certificate).

const crypto = require('node:crypto');

// ---- DER ----------------------------------------------------------------

function len(n) {
  if (n < 0x80) return Buffer.from([n]);
  const bytes = [];
  for (; n > 0; n >>= 8) bytes.unshift(n & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag, ...contents) {
  const body = Buffer.concat(contents);
  return Buffer.concat([Buffer.from([tag]), len(body.length), body]);
}

const seq = (...c) => tlv(0x30, ...c);
const set = (...c) => tlv(0x31, ...c);
const explicit = (n, ...c) => tlv(0xa0 | n, ...c);
const octets = (b) => tlv(0x04, b);
const bits = (b, unused = 0) => tlv(0x03, Buffer.from([unused]), b);
const bool = (v) => tlv(0x01, Buffer.from([v ? 0xff : 0x00]));
const utf8 = (s) => tlv(0x0c, Buffer.from(s, 'utf8'));

function int(b) {
  // A positive INTEGER: no redundant leading zeros, a zero in front of a
  // set top bit.
  let i = 0;
  while (i < b.length - 1 && b[i] === 0 && (b[i + 1] & 0x80) === 0) i++;
  b = b.subarray(i);
  if (b[0] & 0x80) b = Buffer.concat([Buffer.from([0]), b]);
  return tlv(0x02, b);
}

function oid(dotted) {
  const arcs = dotted.split('.').map(Number);
  const out = [40 * arcs[0] + arcs[1]];
  for (const arc of arcs.slice(2)) {
    const chunk = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift(0x80 | (v & 0x7f));
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

function time(d) {
  // UTCTime through 2049, GeneralizedTime after (RFC 5280 4.1.2.5).
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z'; // YYYYMMDDHHMMSSZ
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(iso.slice(2))) : tlv(0x18, Buffer.from(iso));
}

const ext = (id, critical, value) => seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));

// ---- the certificate ----------------------------------------------------

const ECDSA_SHA256 = '1.2.840.10045.4.3.2';

// selfSigned returns {certPem, keyPem, der} for host "localhost".
function selfSigned({ hours = 24 * 365 } = {}) {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const serial = crypto.randomBytes(16);
  serial[0] = (serial[0] & 0x7f) | 0x40;
  const now = Date.now();
  const name = seq(set(seq(oid('2.5.4.3'), utf8('localhost')))); // CN=localhost
  const algorithm = seq(oid(ECDSA_SHA256));
  const tbs = seq(
    explicit(0, int(Buffer.from([2]))), // v3
    int(serial),
    algorithm,
    name, // issuer
    seq(time(new Date(now - 30_000)), time(new Date(now + hours * 3600_000))),
    name, // subject
    publicKey.export({ type: 'spki', format: 'der' }),
    explicit(3, seq(
      // keyUsage: digitalSignature (bit 0), keyEncipherment (2), keyCertSign (5)
      ext('2.5.29.15', true, bits(Buffer.from([0xa4]), 2)),
      // extKeyUsage: serverAuth, clientAuth
      ext('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.1'), oid('1.3.6.1.5.5.7.3.2'))),
      // basicConstraints: CA
      ext('2.5.29.19', true, seq(bool(true))),
      // subjectAltName: DNS:localhost
      ext('2.5.29.17', false, seq(tlv(0x82, Buffer.from('localhost')))),
    )),
  );
  const signature = crypto.sign('sha256', tbs, privateKey); // DER ECDSA-Sig-Value
  const der = seq(tbs, algorithm, bits(signature));
  const b64 = der.toString('base64').match(/.{1,64}/g).join('\n');
  return {
    der,
    certPem: `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`,
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }),
  };
}

module.exports = { selfSigned };
