import { randomUUID } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ConfigError, FormatError, GuiLoMoError, ShapeError } from './errors.js';

// Layout of a safetensors file: an 8-byte little-endian u64 header length N, N bytes of UTF-8
// JSON (padded with spaces so that the data starts 8-byte aligned), then the tensors' raw
// little-endian bytes in C order. The data offsets in the header are relative to the data
// section, and the tensors must cover it exactly, without gaps or overlaps.

/** Element types this module reads. F16 and BF16 are converted to float32 on read. */
export type SafetensorsDtype = 'F32' | 'I32' | 'F16' | 'BF16';

/** Element types this module writes. */
export type SafetensorsWriteDtype = 'F32' | 'I32';

/** A tensor to encode. `data` contains the elements in C order, as a `Float32Array` for F32. */
export interface SafetensorsTensorInput {
  readonly dtype: SafetensorsWriteDtype;
  readonly shape: readonly number[];
  readonly data: Float32Array | Int32Array;
}

/** A decoded tensor. `dtype` is the stored type, and F16 and BF16 data arrive as float32. */
export type SafetensorsTensor =
  | {
      readonly dtype: 'F32' | 'F16' | 'BF16';
      readonly shape: number[];
      readonly data: Float32Array;
    }
  | { readonly dtype: 'I32'; readonly shape: number[]; readonly data: Int32Array };

/** Contents of a safetensors file. */
export interface DecodedSafetensors {
  /**
   * Tensors by name. Iteration follows the data order in the file, except that integer-like
   * names come first, as in every JS object.
   */
  readonly tensors: Record<string, SafetensorsTensor>;
  /** The `__metadata__` string map, empty when the file has none. */
  readonly metadata: Record<string, string>;
}

/** Options of {@link decodeSafetensors}. */
export interface DecodeSafetensorsOptions {
  /** File name or other origin of the bytes, used in error messages. */
  readonly source?: string;
}

const METADATA_KEY = '__metadata__';
/** Largest header that the Rust `safetensors` crate reads (100 MB). */
const MAX_HEADER_BYTES = 100_000_000;
const BYTES_PER_ELEMENT: Record<SafetensorsDtype, number> = { F32: 4, I32: 4, F16: 2, BF16: 2 };
/**
 * Rank of each dtype in the dtype enum of the reference writer (the Rust `safetensors` crate,
 * which the Python package calls). It lays tensors out by descending rank, then by name, so F32
 * tensors come before I32 ones.
 */
const WRITE_ORDER: Record<SafetensorsWriteDtype, number> = { I32: 0, F32: 1 };
// NOTE: the big-endian branches that use this flag have not run in tests, for lack of a host.
const IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Encodes tensors into safetensors bytes. Tensors are laid out by dtype (F32 first), then by
 * name in code-point order, and the header lists `__metadata__` first and the tensors in data
 * order, as the Rust `safetensors` crate does.
 *
 * @example
 * const bytes = encodeSafetensors(
 *   { 'lora_A.weight': { dtype: 'F32', shape: [2, 3], data: new Float32Array(6) } },
 *   { format: 'pt' },
 * );
 */
export function encodeSafetensors(
  tensors: Readonly<Record<string, SafetensorsTensorInput>>,
  metadata?: Readonly<Record<string, string>>,
): Uint8Array {
  const entries = Object.entries(tensors);
  for (const [name, tensor] of entries) {
    validateInput(name, tensor);
  }
  entries.sort(([nameA, a], [nameB, b]) => {
    const byDtype = WRITE_ORDER[b.dtype] - WRITE_ORDER[a.dtype];
    return byDtype !== 0 ? byDtype : compareCodePoints(nameA, nameB);
  });

  // The header is written by hand because JS objects list integer-like keys first, which
  // would break the required key order.
  const members: string[] = [];
  if (metadata !== undefined) {
    members.push(`${JSON.stringify(METADATA_KEY)}:${encodeMetadata(metadata)}`);
  }
  const layout: { offset: number; data: Float32Array | Int32Array }[] = [];
  let offset = 0;
  for (const [name, tensor] of entries) {
    const end = offset + tensor.data.byteLength;
    const info = { dtype: tensor.dtype, shape: [...tensor.shape], data_offsets: [offset, end] };
    members.push(`${JSON.stringify(name)}:${JSON.stringify(info)}`);
    layout.push({ offset, data: tensor.data });
    offset = end;
  }

  const json = new TextEncoder().encode(`{${members.join(',')}}`);
  const headerLength = Math.ceil(json.length / 8) * 8;
  const bytes = new Uint8Array(8 + headerLength + offset);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(0, BigInt(headerLength), true);
  bytes.set(json, 8);
  bytes.fill(0x20, 8 + json.length, 8 + headerLength);
  const dataStart = 8 + headerLength;
  for (const item of layout) {
    writeElements(view, dataStart + item.offset, item.data);
  }
  return bytes;
}

/**
 * Decodes safetensors bytes. Raises {@link FormatError}, naming `options.source`, the tensor and
 * the problem, for a truncated file, an invalid header, an unsupported dtype, a shape that does
 * not match its byte range, and offsets that overlap, leave gaps or fall outside the data.
 */
export function decodeSafetensors(
  bytes: Uint8Array,
  options: DecodeSafetensorsOptions = {},
): DecodedSafetensors {
  const where = options.source === undefined ? 'safetensors data' : options.source;
  const fail = (message: string): never => {
    throw new FormatError(`${where}: ${message}`);
  };

  if (bytes.length < 8) {
    fail(`is ${bytes.length} bytes long, shorter than the 8-byte header length.`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const declaredLength = view.getBigUint64(0, true);
  if (declaredLength > BigInt(MAX_HEADER_BYTES)) {
    fail(`header length ${declaredLength} exceeds the ${MAX_HEADER_BYTES}-byte limit.`);
  }
  const headerLength = Number(declaredLength);
  if (8 + headerLength > bytes.length) {
    fail(
      `header length ${headerLength} runs past the end of the file (${bytes.length} bytes); the file is truncated or not safetensors.`,
    );
  }
  const header = parseHeader(bytes.subarray(8, 8 + headerLength), fail);

  let metadata: Record<string, string> = {};
  const infos: TensorInfo[] = [];
  for (const [key, value] of Object.entries(header)) {
    if (key === METADATA_KEY) {
      metadata = parseMetadata(value, fail);
    } else {
      infos.push(parseTensorInfo(key, value, fail));
    }
  }

  const dataStart = 8 + headerLength;
  checkLayout(infos, bytes.length - dataStart, fail);
  const tensors = infos.map((info): [string, SafetensorsTensor] => [
    info.name,
    readTensor(info, bytes.subarray(dataStart + info.start, dataStart + info.end)),
  ]);
  // fromEntries defines own properties, so a tensor named `__proto__` stays an ordinary key.
  return { tensors: Object.fromEntries(tensors), metadata };
}

/**
 * Writes tensors to a safetensors file atomically through {@link writeFileAtomic}.
 *
 * @example
 * await writeSafetensorsFile('out/adapter_model.safetensors', tensors, { format: 'pt' });
 */
export async function writeSafetensorsFile(
  path: string,
  tensors: Readonly<Record<string, SafetensorsTensorInput>>,
  metadata?: Readonly<Record<string, string>>,
): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

/** Reads and decodes a safetensors file. Format errors name the file. */
export async function readSafetensorsFile(path: string): Promise<DecodedSafetensors> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new GuiLoMoError(`Failed to read ${path}: ${describeError(error)}`, { cause: error });
  }
  return decodeSafetensors(bytes, { source: path });
}

/**
 * Writes `data` to `path` so that readers see either the old file or the complete new one:
 * the data goes to a temporary file in the same directory, which is flushed with fsync and
 * renamed over `path`. On failure the temporary file is removed and the error names `path`.
 *
 * @example
 * await writeFileAtomic('run/checkpoint.json', JSON.stringify(state));
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const directory = dirname(path);
  const tempPath = join(directory, `.${basename(path)}.${randomUUID()}.tmp`);
  let created = false;
  try {
    const handle = await open(tempPath, 'wx');
    created = true;
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tempPath, path);
    created = false;
  } catch (error) {
    if (created) {
      await rm(tempPath, { force: true });
    }
    throw new GuiLoMoError(`Failed to write ${path}: ${describeError(error)}`, { cause: error });
  }
  await syncDirectory(directory);
}

/** A tensor entry of a parsed header. */
interface TensorInfo {
  readonly name: string;
  readonly dtype: SafetensorsDtype;
  readonly shape: number[];
  readonly start: number;
  readonly end: number;
}

type Fail = (message: string) => never;

function parseHeader(headerBytes: Uint8Array, fail: Fail): Record<string, unknown> {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    return fail('header is not valid UTF-8.');
  }
  if (!text.startsWith('{')) {
    fail(`header must start with "{", found ${JSON.stringify(text.slice(0, 16))}.`);
  }
  // A text that starts with "{" parses to an object or not at all.
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    return fail(`header is not valid JSON: ${describeError(error)}`);
  }
}

function parseMetadata(value: unknown, fail: Fail): Record<string, string> {
  if (!isPlainObject(value)) {
    return fail(`"${METADATA_KEY}" must be an object of strings, found ${describeJson(value)}.`);
  }
  for (const [key, entry] of Object.entries(value)) {
    if (typeof entry !== 'string') {
      fail(
        `"${METADATA_KEY}" entry ${JSON.stringify(key)} must be a string, found ${describeJson(entry)}.`,
      );
    }
  }
  return value as Record<string, string>;
}

function parseTensorInfo(name: string, value: unknown, fail: Fail): TensorInfo {
  const label = `tensor ${JSON.stringify(name)}`;
  if (!isPlainObject(value)) {
    return fail(
      `${label}: entry must be an object with dtype, shape and data_offsets, found ${describeJson(value)}.`,
    );
  }
  const { dtype, shape, data_offsets: offsets } = value;
  if (typeof dtype !== 'string' || !Object.hasOwn(BYTES_PER_ELEMENT, dtype)) {
    return fail(
      `${label}: unsupported dtype ${describeJson(dtype)}; this reader supports F32, I32, F16 and BF16.`,
    );
  }
  if (!Array.isArray(shape) || !shape.every(isByteCount)) {
    return fail(
      `${label}: shape must be an array of non-negative integers, found ${describeJson(shape)}.`,
    );
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isByteCount)) {
    return fail(
      `${label}: data_offsets must be [start, end] with non-negative integers, found ${describeJson(offsets)}.`,
    );
  }
  const [start, end] = offsets as [number, number];
  if (end < start) {
    return fail(`${label}: data_offsets [${start}, ${end}] end before they start.`);
  }

  const elementSize = BYTES_PER_ELEMENT[dtype as SafetensorsDtype];
  const byteLength = shape.reduce((product: number, size: number) => product * size, elementSize);
  if (!Number.isSafeInteger(byteLength)) {
    return fail(`${label}: shape [${shape.join(', ')}] is too large to address.`);
  }
  if (byteLength !== end - start) {
    return fail(
      `${label}: dtype ${dtype} with shape [${shape.join(', ')}] needs ${byteLength} bytes, but data_offsets [${start}, ${end}] span ${end - start}.`,
    );
  }
  return { name, dtype: dtype as SafetensorsDtype, shape: shape as number[], start, end };
}

/** Sorts `infos` by offset and checks that they tile `[0, dataLength)` exactly. */
function checkLayout(infos: TensorInfo[], dataLength: number, fail: Fail): void {
  for (const info of infos) {
    if (info.end > dataLength) {
      fail(
        `tensor ${JSON.stringify(info.name)}: data_offsets [${info.start}, ${info.end}] are out of range; the data section has ${dataLength} bytes.`,
      );
    }
  }
  infos.sort((a, b) => a.start - b.start || a.end - b.end);
  let position = 0;
  let previous: TensorInfo | undefined;
  for (const info of infos) {
    const label = `tensor ${JSON.stringify(info.name)}`;
    const after =
      previous === undefined ? 'the start of the data' : `tensor ${JSON.stringify(previous.name)}`;
    if (info.start < position) {
      fail(
        `${label}: data_offsets [${info.start}, ${info.end}] overlap ${after}, which ends at ${position}.`,
      );
    }
    if (info.start > position) {
      fail(
        `${label}: data_offsets [${info.start}, ${info.end}] leave a gap of ${info.start - position} bytes after ${after}; tensors must cover the data without holes.`,
      );
    }
    position = info.end;
    previous = info;
  }
  if (position !== dataLength) {
    fail(`${dataLength - position} bytes after the last tensor are not covered by any tensor.`);
  }
}

function readTensor(info: TensorInfo, raw: Uint8Array): SafetensorsTensor {
  const count = raw.length / BYTES_PER_ELEMENT[info.dtype];
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  switch (info.dtype) {
    case 'F32': {
      const data = IS_LITTLE_ENDIAN
        ? new Float32Array(new Uint8Array(raw).buffer)
        : new Float32Array(count);
      if (!IS_LITTLE_ENDIAN) {
        for (let i = 0; i < count; i++) {
          data[i] = view.getFloat32(4 * i, true);
        }
      }
      return { dtype: 'F32', shape: info.shape, data };
    }
    case 'I32': {
      const data = IS_LITTLE_ENDIAN
        ? new Int32Array(new Uint8Array(raw).buffer)
        : new Int32Array(count);
      if (!IS_LITTLE_ENDIAN) {
        for (let i = 0; i < count; i++) {
          data[i] = view.getInt32(4 * i, true);
        }
      }
      return { dtype: 'I32', shape: info.shape, data };
    }
    case 'F16': {
      const data = new Float32Array(count);
      for (let i = 0; i < count; i++) {
        data[i] = float16ToNumber(view.getUint16(2 * i, true));
      }
      return { dtype: 'F16', shape: info.shape, data };
    }
    case 'BF16': {
      // A bfloat16 is the upper half of a float32, so shifting its bits up gives the exact value.
      const data = new Float32Array(count);
      const bits = new Uint32Array(data.buffer);
      for (let i = 0; i < count; i++) {
        bits[i] = view.getUint16(2 * i, true) << 16;
      }
      return { dtype: 'BF16', shape: info.shape, data };
    }
  }
}

/** Converts IEEE 754 half-precision bits (1 sign, 5 exponent, 10 fraction bits) to a number. */
function float16ToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) {
    // Zero and subnormals: fraction · 2^-24.
    return sign * fraction * 2 ** -24;
  }
  if (exponent === 0x1f) {
    return fraction === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  }
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

function writeElements(view: DataView, offset: number, data: Float32Array | Int32Array): void {
  if (IS_LITTLE_ENDIAN) {
    new Uint8Array(view.buffer).set(
      new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      offset,
    );
    return;
  }
  for (let i = 0; i < data.length; i++) {
    const value = data[i] as number;
    if (data instanceof Float32Array) {
      view.setFloat32(offset + 4 * i, value, true);
    } else {
      view.setInt32(offset + 4 * i, value, true);
    }
  }
}

function validateInput(name: string, tensor: SafetensorsTensorInput): void {
  const field = `tensors[${JSON.stringify(name)}]`;
  if (name === '' || name === METADATA_KEY || /\p{Surrogate}/u.test(name)) {
    throw new ConfigError(
      field,
      `invalid tensor name ${JSON.stringify(name)}: use a non-empty, well-formed string other than "${METADATA_KEY}".`,
    );
  }
  if (tensor.dtype !== 'F32' && tensor.dtype !== 'I32') {
    throw new ConfigError(
      `${field}.dtype`,
      `must be "F32" or "I32", received ${JSON.stringify(tensor.dtype)}.`,
    );
  }
  const expectedArray = tensor.dtype === 'F32' ? Float32Array : Int32Array;
  if (!(tensor.data instanceof expectedArray)) {
    throw new ConfigError(
      `${field}.data`,
      `must be a ${expectedArray.name} for dtype ${tensor.dtype}, received ${describeArray(tensor.data)}.`,
    );
  }
  if (!tensor.shape.every((dimension) => isByteCount(dimension))) {
    throw new ShapeError(
      `${field}: shape must list non-negative integers, received [${tensor.shape.join(', ')}].`,
    );
  }
  const size = tensor.shape.reduce((product, dimension) => product * dimension, 1);
  if (size !== tensor.data.length) {
    throw new ShapeError(
      `${field}: shape [${tensor.shape.join(', ')}] has ${size} elements, but data has ${tensor.data.length}.`,
    );
  }
}

function encodeMetadata(metadata: Readonly<Record<string, string>>): string {
  const keys = Object.keys(metadata).sort(compareCodePoints);
  const members = keys.map((key) => {
    const value: unknown = metadata[key];
    if (typeof value !== 'string') {
      throw new ConfigError(
        `metadata[${JSON.stringify(key)}]`,
        `must be a string, received ${describeJson(value)}.`,
      );
    }
    return `${JSON.stringify(key)}:${JSON.stringify(value)}`;
  });
  return `{${members.join(',')}}`;
}

/** Orders strings by Unicode code point, which is the byte order of their UTF-8 encodings. */
function compareCodePoints(a: string, b: string): number {
  const left = [...a];
  const right = [...b];
  const length = Math.min(left.length, right.length);
  for (let i = 0; i < length; i++) {
    const difference = (left[i]?.codePointAt(0) ?? 0) - (right[i]?.codePointAt(0) ?? 0);
    if (difference !== 0) {
      return difference;
    }
  }
  return left.length - right.length;
}

/** Error codes of file systems that cannot fsync a directory. */
const DIRECTORY_SYNC_UNSUPPORTED = new Set(['EINVAL', 'ENOTSUP', 'EPERM', 'EISDIR', 'EBADF']);

/**
 * Syncs a directory so that a rename inside it survives a crash. Skipped on Windows and on file
 * systems that reject it, where the renamed file is complete but its durability is not assured.
 */
async function syncDirectory(directory: string): Promise<void> {
  if (process.platform === 'win32') {
    return;
  }
  try {
    const handle = await open(directory, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === undefined || !DIRECTORY_SYNC_UNSUPPORTED.has(code)) {
      throw new GuiLoMoError(`Failed to sync directory ${directory}: ${describeError(error)}`, {
        cause: error,
      });
    }
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isByteCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function describeJson(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function describeArray(value: unknown): string {
  return typeof value === 'object' && value !== null ? value.constructor.name : typeof value;
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
