import { describe, expect, it } from 'vitest';
import type { SafetensorsTensorInput } from '../src/index.js';
import {
  ConfigError,
  decodeSafetensors,
  encodeSafetensors,
  FormatError,
  ShapeError,
} from '../src/index.js';

/** Builds a safetensors file from a header text and raw data, padding the header with spaces. */
function buildFile(header: string, data: readonly number[] = []): Uint8Array {
  const json = new TextEncoder().encode(header);
  const padded = Math.ceil(json.length / 8) * 8;
  const bytes = new Uint8Array(8 + padded + data.length);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(padded), true);
  bytes.set(json, 8);
  bytes.fill(0x20, 8 + json.length, 8 + padded);
  bytes.set(data, 8 + padded);
  return bytes;
}

/** Returns the little-endian bytes of uint16 values. */
function uint16Bytes(values: readonly number[]): number[] {
  return values.flatMap((value) => [value & 0xff, value >> 8]);
}

function headerText(bytes: Uint8Array): string {
  const length = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return new TextDecoder().decode(bytes.subarray(8, 8 + length));
}

describe('encodeSafetensors', () => {
  it('writes the expected bytes for a hand-built file', () => {
    const bytes = encodeSafetensors(
      {
        b: { dtype: 'I32', shape: [2], data: new Int32Array([7, -1]) },
        a: { dtype: 'F32', shape: [1, 2], data: new Float32Array([1.5, -2]) },
      },
      { format: 'pt' },
    );

    // 141 bytes of JSON plus 3 spaces of padding make a 144-byte (0x90) header.
    const header =
      '{"__metadata__":{"format":"pt"},' +
      '"a":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]},' +
      '"b":{"dtype":"I32","shape":[2],"data_offsets":[8,16]}}   ';
    const expected = [
      ...[0x90, 0, 0, 0, 0, 0, 0, 0],
      ...new TextEncoder().encode(header),
      // 1.5 = 0x3fc00000 and -2 = 0xc0000000 as little-endian float32.
      ...[0x00, 0x00, 0xc0, 0x3f, 0x00, 0x00, 0x00, 0xc0],
      // 7 and -1 as little-endian int32.
      ...[0x07, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff],
    ];
    expect(header.length).toBe(144);
    expect([...bytes]).toEqual(expected);
  });

  it('writes an empty header padded to 8 bytes', () => {
    const bytes = encodeSafetensors({});

    expect([...bytes]).toEqual([
      8, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x7d, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    ]);
  });

  it('orders F32 before I32, then names by code point', () => {
    const f32 = (): SafetensorsTensorInput => ({
      dtype: 'F32',
      shape: [1],
      data: new Float32Array(1),
    });
    const i32 = (): SafetensorsTensorInput => ({
      dtype: 'I32',
      shape: [1],
      data: new Int32Array(1),
    });
    // U+FF5E sorts before U+1F600 by code point, but after it by UTF-16 code unit.
    const bytes = encodeSafetensors({
      z: i32(),
      a: i32(),
      '9': f32(),
      '10': f32(),
      '\u{1F600}': f32(),
      '\u{FF5E}': f32(),
      b: f32(),
    });

    const names = [...headerText(bytes).matchAll(/"([^"]+)":\{"dtype"/gu)].map((match) => match[1]);
    expect(names).toEqual(['10', '9', 'b', '\u{FF5E}', '\u{1F600}', 'a', 'z']);
  });

  it('sorts metadata keys and keeps integer-like keys in place', () => {
    const bytes = encodeSafetensors({}, { format: 'pt', '2': 'two', alpha: '16' });

    expect(headerText(bytes).trimEnd()).toBe(
      '{"__metadata__":{"2":"two","alpha":"16","format":"pt"}}',
    );
  });

  it('aligns the data section to 8 bytes', () => {
    for (const name of ['w', 'weight', 'a.longer.tensor.name']) {
      const bytes = encodeSafetensors({
        [name]: { dtype: 'F32', shape: [3], data: new Float32Array(3) },
      });
      const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));

      expect(headerLength % 8).toBe(0);
      expect(bytes.length).toBe(8 + headerLength + 12);
    }
  });

  it.each([
    {
      case: 'empty name',
      tensors: { '': { dtype: 'F32', shape: [1], data: new Float32Array(1) } },
      error: ConfigError,
      message: /`tensors\[""\]`: invalid tensor name/,
    },
    {
      case: 'reserved name',
      tensors: { __metadata__: { dtype: 'F32', shape: [1], data: new Float32Array(1) } },
      error: ConfigError,
      message: /invalid tensor name "__metadata__"/,
    },
    {
      case: 'lone surrogate in name',
      tensors: { 'w\uD800': { dtype: 'F32', shape: [1], data: new Float32Array(1) } },
      error: ConfigError,
      message: /well-formed/,
    },
    {
      case: 'unsupported dtype',
      tensors: { w: { dtype: 'F16', shape: [1], data: new Float32Array(1) } },
      error: ConfigError,
      message: /`tensors\["w"\]\.dtype`: must be "F32" or "I32", received "F16"/,
    },
    {
      case: 'Int32Array for F32',
      tensors: { w: { dtype: 'F32', shape: [1], data: new Int32Array(1) } },
      error: ConfigError,
      message: /`tensors\["w"\]\.data`: must be a Float32Array for dtype F32, received Int32Array/,
    },
    {
      case: 'negative dimension',
      tensors: { w: { dtype: 'F32', shape: [-1], data: new Float32Array(1) } },
      error: ShapeError,
      message: /tensors\["w"\]: shape must list non-negative integers, received \[-1\]/,
    },
    {
      case: 'length mismatch',
      tensors: { w: { dtype: 'I32', shape: [2, 2], data: new Int32Array(3) } },
      error: ShapeError,
      message: /shape \[2, 2\] has 4 elements, but data has 3/,
    },
  ])('rejects $case', ({ tensors, error, message }) => {
    const call = () =>
      encodeSafetensors(tensors as unknown as Record<string, SafetensorsTensorInput>);

    expect(call).toThrow(error);
    expect(call).toThrow(message);
  });

  it('rejects a non-string metadata value', () => {
    const metadata = { format: 5 } as unknown as Record<string, string>;

    expect(() => encodeSafetensors({}, metadata)).toThrow(
      /`metadata\["format"\]`: must be a string, received 5/,
    );
  });
});

describe('decodeSafetensors', () => {
  it('round-trips F32 and I32 tensors with metadata', () => {
    const specials = new Float32Array([
      Number.NaN,
      -0,
      Number.POSITIVE_INFINITY,
      -Number.MAX_VALUE,
      1e-45,
      0.1,
    ]);
    const tensors: Record<string, SafetensorsTensorInput> = {
      'model.layers.0.mlp.up_proj.lora_A.weight': {
        dtype: 'F32',
        shape: [2, 3],
        data: specials,
      },
      scalar: { dtype: 'F32', shape: [], data: new Float32Array([3.25]) },
      empty: { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
      ids: { dtype: 'I32', shape: [4], data: new Int32Array([0, -1, 2147483647, -2147483648]) },
      ['__proto__']: { dtype: 'I32', shape: [1], data: new Int32Array([42]) },
    };
    const metadata = { format: 'pt', note: 'ünïcode "quoted"\n' };

    const decoded = decodeSafetensors(encodeSafetensors(tensors, metadata));

    expect(decoded.metadata).toEqual(metadata);
    expect(Object.keys(decoded.tensors).sort()).toEqual(Object.keys(tensors).sort());
    for (const [name, input] of Object.entries(tensors)) {
      const output = decoded.tensors[name];
      expect(output?.dtype).toBe(input.dtype);
      expect(output?.shape).toEqual(input.shape);
      expect(output?.data.constructor).toBe(input.data.constructor);
      expect(Object.is(output?.data[1], input.data[1])).toBe(true);
      expect([...(output?.data ?? [])]).toEqual([...input.data]);
    }
    expect(Object.hasOwn(decoded.tensors, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(decoded.tensors)).toBe(Object.prototype);
  });

  it('returns empty metadata when the header has none', () => {
    const decoded = decodeSafetensors(encodeSafetensors({}));

    expect(decoded.metadata).toEqual({});
    expect(decoded.tensors).toEqual({});
  });

  it('reads bytes at an unaligned offset of a larger buffer', () => {
    const file = encodeSafetensors({
      w: { dtype: 'F32', shape: [2], data: new Float32Array([0.5, -4]) },
    });
    const larger = new Uint8Array(file.length + 3);
    larger.set(file, 3);

    const decoded = decodeSafetensors(larger.subarray(3));

    expect([...(decoded.tensors.w?.data ?? [])]).toEqual([0.5, -4]);
  });

  it('copies data out of a pooled Node Buffer', () => {
    const file = encodeSafetensors({
      w: { dtype: 'I32', shape: [3], data: new Int32Array([1, 2, 3]) },
    });
    const pooled = Buffer.from(file);

    const data = decodeSafetensors(pooled).tensors.w?.data;
    pooled.fill(0);

    expect(data?.buffer.byteLength).toBe(12);
    expect([...(data ?? [])]).toEqual([1, 2, 3]);
  });

  it('converts F16 to float32', () => {
    const cases: [number, number][] = [
      [0x3c00, 1],
      [0xc000, -2],
      [0x3555, 0.333251953125],
      [0x7bff, 65504],
      [0x0400, 2 ** -14],
      [0x0001, 2 ** -24],
      [0x03ff, 1023 * 2 ** -24],
      [0x8000, -0],
      [0x7c00, Number.POSITIVE_INFINITY],
      [0xfc00, Number.NEGATIVE_INFINITY],
      [0x7e00, Number.NaN],
    ];
    const file = buildFile(
      `{"h":{"dtype":"F16","shape":[${cases.length}],"data_offsets":[0,${2 * cases.length}]}}`,
      uint16Bytes(cases.map(([bits]) => bits)),
    );

    const tensor = decodeSafetensors(file).tensors.h;

    expect(tensor?.dtype).toBe('F16');
    expect(tensor?.data).toBeInstanceOf(Float32Array);
    cases.forEach(([bits, value], index) => {
      expect(tensor?.data[index], `bits 0x${bits.toString(16)}`).toBe(value);
    });
  });

  it('converts BF16 to float32', () => {
    const cases: [number, number][] = [
      [0x3f80, 1],
      [0xc000, -2],
      [0x4049, 3.140625],
      [0x3dcd, 0.10009765625],
      [0x7f7f, 3.3895313892515355e38],
      [0x0080, 2 ** -126],
      [0x0001, 2 ** -133],
      [0x8000, -0],
      [0x7f80, Number.POSITIVE_INFINITY],
      [0xff80, Number.NEGATIVE_INFINITY],
      [0x7fc0, Number.NaN],
    ];
    const file = buildFile(
      `{"b":{"dtype":"BF16","shape":[${cases.length}],"data_offsets":[0,${2 * cases.length}]}}`,
      uint16Bytes(cases.map(([bits]) => bits)),
    );

    const tensor = decodeSafetensors(file).tensors.b;

    expect(tensor?.dtype).toBe('BF16');
    expect(tensor?.data).toBeInstanceOf(Float32Array);
    cases.forEach(([bits, value], index) => {
      expect(tensor?.data[index], `bits 0x${bits.toString(16)}`).toBe(value);
    });
  });

  it('reads tensors stored out of name order', () => {
    // The data of "a" follows the data of "b", as another writer may lay them out.
    const file = buildFile(
      '{"a":{"dtype":"I32","shape":[1],"data_offsets":[4,8]},"b":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}}',
      [2, 0, 0, 0, 1, 0, 0, 0],
    );

    const decoded = decodeSafetensors(file);

    expect(Object.keys(decoded.tensors)).toEqual(['b', 'a']);
    expect([...(decoded.tensors.a?.data ?? [])]).toEqual([1]);
    expect([...(decoded.tensors.b?.data ?? [])]).toEqual([2]);
  });

  const tensorHeader = (name: string, dtype: string, shape: string, offsets: string): string =>
    `${JSON.stringify(name)}:{"dtype":${JSON.stringify(dtype)},"shape":${shape},"data_offsets":${offsets}}`;

  const withHeaderLength = (length: bigint, total: number): Uint8Array => {
    const bytes = new Uint8Array(total);
    new DataView(bytes.buffer).setBigUint64(0, length, true);
    bytes.set(new TextEncoder().encode('{}'), 8);
    return bytes;
  };

  it.each([
    {
      case: 'file under 8 bytes',
      bytes: new Uint8Array(5),
      message: /is 5 bytes long, shorter than the 8-byte/,
    },
    {
      case: 'header length past the end',
      bytes: withHeaderLength(64n, 24),
      message: /header length 64 runs past the end of the file \(24 bytes\)/,
    },
    {
      case: 'header length over the limit',
      bytes: withHeaderLength(2n ** 63n, 24),
      message: /header length 9223372036854775808 exceeds the 100000000-byte limit/,
    },
    {
      case: 'header not UTF-8',
      bytes: (() => {
        const bytes = buildFile('{"a":"b"}');
        bytes[10] = 0xff;
        return bytes;
      })(),
      message: /header is not valid UTF-8/,
    },
    {
      case: 'header not an object',
      bytes: buildFile('[1, 2]'),
      message: /header must start with "\{", found "\[1, 2\]/,
    },
    { case: 'header not JSON', bytes: buildFile('{"a": '), message: /header is not valid JSON/ },
    {
      case: 'metadata not an object',
      bytes: buildFile('{"__metadata__":"pt"}'),
      message: /"__metadata__" must be an object of strings, found "pt"/,
    },
    {
      case: 'metadata value not a string',
      bytes: buildFile('{"__metadata__":{"epoch":3}}'),
      message: /"__metadata__" entry "epoch" must be a string, found 3/,
    },
    {
      case: 'tensor entry not an object',
      bytes: buildFile('{"w":[0,4]}'),
      message:
        /tensor "w": entry must be an object with dtype, shape and data_offsets, found \[0,4\]/,
    },
    {
      case: 'unsupported dtype',
      bytes: buildFile(`{${tensorHeader('w', 'F64', '[1]', '[0,8]')}}`, new Array(8).fill(0)),
      message: /tensor "w": unsupported dtype "F64"; this reader supports F32, I32, F16 and BF16/,
    },
    {
      case: 'dtype named like an Object method',
      bytes: buildFile(`{${tensorHeader('w', 'toString', '[1]', '[0,4]')}}`, new Array(4).fill(0)),
      message: /tensor "w": unsupported dtype "toString"/,
    },
    {
      case: 'missing dtype',
      bytes: buildFile('{"w":{"shape":[1],"data_offsets":[0,4]}}', new Array(4).fill(0)),
      message: /tensor "w": unsupported dtype undefined/,
    },
    {
      case: 'negative dimension',
      bytes: buildFile(`{${tensorHeader('w', 'F32', '[-1]', '[0,4]')}}`, new Array(4).fill(0)),
      message: /tensor "w": shape must be an array of non-negative integers, found \[-1\]/,
    },
    {
      case: 'fractional dimension',
      bytes: buildFile(`{${tensorHeader('w', 'F32', '[1.5]', '[0,4]')}}`, new Array(4).fill(0)),
      message: /tensor "w": shape must be an array of non-negative integers, found \[1.5\]/,
    },
    {
      case: 'one data offset',
      bytes: buildFile(`{${tensorHeader('w', 'F32', '[1]', '[4]')}}`, new Array(4).fill(0)),
      message:
        /tensor "w": data_offsets must be \[start, end\] with non-negative integers, found \[4\]/,
    },
    {
      case: 'negative data offset',
      bytes: buildFile(`{${tensorHeader('w', 'F32', '[1]', '[-4,0]')}}`, new Array(4).fill(0)),
      message: /tensor "w": data_offsets must be \[start, end\]/,
    },
    {
      case: 'end before start',
      bytes: buildFile(`{${tensorHeader('w', 'F32', '[1]', '[4,0]')}}`, new Array(4).fill(0)),
      message: /tensor "w": data_offsets \[4, 0\] end before they start/,
    },
    {
      case: 'shape and size mismatch',
      bytes: buildFile(`{${tensorHeader('w', 'F32', '[3]', '[0,8]')}}`, new Array(8).fill(0)),
      message:
        /tensor "w": dtype F32 with shape \[3\] needs 12 bytes, but data_offsets \[0, 8\] span 8/,
    },
    {
      case: 'shape too large to address',
      bytes: buildFile(
        `{${tensorHeader('w', 'F32', '[1099511627776,1099511627776]', '[0,8]')}}`,
        new Array(8).fill(0),
      ),
      message: /tensor "w": shape \[1099511627776, 1099511627776\] is too large to address/,
    },
    {
      case: 'offsets out of range',
      bytes: buildFile(`{${tensorHeader('w', 'F32', '[4]', '[0,16]')}}`, new Array(8).fill(0)),
      message: /tensor "w": data_offsets \[0, 16\] are out of range; the data section has 8 bytes/,
    },
    {
      case: 'overlapping offsets',
      bytes: buildFile(
        `{${tensorHeader('a', 'F32', '[2]', '[0,8]')},${tensorHeader('b', 'F32', '[2]', '[4,12]')}}`,
        new Array(12).fill(0),
      ),
      message: /tensor "b": data_offsets \[4, 12\] overlap tensor "a", which ends at 8/,
    },
    {
      case: 'gap between tensors',
      bytes: buildFile(
        `{${tensorHeader('a', 'F32', '[1]', '[0,4]')},${tensorHeader('b', 'F32', '[1]', '[8,12]')}}`,
        new Array(12).fill(0),
      ),
      message: /tensor "b": data_offsets \[8, 12\] leave a gap of 4 bytes after tensor "a"/,
    },
    {
      case: 'gap before the first tensor',
      bytes: buildFile(`{${tensorHeader('a', 'F32', '[1]', '[4,8]')}}`, new Array(8).fill(0)),
      message:
        /tensor "a": data_offsets \[4, 8\] leave a gap of 4 bytes after the start of the data/,
    },
    {
      case: 'trailing bytes',
      bytes: buildFile(`{${tensorHeader('a', 'F32', '[1]', '[0,4]')}}`, new Array(8).fill(0)),
      message: /4 bytes after the last tensor are not covered by any tensor/,
    },
  ])('rejects $case', ({ bytes, message }) => {
    const call = () => decodeSafetensors(bytes, { source: 'bad.safetensors' });

    expect(call).toThrow(FormatError);
    expect(call).toThrow(/^bad\.safetensors: /);
    expect(call).toThrow(message);
  });

  it('names the data when no source is given', () => {
    expect(() => decodeSafetensors(new Uint8Array(2))).toThrow(
      /^safetensors data: is 2 bytes long/,
    );
  });
});
