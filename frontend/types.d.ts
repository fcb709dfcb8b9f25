// Shared types of the Comity browser client (STYLE §14). The wire formats are
// fixed by shared/DESIGN.md §4–§5; field names here are the wire names.

/** Bytes backed by a plain ArrayBuffer (what WebCrypto accepts and returns). */
export type Bytes = Uint8Array<ArrayBuffer>;
/** base64url without padding (DESIGN §4). */
export type B64u = string;
/** P-256 key families used by the protocol. */
export type KeyKind = 'ecdh' | 'ecdsa';
/** A public key as a CryptoKey, a raw 65-byte point or its base64url form. */
export type PublicKeyInput = CryptoKey | Uint8Array | B64u;

/** What `parseStrictJson` returns. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

// --- messages (DESIGN §4 "Message envelope", §6) ---------------------------

export type MessageKind = 'text' | 'clarification' | 'answer' | 'assurance' | 'document' | 'note';

export interface Header {
  v: 1;
  thread: string;
  epoch: number;
  sender_device: string;
  client_id: string;
  kind: MessageKind;
  /** Server-visible workflow fields (DESIGN §6). */
  meta: { [key: string]: JsonValue };
}

export interface FileRef {
  blob: string;
  name: string;
  mime: string;
  size: number;
  /** The file's AES-256-GCM key, base64url. */
  key: B64u;
  /** SHA-256 of the whole encrypted blob, base64url. */
  sha256: B64u;
}

export interface Payload {
  /** Markdown subset. */
  text: string;
  reply_to: number | null;
  edits: number | null;
  files: FileRef[];
}

export interface Envelope {
  header: Header;
  iv: B64u;
  ct: B64u;
  sig: B64u;
}

// --- key packages (DESIGN §4 "Key package") -------------------------------

export type RecipientKind = 'device' | 'records' | 'backup';
export type PackageReason = 'create' | 'rotate' | 'history';
export type HistoryPolicy = 'shared' | 'from_join';

/** One wrap of the epoch key inside a package. */
export interface Recipient {
  id: string;
  kind: RecipientKind;
  iv: B64u;
  ct: B64u;
}

/** Who to wrap for, with the recipient's ECDH public key. */
export interface RecipientKey {
  id: string;
  kind: RecipientKind;
  dh: PublicKeyInput;
}

export interface Member {
  user: string;
  devices: string[];
}

export interface KeyPackageFields {
  thread: string;
  epoch: number;
  reason: PackageReason;
  /** Hash of the entry holding the previous epoch's package, or null. */
  prev: B64u | null;
  history: HistoryPolicy;
  members: Member[];
  sender_device: string;
}

export interface UnsignedKeyPackage extends KeyPackageFields {
  v: 1;
  type: 'keys';
  eph: B64u;
  recipients: Recipient[];
}

export interface KeyPackage extends UnsignedKeyPackage {
  sig: B64u;
}

/** Context that binds a wrap to one thread, epoch and recipient. */
export interface WrapContext {
  thread: string;
  epoch: number;
  recipient: string;
}

export interface WrappedEpochKey {
  iv: B64u;
  ct: B64u;
}

// --- wrapped private keys (DESIGN §4) -------------------------------------

export type WrapPurpose = 'identity' | 'backup' | 'records';

export interface WrappedKey {
  kdf: 'PBKDF2-SHA256';
  iter: number;
  salt: B64u;
  iv: B64u;
  ct: B64u;
}

export interface WrappedKeyPair {
  /** Raw 65-byte public point. */
  publicKey: Bytes;
  /** Non-extractable private key, re-imported from the wrap. */
  privateKey: CryptoKey;
  wrapped: WrappedKey;
}

// --- certificates (DESIGN §4 "Keys") -----------------------------------------

export interface DeviceCertificateFields {
  user: string;
  device: string;
  /** Device ECDH public key, base64url point. */
  dh: B64u;
  /** Device ECDSA public key, base64url point. */
  sig: B64u;
}

export interface RecordsCertificateFields {
  authority: string;
  certified_by: string;
  dh: B64u;
}

// --- files (DESIGN §4 "Files") --------------------------------------------

/** Called as work progresses, with plaintext bytes done and in total. */
export type ProgressCallback = (doneBytes: number, totalBytes: number) => void;

export interface EncryptedFile {
  /** Concatenated IV ‖ ct chunks: what is uploaded. */
  blob: Bytes;
  /** Fresh AES-256-GCM key, base64url; travels in the payload. */
  key: B64u;
  /** SHA-256 of the blob, base64url. */
  sha256: B64u;
  /** Plaintext size in bytes. */
  size: number;
}

// --- the record (DESIGN §5) -------------------------------------------------

export type EntryKind = 'create' | 'message' | 'keys' | 'member' | 'expiry' | 'receipt' | 'status' | 'export' | 'purge';

export interface Entry {
  thread: string;
  seq: number;
  /** ISO 8601 UTC with milliseconds, e.g. "2026-11-22T10:00:00.000Z". */
  at: string;
  kind: EntryKind;
  actor: { user: string | null; device: string | null };
  body: JsonValue;
}

/** An entry as the server sends it (WebSocket `entry` frame, record bundle). */
export interface ChainItem {
  seq?: number;
  entry: Entry;
  hash: B64u;
  server_sig: B64u;
  /**
   * Only on a purged item: a `message` entry whose body has lost its `ct`
   * (retracted by its sender or removed under retention). SHA-256 of the
   * entry as it was written, base64url; its link binds this in place of
   * SHA-256(canonical(entry)).
   */
  digest?: B64u;
  /** With `digest`: the day the content was removed, "YYYY-MM-DD". */
  purged_on?: string;
}

export interface ChainHead {
  seq: number;
  hash: B64u;
}

export type ChainBreakReason = 'malformed' | 'thread' | 'seq' | 'hash' | 'server_sig' | 'server_key';

export type ChainResult =
  | { ok: true; head: ChainHead }
  | { ok: false; head: ChainHead; seq: number; reason: ChainBreakReason; detail: string };
