import { describe, expect, it } from 'vitest';
import type { LogLevel, LogRecord } from '../src/index.js';
import { createLogger, silentLogger } from '../src/index.js';

function recorder(level?: LogLevel, prefix?: string) {
  const records: LogRecord[] = [];
  const logger = createLogger({
    ...(level === undefined ? {} : { level }),
    ...(prefix === undefined ? {} : { prefix }),
    sink: (record) => records.push(record),
  });
  return { logger, records };
}

function logAll(logger: ReturnType<typeof createLogger>): void {
  logger.error('e');
  logger.warn('w');
  logger.info('i');
  logger.debug('d');
}

describe('createLogger', () => {
  it.each([
    { level: 'silent', passed: [] },
    { level: 'error', passed: ['error'] },
    { level: 'warn', passed: ['error', 'warn'] },
    { level: 'info', passed: ['error', 'warn', 'info'] },
    { level: 'debug', passed: ['error', 'warn', 'info', 'debug'] },
  ] as const)('passes $passed at level $level', ({ level, passed }) => {
    const { logger, records } = recorder(level);

    logAll(logger);

    expect(logger.level).toBe(level);
    expect(records.map((record) => record.level)).toEqual(passed);
  });

  it('defaults to level info', () => {
    const { logger, records } = recorder();

    logAll(logger);

    expect(logger.level).toBe('info');
    expect(records.map((record) => record.level)).toEqual(['error', 'warn', 'info']);
  });

  it('passes fields and omits them when absent', () => {
    const { logger, records } = recorder('debug', 'models');

    logger.info('loaded checkpoint', { path: 'model.bin', bytes: 1024 });
    logger.debug('no fields');

    expect(records).toEqual([
      {
        level: 'info',
        prefix: 'models',
        message: 'loaded checkpoint',
        fields: { path: 'model.bin', bytes: 1024 },
      },
      { level: 'debug', prefix: 'models', message: 'no fields' },
    ]);
    expect(Object.hasOwn(records[1] ?? {}, 'fields')).toBe(false);
  });

  it('drops records without a sink', () => {
    const logger = createLogger({ level: 'debug' });

    expect(() => logAll(logger)).not.toThrow();
  });

  it('joins child prefixes with colons', () => {
    const { logger, records } = recorder('info', 'trainer');
    const unprefixed = recorder('info');

    logger.child('bilevel').child('outer').info('step');
    logger.info('root');
    unprefixed.logger.child('models').info('load');

    expect(records.map((record) => record.prefix)).toEqual(['trainer:bilevel:outer', 'trainer']);
    expect(unprefixed.records.map((record) => record.prefix)).toEqual(['models']);
  });

  it('keeps the level in children', () => {
    const { logger, records } = recorder('warn');
    const child = logger.child('routers');

    child.info('dropped');
    child.warn('kept');

    expect(child.level).toBe('warn');
    expect(records.map((record) => record.message)).toEqual(['kept']);
  });

  it('warns once per message across children', () => {
    const { logger, records } = recorder('info', 'core');
    const child = logger.child('lora');

    logger.warnOnce('deprecated option', { option: 'r' });
    child.warnOnce('deprecated option');
    logger.warnOnce('deprecated option');
    child.warnOnce('other message');

    expect(records).toEqual([
      { level: 'warn', prefix: 'core', message: 'deprecated option', fields: { option: 'r' } },
      { level: 'warn', prefix: 'core:lora', message: 'other message' },
    ]);
  });

  it('keeps warnOnce memory per root logger', () => {
    const first = recorder('warn');
    const second = recorder('warn');

    first.logger.warnOnce('same');
    second.logger.warnOnce('same');

    expect(first.records).toHaveLength(1);
    expect(second.records).toHaveLength(1);
  });

  it('filters warnOnce by level', () => {
    const { logger, records } = recorder('error');

    logger.warnOnce('hidden');

    expect(records).toEqual([]);
  });
});

describe('silentLogger', () => {
  it('is silent and survives every call', () => {
    expect(silentLogger.level).toBe('silent');
    expect(() => {
      logAll(silentLogger);
      silentLogger.warnOnce('x');
      logAll(silentLogger.child('child'));
    }).not.toThrow();
    expect(silentLogger.child('child').level).toBe('silent');
  });
});
