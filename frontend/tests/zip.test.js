// The record's ZIP writer: CRC-32 against its check value, and archives that
// an independent reader (Python's zipfile) opens to the very same bytes.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { crc32, zipFiles } from '../static/comity/record/zip.js';

const READ_BACK = `
import hashlib, json, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    assert z.testzip() is None
    print(json.dumps([[i.filename, i.compress_type, hashlib.sha256(z.read(i)).hexdigest(), i.date_time[:3]]
                      for i in z.infolist()]))
`;

/** @param {Uint8Array} data */
const hex = async (data) => Buffer.from(await crypto.subtle.digest('SHA-256', /** @type {Uint8Array<ArrayBuffer>} */ (data))).toString('hex');

describe('zip', () => {
  test('CRC-32 gives the standard check value and that of an empty input', () => {
    assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
    assert.equal(crc32(new Uint8Array(0)), 0);
  });

  test('Python reads back every file byte for byte, text deflated and random bytes stored', async () => {
    const random = new Uint8Array(300_000);
    for (let i = 0; i < random.length; i += 65536) crypto.getRandomValues(random.subarray(i, i + 65536));
    const files = [
      { name: 'manifest.json', data: new TextEncoder().encode(JSON.stringify({ a: 'x'.repeat(5000) })) },
      { name: 'files/0b7e/Décision n°1.pdf', data: random },
      { name: 'empty.txt', data: new Uint8Array(0) },
    ];
    const blob = await zipFiles(files, { modified: new Date('2026-11-22T10:00:00Z') });
    assert.equal(blob.type, 'application/zip');
    const path = join(mkdtempSync(join(tmpdir(), 'comity-zip-')), 'record.zip');
    writeFileSync(path, new Uint8Array(await blob.arrayBuffer()));
    const listed = JSON.parse(execFileSync('python3', ['-c', READ_BACK, path]).toString());
    assert.deepEqual(listed.map((/** @type {any[]} */ f) => f[0]), files.map((f) => f.name));
    assert.deepEqual(listed.map((/** @type {any[]} */ f) => f[1]), [8, 0, 0]);
    for (const [i, file] of files.entries()) assert.equal(listed[i][2], await hex(file.data), file.name);
    assert.deepEqual(listed[0][3], [2026, 11, 22]);
  });
});
