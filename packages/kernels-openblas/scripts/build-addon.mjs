// Builds the OpenBLAS addon with node-gyp. The addon is an optional accelerator, so this script
// never fails an install: when the build cannot run or fails, it prints one line saying the
// accelerator is skipped and exits with status 0. The full node-gyp output goes to
// build/addon-build.log.
//
// Environment:
//   GUILOMO_SKIP_OPENBLAS=1  skip the build.
//   npm_config_nodedir       Node headers folder (the repository's .npmrc sets /usr). Default: the
//                            prefix of the running node when it contains include/node/node_api.h.
//   npm_config_node_gyp      node-gyp entry point, set by npm and pnpm for lifecycle scripts.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const addonPath = join(packageRoot, 'build', 'Release', 'openblas_addon.node');
const logPath = join(packageRoot, 'build', 'addon-build.log');
const sources = ['binding.gyp', 'native/openblas_addon.c'].map((file) => join(packageRoot, file));
const BUILD_TIMEOUT_MS = 300_000;

function skip(reason) {
  console.log(`@guilomo/kernels-openblas: OpenBLAS accelerator skipped (${reason}).`);
  process.exit(0);
}

function isUpToDate() {
  if (!existsSync(addonPath)) {
    return false;
  }
  const builtAt = statSync(addonPath).mtimeMs;
  return sources.every((file) => statSync(file).mtimeMs <= builtAt);
}

/** Returns the folder with Node's C headers, or undefined when none is known to exist. */
function findNodeDir() {
  const configured = process.env.npm_config_nodedir;
  if (configured) {
    return configured;
  }
  const prefix = dirname(dirname(process.execPath));
  return existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined;
}

/** Returns [command, leading arguments] that run node-gyp, or undefined when none is found. */
function findNodeGyp() {
  const fromEnv = process.env.npm_config_node_gyp;
  if (fromEnv && existsSync(fromEnv)) {
    return fromEnv.endsWith('.js') ? [process.execPath, [fromEnv]] : [fromEnv, []];
  }
  try {
    const require = createRequire(join(packageRoot, 'package.json'));
    return [process.execPath, [require.resolve('node-gyp/bin/node-gyp.js')]];
  } catch {
    // Not a dependency. Fall through to the copy that npm bundles.
  }
  // npm bundles node-gyp. Look next to the running package manager, then next to this node.
  const bundledCandidates = [
    process.env.npm_execpath && join(dirname(process.env.npm_execpath), '..', 'node_modules'),
    join(dirname(dirname(process.execPath)), 'lib', 'node_modules', 'npm', 'node_modules'),
  ];
  for (const folder of bundledCandidates) {
    const bundled = folder && join(folder, 'node-gyp', 'bin', 'node-gyp.js');
    if (bundled && existsSync(bundled)) {
      return [process.execPath, [bundled]];
    }
  }
  const probe = spawnSync('node-gyp', ['--version'], { encoding: 'utf8' });
  return probe.status === 0 ? ['node-gyp', []] : undefined;
}

/** Returns the first output line that names an error, else the last line, for the skip message. */
function firstErrorLine(output) {
  const lines = output.split('\n').map((line) => line.trim());
  const error = lines.find((line) => /fatal error|error:|not found|cannot find/i.test(line));
  return error ?? lines.filter((line) => line !== '').at(-1) ?? 'no output';
}

function main() {
  if (process.env.GUILOMO_SKIP_OPENBLAS === '1') {
    skip('GUILOMO_SKIP_OPENBLAS=1');
  }
  if (isUpToDate()) {
    process.exit(0);
  }
  const nodeDir = findNodeDir();
  if (nodeDir === undefined) {
    // Without a local headers folder node-gyp would try to download the headers.
    skip('Node headers not found: set npm_config_nodedir to the folder that contains include/node');
  }
  const nodeGyp = findNodeGyp();
  if (nodeGyp === undefined) {
    skip('node-gyp not found');
  }
  const [command, leadingArgs] = nodeGyp;
  const result = spawnSync(command, [...leadingArgs, 'rebuild', `--nodedir=${nodeDir}`], {
    cwd: packageRoot,
    encoding: 'utf8',
    timeout: BUILD_TIMEOUT_MS,
  });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? String(result.error) : ''}`;
  mkdirSync(dirname(logPath), { recursive: true });
  writeFileSync(logPath, output);
  if (result.status !== 0 || !existsSync(addonPath)) {
    const hint = /cblas\.h|lopenblas/.test(output) ? ' Install libopenblas-dev.' : '';
    skip(`build failed: ${firstErrorLine(output)}.${hint} Log: ${logPath}`);
  }
}

try {
  main();
} catch (error) {
  // An unexpected failure (for example an unwritable build folder) must not fail the install.
  skip(`unexpected error: ${error instanceof Error ? error.message : String(error)}`);
}
