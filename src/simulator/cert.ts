/**
 * The simulator's self-signed certificate for localhost, written with node:crypto alone: an
 * EC P-256 key and a DER X.509 v3 certificate signed with it (ECDSA with SHA-256), valid for
 * localhost, 127.0.0.1 and ::1. An X.509 library cost ~10 MB and ~100 ms at every start of the
 * default configuration; this takes about a millisecond.
 */
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';

/** One DER element: tag, definite length, content. */
function der(tag: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const n = body.length;
  const len = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), len, body]);
}

const seq = (...parts: Buffer[]) => der(0x30, ...parts);

function oid(dotted: string): Buffer {
  const [a = 0, b = 0, ...rest] = dotted.split('.').map(Number);
  const bytes = [40 * a + b];
  for (const v of rest) {
    const chunk = [v & 0x7f];
    for (let x = v >>> 7; x > 0; x >>>= 7) chunk.unshift((x & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return der(0x06, Buffer.from(bytes));
}

/** UTCTime, YYMMDDHHMMSSZ (dates before 2050). */
function utcTime(d: Date): Buffer {
  return der(0x17, Buffer.from(`${d.toISOString().slice(2, 19).replace(/[-T:]/g, '')}Z`));
}

const bitString = (content: Buffer, unusedBits = 0) => der(0x03, Buffer.from([unusedBits]), content);
const octets = (content: Buffer) => der(0x04, content);
const extension = (id: string, value: Buffer, critical = false) =>
  seq(oid(id), ...(critical ? [der(0x01, Buffer.from([0xff]))] : []), octets(value));

const ECDSA_SHA256 = seq(oid('1.2.840.10045.4.3.2'));
const LOCALHOST = seq(der(0x31, seq(oid('2.5.4.3'), der(0x0c, Buffer.from('localhost')))));

export function selfSignedLocalhost(days = 825): { key: string; cert: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const now = Date.now();
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x40; // positive, no leading zero byte
  const tbs = seq(
    der(0xa0, der(0x02, Buffer.from([2]))), // v3
    der(0x02, serial),
    ECDSA_SHA256,
    LOCALHOST,
    seq(utcTime(new Date(now - 60_000)), utcTime(new Date(now + days * 86_400_000))),
    LOCALHOST,
    publicKey.export({ type: 'spki', format: 'der' }),
    der(
      0xa3,
      seq(
        extension('2.5.29.19', seq(), true), // basicConstraints: not a CA
        extension('2.5.29.15', bitString(Buffer.from([0xa0]), 5), true), // digitalSignature, keyEncipherment
        extension('2.5.29.37', seq(oid('1.3.6.1.5.5.7.3.1'))), // serverAuth
        extension(
          '2.5.29.17', // subjectAltName
          seq(
            der(0x82, Buffer.from('localhost')),
            der(0x87, Buffer.from([127, 0, 0, 1])),
            der(0x87, Buffer.from([...new Array(15).fill(0), 1])),
          ),
        ),
      ),
    ),
  );
  const signature = sign('sha256', tbs, { key: privateKey, dsaEncoding: 'der' });
  const certDer = seq(tbs, ECDSA_SHA256, bitString(signature));
  const b64 = certDer.toString('base64').replace(/.{1,64}/g, '$&\n');
  return {
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    cert: `-----BEGIN CERTIFICATE-----\n${b64}-----END CERTIFICATE-----\n`,
  };
}
