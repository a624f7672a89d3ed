import { describe, expect, it } from 'vitest';
import {
  assert,
  ConfigError,
  FormatError,
  formatValue,
  GuiLoMoError,
  NotSupportedError,
  NumericError,
  RegistryError,
  ShapeError,
} from '../src/index.js';

describe('error classes', () => {
  it.each([
    { ErrorClass: GuiLoMoError, name: 'GuiLoMoError' },
    { ErrorClass: RegistryError, name: 'RegistryError' },
    { ErrorClass: ShapeError, name: 'ShapeError' },
    { ErrorClass: FormatError, name: 'FormatError' },
    { ErrorClass: NotSupportedError, name: 'NotSupportedError' },
    { ErrorClass: NumericError, name: 'NumericError' },
  ])('$name sets its name', ({ ErrorClass, name }) => {
    const error = new ErrorClass('failed', { cause: 'root cause' });

    expect(error.name).toBe(name);
    expect(error.message).toBe('failed');
    expect(error.cause).toBe('root cause');
    expect(error).toBeInstanceOf(GuiLoMoError);
    expect(error).toBeInstanceOf(Error);
    expect(String(error)).toBe(`${name}: failed`);
  });

  it('ConfigError prefixes the field', () => {
    const cause = new RangeError('too small');
    const error = new ConfigError('ranks[1]', 'must be an integer >= 1, received 0.', { cause });

    expect(error.name).toBe('ConfigError');
    expect(error.field).toBe('ranks[1]');
    expect(error.message).toBe('`ranks[1]`: must be an integer >= 1, received 0.');
    expect(error.cause).toBe(cause);
    expect(error).toBeInstanceOf(GuiLoMoError);
  });

  it('names a subclass declared outside core', () => {
    class CheckpointError extends GuiLoMoError {}

    expect(new CheckpointError('x').name).toBe('CheckpointError');
  });
});

describe('assert', () => {
  it('passes without building the message', () => {
    let built = false;

    assert(1 + 1 === 2, () => {
      built = true;
      return 'unused';
    });

    expect(built).toBe(false);
  });

  it('throws GuiLoMoError by default', () => {
    const check = () => assert(false, () => 'expected a positive step');

    expect(check).toThrow(GuiLoMoError);
    expect(check).toThrow('expected a positive step');
  });

  it('throws the requested class', () => {
    expect(() => assert(0, () => 'bad shape', ShapeError)).toThrow(ShapeError);
  });
});

describe('formatValue', () => {
  const circular: { self?: unknown } = {};
  circular.self = circular;
  const long = { values: Array.from({ length: 40 }, (_, index) => index) };

  it.each([
    { case: 'string', value: 'top-k', expected: '"top-k"' },
    { case: 'string with quotes', value: 'a"b', expected: '"a\\"b"' },
    { case: 'number', value: 0.05, expected: '0.05' },
    { case: 'NaN', value: Number.NaN, expected: 'NaN' },
    { case: 'boolean', value: false, expected: 'false' },
    { case: 'null', value: null, expected: 'null' },
    { case: 'undefined', value: undefined, expected: 'undefined' },
    { case: 'array', value: [2, 3, 1], expected: '[2,3,1]' },
    { case: 'object', value: { r: 8 }, expected: '{"r":8}' },
    { case: 'circular object', value: circular, expected: '[object Object]' },
    { case: 'bigint', value: 10n, expected: '10' },
    { case: 'symbol', value: Symbol('gsv'), expected: 'Symbol(gsv)' },
    { case: 'function', value: function route() {}, expected: 'function route() {}' },
  ])('formats $case', ({ value, expected }) => {
    expect(formatValue(value)).toBe(expected);
  });

  it('cuts long JSON to 80 characters', () => {
    const text = formatValue(long);

    expect(text).toHaveLength(80);
    expect(text.endsWith('...')).toBe(true);
    expect(text.startsWith('{"values":[0,1,2,')).toBe(true);
  });
});
