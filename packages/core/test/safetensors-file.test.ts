import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  FormatError,
  GuiLoMoError,
  readSafetensorsFile,
  writeFileAtomic,
  writeSafetensorsFile,
} from '../src/index.js';

let directory: string;

beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'guilomo-core-'));
});

afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('writeFileAtomic', () => {
  it('writes bytes and strings', async () => {
    const binary = join(directory, 'data.bin');
    const text = join(directory, 'state.json');

    await writeFileAtomic(binary, new Uint8Array([1, 2, 3]));
    await writeFileAtomic(text, '{"step":3}');

    expect([...(await readFile(binary))]).toEqual([1, 2, 3]);
    expect(await readFile(text, 'utf8')).toBe('{"step":3}');
    expect((await readdir(directory)).sort()).toEqual(['data.bin', 'state.json']);
  });

  it('replaces an existing file without leaving a temp file', async () => {
    const path = join(directory, 'checkpoint.json');
    await writeFile(path, 'old contents that are longer than the new ones');

    await writeFileAtomic(path, 'new');

    expect(await readFile(path, 'utf8')).toBe('new');
    expect(await readdir(directory)).toEqual(['checkpoint.json']);
  });

  it('raises and creates nothing when the directory is missing', async () => {
    const path = join(directory, 'missing', 'checkpoint.json');

    const write = writeFileAtomic(path, 'data');

    await expect(write).rejects.toThrow(GuiLoMoError);
    await expect(writeFileAtomic(path, 'data')).rejects.toThrow(
      new RegExp(`^Failed to write ${path.replaceAll('.', '\\.')}: ENOENT`),
    );
    expect(await readdir(directory)).toEqual([]);
  });

  it('removes the temp file when the rename fails', async () => {
    // Renaming a file over a non-empty directory fails after the temp file is written.
    const path = join(directory, 'occupied');
    await mkdir(path);
    await writeFile(join(path, 'keep.txt'), 'kept');

    const write = writeFileAtomic(path, 'data');

    await expect(write).rejects.toThrow(/^Failed to write .*occupied: E(ISDIR|NOTEMPTY|EXIST)/);
    expect(await readdir(directory)).toEqual(['occupied']);
    expect(await readdir(path)).toEqual(['keep.txt']);
  });

  it('keeps the error as the cause', async () => {
    const path = join(directory, 'missing', 'file.bin');

    const error = await writeFileAtomic(path, 'x').catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(GuiLoMoError);
    expect((error as GuiLoMoError).cause).toMatchObject({ code: 'ENOENT' });
  });
});

describe('safetensors files', () => {
  it('round-trips through a file', async () => {
    const path = join(directory, 'adapter_model.safetensors');
    const weight = new Float32Array([0.25, -1, 3e-8, 7]);

    await writeSafetensorsFile(
      path,
      { w: { dtype: 'F32', shape: [2, 2], data: weight } },
      { format: 'pt' },
    );
    const decoded = await readSafetensorsFile(path);

    expect(decoded.metadata).toEqual({ format: 'pt' });
    expect(decoded.tensors.w?.shape).toEqual([2, 2]);
    expect([...(decoded.tensors.w?.data ?? [])]).toEqual([...weight]);
    expect(await readdir(directory)).toEqual(['adapter_model.safetensors']);
  });

  it('names the file in format errors', async () => {
    const path = join(directory, 'broken.safetensors');
    await writeFile(path, new Uint8Array([16, 0, 0, 0, 0, 0, 0, 0, 0x7b]));

    const read = readSafetensorsFile(path);

    await expect(read).rejects.toThrow(FormatError);
    await expect(readSafetensorsFile(path)).rejects.toThrow(
      `${path}: header length 16 runs past the end`,
    );
  });

  it('names the file when it cannot be read', async () => {
    const path = join(directory, 'absent.safetensors');

    await expect(readSafetensorsFile(path)).rejects.toThrow(`Failed to read ${path}: ENOENT`);
  });
});
