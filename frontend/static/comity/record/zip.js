// Writing a ZIP archive in the browser, for the exported record (DESIGN §5).
//
// The platform compresses (CompressionStream 'deflate-raw'); this module only
// lays out the container: a local header before each file, the central
// directory and its end record (PKWARE APPNOTE 4.3). No ZIP64: a record is far
// below 4 GiB and 65,535 files. Names are UTF-8 (general-purpose flag bit 11).

const LOCAL_HEADER = 0x04034b50;
const CENTRAL_HEADER = 0x02014b50;
const END_OF_CENTRAL = 0x06054b50;
const VERSION = 20; // 2.0: deflate
const UTF8_NAMES = 0x0800;
const STORED = 0;
const DEFLATED = 8;

/** @type {Uint32Array | null} */
let crcTable = null;

/**
 * CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), as ZIP requires.
 * @param {Uint8Array} data
 * @returns {number}
 */
export function crc32(data) {
  if (crcTable === null) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = crcTable[(crc ^ data[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/**
 * @param {Uint8Array} data
 * @returns {Promise<Uint8Array>}
 */
async function deflateRaw(data) {
  const stream = new Blob([/** @type {Uint8Array<ArrayBuffer>} */ (data)]).stream().pipeThrough(new CompressionStream('deflate-raw'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * MS-DOS date and time fields (local-time free: the record's times are UTC).
 * @param {Date} moment
 * @returns {{time: number, date: number}}
 */
function dosTime(moment) {
  const year = Math.max(1980, moment.getUTCFullYear());
  return {
    time: (moment.getUTCHours() << 11) | (moment.getUTCMinutes() << 5) | (moment.getUTCSeconds() >> 1),
    date: ((year - 1980) << 9) | ((moment.getUTCMonth() + 1) << 5) | moment.getUTCDate(),
  };
}

/**
 * @param {number} size
 * @param {(view: DataView) => void} fill
 * @returns {Uint8Array<ArrayBuffer>}
 */
function record(size, fill) {
  const bytes = new Uint8Array(size);
  fill(new DataView(bytes.buffer));
  return bytes;
}

/**
 * Build a ZIP archive. Each file is deflated unless that does not make it
 * smaller (encrypted blobs and most documents are already dense).
 * @param {readonly {name: string, data: Uint8Array}[]} files in archive order
 * @param {{modified?: Date, onFile?: (done: number, total: number) => void}} [options]
 * @returns {Promise<Blob>} `application/zip`
 */
export async function zipFiles(files, options = {}) {
  const { time, date } = dosTime(options.modified ?? new Date());
  /** @type {BlobPart[]} */
  const parts = [];
  /** @type {Uint8Array[]} */
  const central = [];
  let offset = 0;
  let done = 0;
  for (const file of files) {
    const name = new TextEncoder().encode(file.name);
    const crc = crc32(file.data);
    const deflated = await deflateRaw(file.data);
    const method = deflated.length < file.data.length ? DEFLATED : STORED;
    const body = method === DEFLATED ? deflated : file.data;
    /** @param {DataView} v @param {number} at */
    const common = (v, at) => {
      v.setUint16(at, VERSION, true);
      v.setUint16(at + 2, UTF8_NAMES, true);
      v.setUint16(at + 4, method, true);
      v.setUint16(at + 6, time, true);
      v.setUint16(at + 8, date, true);
      v.setUint32(at + 10, crc, true);
      v.setUint32(at + 14, body.length, true);
      v.setUint32(at + 18, file.data.length, true);
      v.setUint16(at + 22, name.length, true);
    };
    const local = record(30, (v) => {
      v.setUint32(0, LOCAL_HEADER, true);
      common(v, 4);
    });
    const entry = record(46, (v) => {
      v.setUint32(0, CENTRAL_HEADER, true);
      v.setUint16(4, VERSION, true); // made by
      common(v, 6);
      v.setUint32(42, offset, true);
    });
    parts.push(local, /** @type {Uint8Array<ArrayBuffer>} */ (name), /** @type {Uint8Array<ArrayBuffer>} */ (body));
    central.push(entry, name);
    offset += local.length + name.length + body.length;
    options.onFile?.(++done, files.length);
  }
  const centralSize = central.reduce((sum, part) => sum + part.length, 0);
  const end = record(22, (v) => {
    v.setUint32(0, END_OF_CENTRAL, true);
    v.setUint16(8, files.length, true);
    v.setUint16(10, files.length, true);
    v.setUint32(12, centralSize, true);
    v.setUint32(16, offset, true);
  });
  return new Blob([...parts, .../** @type {Uint8Array<ArrayBuffer>[]} */ (central), end], { type: 'application/zip' });
}
