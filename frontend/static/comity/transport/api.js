// The HTTP API under /api/v1/ (DESIGN §7): JSON in and out, the session
// cookie for authentication and Django's CSRF token (cookie `csrftoken`,
// header `X-CSRFToken`) on unsafe methods. Errors arrive as
// {"error": code, "detail": ..., "fields": {...}} and are thrown as ApiError.

const BASE = '/api/v1/';
const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} code
   * @param {string} detail
   * @param {Record<string, string[]>} [fields]
   */
  constructor(status, code, detail, fields = {}) {
    super(detail);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.fields = fields;
  }
}

/** @returns {string} the CSRF token Django set in its cookie */
export function csrfToken() {
  const match = /(?:^|;\s*)csrftoken=([^;]+)/.exec(globalThis.document?.cookie ?? '');
  return match ? decodeURIComponent(match[1]) : '';
}

/**
 * @param {Response} response
 * @returns {Promise<ApiError>}
 */
async function errorOf(response) {
  try {
    const body = await response.json();
    return new ApiError(response.status, String(body.error ?? 'error'), String(body.detail ?? response.statusText), body.fields ?? {});
  } catch {
    return new ApiError(response.status, response.status === 413 ? 'too_large' : 'error', response.statusText);
  }
}

/**
 * Call the API.
 * @param {string} method
 * @param {string} path relative to /api/v1/, e.g. "threads/…/entries?after=0"
 * @param {unknown} [body] sent as JSON
 * @returns {Promise<any>} the parsed JSON answer (null for 204)
 * @throws {ApiError}
 */
export async function api(method, path, body) {
  /** @type {Record<string, string>} */
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (UNSAFE.has(method)) headers['X-CSRFToken'] = csrfToken();
  let response;
  try {
    response = await fetch(BASE + path, {
      method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'offline', 'The server cannot be reached.');
  }
  if (!response.ok) throw await errorOf(response);
  return response.status === 204 ? null : response.json();
}

export const get = (/** @type {string} */ path) => api('GET', path);
export const post = (/** @type {string} */ path, /** @type {unknown} */ body) => api('POST', path, body);
export const put = (/** @type {string} */ path, /** @type {unknown} */ body) => api('PUT', path, body);
export const del = (/** @type {string} */ path) => api('DELETE', path);

/**
 * Upload an encrypted blob with upload progress (fetch has none, so XHR).
 * @param {string} thread
 * @param {Uint8Array<ArrayBuffer>} blob ciphertext
 * @param {string} sha256 base64url SHA-256 of the blob
 * @param {(done: number, total: number) => void} [onProgress]
 * @returns {Promise<{id: string, size: number, sha256: string}>}
 */
export function uploadBlob(thread, blob, sha256, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `${BASE}blobs?thread=${encodeURIComponent(thread)}&sha256=${encodeURIComponent(sha256)}`);
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    xhr.setRequestHeader('X-CSRFToken', csrfToken());
    xhr.responseType = 'json';
    xhr.upload.onprogress = (event) => onProgress?.(event.loaded, event.total || blob.length);
    xhr.onerror = () => reject(new ApiError(0, 'offline', 'The server cannot be reached.'));
    xhr.onload = () => {
      const body = xhr.response ?? {};
      if (xhr.status === 201) resolve(body);
      else reject(new ApiError(xhr.status, body.error ?? (xhr.status === 413 ? 'too_large' : 'error'), body.detail ?? xhr.statusText, body.fields));
    };
    xhr.send(blob);
  });
}

/**
 * Download an encrypted blob.
 * @param {string} id
 * @returns {Promise<Uint8Array<ArrayBuffer>>}
 */
export async function downloadBlob(id) {
  const response = await fetch(`${BASE}blobs/${encodeURIComponent(id)}`, { credentials: 'same-origin' });
  if (!response.ok) throw await errorOf(response);
  return new Uint8Array(await response.arrayBuffer());
}
